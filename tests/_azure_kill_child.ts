// The child process of azure_kill_test.ts: produces into an Azure store (on the parent's
// Azurite) until it is killed.
//
// Run as `deno run --allow-read --allow-env --allow-net --allow-sys --allow-ffi
// tests/_azure_kill_child.ts <tablePrefix> <storeId> <seed> [maxPauseMs]` with the connection
// string in the STREAMKIT_KILL_AZURE_CONNECTION environment variable (not in the arguments,
// where any process listing would show its key). It opens the store (its newStore runs the
// driver's recovery), prints `{"type":"ready"}`, then produces forever to every segment of
// the kill spaces' segments (see _kill_protocol.ts) at once, with random produce sizes of 1..300 records (above 90 the
// engine cuts them into several chunks) and random pauses of 0..maxPauseMs between them. Each
// line on stdout is one JSON object, written whole with a synchronous write:
//   {"type":"ready"}
//   {"type":"intent","space","segment","from","count"}  before a produce call
//   {"type":"ack", ...SegmentStatus}                    after each committed chunk's status
// so an acknowledgement is on the pipe before the next chunk of its segment starts committing.

import { SeededRandom } from "../core/_test_random.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import { produceToEverySegment } from "./_kill_protocol.ts";

/** The environment variable that carries the connection string to the child. */
export const CONNECTION_ENV = "STREAMKIT_KILL_AZURE_CONNECTION";
/** The largest produce the child makes. */
export const MAX_PRODUCE = 300;

async function main(): Promise<void> {
  const [tablePrefix, storeId, seedText, maxPauseText = "0"] = Deno.args;
  const connectionString = Deno.env.get(CONNECTION_ENV);
  if (!connectionString) throw new Error(`${CONNECTION_ENV} is not set`);
  const seed = Number(seedText) >>> 0;
  const maxPauseMs = Number(maxPauseText);
  const factory = new AzureStoreFactory({
    connectionString,
    allowInsecureHttp: true,
    tablePrefix,
    sweepIntervalMs: 0,
  });
  const store = await factory.newStore(storeId);
  await produceToEverySegment(
    store,
    new SeededRandom(seed),
    (random) => random.int(1, MAX_PRODUCE),
    maxPauseMs,
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error("azure kill child failed:", error);
    Deno.exit(3);
  }
}
