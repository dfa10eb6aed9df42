// A processor instance for the processor kill tests: runs `runProcessor` on a store reached
// through a remote server or on Azure, appending what its `handle` does to an audit file, one
// JSON line per event, until SIGTERM. Args: one JSON object (see `ProcessorChildOrders`).

import { runProcessor, type StoreFactory } from "../core/mod.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";

/** What a child is told to do. */
export interface ProcessorChildOrders {
  /** A remote server's address, or an Azure table prefix on `connectionString`'s account. */
  target: { url: string } | { connectionString: string; tablePrefix: string };
  storeId: string;
  /** The audit file, appended to. */
  audit: string;
  ttlMs: number;
  maxEntries: number;
  /** `false` runs without a lease (the control that must fail the audit). */
  lease: boolean;
  /**
   * SIGSTOPs itself inside `handle` of its batch number `n` (from 1), after its exit line and
   * after writing its pid to `<audit>.stopped`: once continued, its next step is that batch's
   * save, with the lease it had.
   */
  stopSelfAtBatch?: number;
}

const orders = JSON.parse(Deno.args[0]) as ProcessorChildOrders;
const { target } = orders;
const factory: StoreFactory = "url" in target
  ? new RemoteStoreFactory({ url: target.url })
  : new AzureStoreFactory({ ...target, allowInsecureHttp: true, sweepIntervalMs: 0 });
const store = await factory.newStore(orders.storeId);
const audit = await Deno.open(orders.audit, { append: true, create: true });
const encoder = new TextEncoder();
// One write per line, appended: lines of different processes never interleave.
const record = (event: string, seqs: string[], token: number | undefined) =>
  audit.writeSync(
    encoder.encode(JSON.stringify({ pid: Deno.pid, at: Date.now(), event, seqs, token }) + "\n"),
  );
const stop = new AbortController();
Deno.addSignalListener("SIGTERM", () => stop.abort());
let batches = 0;
console.log("ready");
await runProcessor(store, {
  name: "audited",
  spaces: ["jobs"],
  batch: { maxEntries: orders.maxEntries },
  lease: orders.lease ? { ttlMs: orders.ttlMs } : false,
  handle: async ({ entries, lease }) => {
    const seqs = entries.map((entry) => `${entry.segment}:${entry.sequence}`);
    record("enter", seqs, lease?.token);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
    record("exit", seqs, lease?.token);
    if (++batches === orders.stopSelfAtBatch && entries.length > 0) {
      Deno.writeTextFileSync(`${orders.audit}.stopped`, String(Deno.pid));
      Deno.kill(Deno.pid, "SIGSTOP");
    }
  },
  signal: stop.signal,
});
await factory.close();
audit.close();
