// The child process of azure_kill_test.ts: produces into an Azure store (on the parent's
// Azurite) until it is killed.
//
// Run as `deno run --allow-read --allow-env --allow-net --allow-sys --allow-ffi
// tests/_azure_kill_child.ts <tablePrefix> <storeId> <seed> [maxPauseMs]` with the connection
// string in the STREAMKIT_KILL_AZURE_CONNECTION environment variable (not in the arguments,
// where any process listing would show its key). It opens the store (its newStore runs the
// driver's recovery), prints `{"type":"ready"}`, then produces forever to every segment of
// KILL_SPACES × KILL_SEGMENTS at once, with random produce sizes of 1..300 records (above 90 the
// engine cuts them into several chunks) and random pauses of 0..maxPauseMs between them. Each
// line on stdout is one JSON object, written whole with a synchronous write:
//   {"type":"ready"}
//   {"type":"intent","space","segment","from","count"}  before a produce call
//   {"type":"ack", ...SegmentStatus}                    after each committed chunk's status
// so an acknowledgement is on the pipe before the next chunk of its segment starts committing.

import { SeededRandom } from "../core/_test_random.ts";
import type { ProduceRecord, SegmentStatus, Store } from "../core/mod.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import { KILL_SEGMENTS, KILL_SPACES, killPayload } from "./_level_kill_child.ts";

/** The environment variable that carries the connection string to the child. */
export const CONNECTION_ENV = "STREAMKIT_KILL_AZURE_CONNECTION";
/** The largest produce the child makes. */
export const MAX_PRODUCE = 300;

const utf8 = new TextEncoder();

function* records(
  space: string,
  segment: string,
  from: number,
  count: number,
): Iterable<ProduceRecord> {
  for (let sequence = from; sequence < from + count; sequence++) {
    yield { sequence, payload: killPayload(space, segment, sequence) };
  }
}

/** Writes `value` as one JSON line, whole, before returning. */
function printLine(value: unknown): void {
  const bytes = utf8.encode(JSON.stringify(value) + "\n");
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function produceForever(
  store: Store,
  space: string,
  segment: string,
  seed: number,
  maxPauseMs: number,
): Promise<void> {
  const random = new SeededRandom(seed);
  const head = await store.getSegmentStatus(space, segment);
  let next = (head?.lastSequence ?? 0) + 1;
  while (true) {
    const count = random.int(1, MAX_PRODUCE);
    printLine({ type: "intent", space, segment, from: next, count });
    let last = next - 1;
    for await (
      const status of store.produce({ space, segment }, records(space, segment, next, count))
    ) {
      printLine({ type: "ack", ...status } satisfies { type: string } & SegmentStatus);
      last = status.lastSequence;
    }
    if (last !== next + count - 1) {
      throw new Error(`${space}/${segment}: produce from ${next} ended at ${last}`);
    }
    next += count;
    if (maxPauseMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, random.int(0, maxPauseMs)));
    }
  }
}

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
  printLine({ type: "ready" });
  const random = new SeededRandom(seed);
  await Promise.all(
    KILL_SPACES.flatMap((space) =>
      KILL_SEGMENTS.map((segment) =>
        produceForever(store, space, segment, random.u32(), maxPauseMs)
      )
    ),
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
