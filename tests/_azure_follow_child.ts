// The child process of tests/azure_follow_test.ts: a writer in another process producing to all
// its streams at once (orders and output lines: _azure_follow_support.ts). "produce" mode stops
// after `perStream` records per stream, reading the heads meanwhile if asked; "kill" mode
// SIGKILLs itself once its `afterCommits`-th chunk reached the commit step it names. Its clock
// may run off this host's by `clockOffsetMs`.

import { SeededRandom } from "../core/_test_random.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import { setCommitStepHook, switchOffTableTime } from "../drivers/azure/_test_support.ts";
import { AZURE_CONNECTION_ENV, printLine } from "./_kill_protocol.ts";
import type { Store } from "../core/mod.ts";
import {
  type ChildLine,
  type FollowChildOrders,
  produceConcurrently,
  type Stream,
} from "./_azure_follow_support.ts";

const print = (line: ChildLine) => printLine(line);

async function main(): Promise<void> {
  const orders: FollowChildOrders = JSON.parse(Deno.args[0]);
  const connectionString = Deno.env.get(AZURE_CONNECTION_ENV);
  if (!connectionString) throw new Error(`${AZURE_CONNECTION_ENV} is not set`);
  const offset = orders.clockOffsetMs ?? 0;
  const clock = { now: () => Date.now() + offset };
  const factory = new AzureStoreFactory({
    connectionString,
    allowInsecureHttp: true,
    tablePrefix: orders.tablePrefix,
    sweepIntervalMs: 0,
    clock,
  });
  if (orders.ownClock) switchOffTableTime(factory, clock.now);
  const { mode } = orders;
  if (mode.kind === "kill") {
    let commits = 0;
    setCommitStepHook(factory, async (step) => {
      if (step !== (mode.step ?? "commit") || ++commits !== mode.afterCommits) return;
      print({ type: "dying", commits });
      Deno.kill(Deno.pid, "SIGKILL");
      // The signal is delivered asynchronously: go no further meanwhile.
      await new Promise(() => {});
    });
  }
  const store = await factory.newStore(orders.storeId);
  print({ type: "ready" });
  const producing = new AbortController();
  const headReads = mode.kind === "produce" && mode.readHeads
    ? readHeadsUntil(store, orders.streams, producing.signal)
    : Promise.resolve(0);
  try {
    await produceConcurrently(
      store,
      orders.streams,
      new SeededRandom(orders.seed),
      orders.produceSizes,
      mode.kind === "produce" ? mode.perStream : undefined,
      (status) => print({ type: "ack", ...status }),
    );
  } finally {
    producing.abort();
  }
  print({ type: "done", headReads: await headReads });
  await factory.close();
}

/** Reads the heads of `streams`, all at once, over and over until `signal` aborts; counts them. */
async function readHeadsUntil(
  store: Store,
  streams: readonly Stream[],
  signal: AbortSignal,
): Promise<number> {
  let reads = 0;
  while (!signal.aborted) {
    await Promise.all(streams.map(({ space, segment }) => store.getSegmentStatus(space, segment)));
    reads += streams.length;
  }
  return reads;
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error("follow child failed:", error);
    Deno.exit(3);
  }
}
