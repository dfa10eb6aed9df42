// The child process of level_kill_test.ts: produces into a LevelDB store until it is killed.
//
// Run as `deno run --allow-read --allow-write --allow-env --allow-ffi tests/_level_kill_child.ts
// <path> <storeId> <seed> [maxPauseMs]`. It reads every segment's head, then produces forever to
// every segment of KILL_SPACES × KILL_SEGMENTS at once, with random produce sizes (some above the
// chunk limit, so the engine splits them) and random pauses of 0..maxPauseMs between them. Each
// line it prints on stdout is one JSON object:
//   {"type":"ready"}                                    after the store opened
//   {"type":"intent","space","segment","from","count"}  before a produce call
//   {"type":"ack", ...SegmentStatus}                    after each committed chunk's status
// Lines are written whole with synchronous writes, so an ack is on the pipe before the next
// chunk of any segment can start committing and survives a SIGKILL that follows.
//
// The parent imports the payload scheme from here; the producing only runs as a main module.

import { SeededRandom } from "../core/_test_random.ts";
import type { ProduceRecord, SegmentStatus, Store } from "../core/mod.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";

/** The spaces the child writes; `orders` is a prefix of `orders2` on purpose. */
export const KILL_SPACES: readonly string[] = ["orders", "orders2"];
/** The segments of each space; again with names that are prefixes of each other. */
export const KILL_SEGMENTS: readonly string[] = ["a", "ab", "z \u{1F680}"];

const utf8 = new TextEncoder();

/**
 * The payload of `sequence` in `space`/`segment`: its coordinates as text, then 0..96 bytes
 * derived from the sequence, so payloads have varied lengths and can be checked exactly.
 */
export function killPayload(space: string, segment: string, sequence: number): Uint8Array {
  const head = utf8.encode(`${space}|${segment}|${sequence}|`);
  const extra = (sequence * 7919) % 97;
  const payload = new Uint8Array(head.length + extra);
  payload.set(head);
  for (let i = 0; i < extra; i++) payload[head.length + i] = (sequence * 31 + i * 17) & 0xff;
  return payload;
}

/** A produce's size: mostly 1..3,000 records, sometimes 10,001..25,000 (several chunks). */
function produceSize(random: SeededRandom): number {
  return random.chance(0.08) ? random.int(10_001, 25_000) : random.int(1, 3_000);
}

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
    const count = produceSize(random);
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
    // A short random pause keeps the store from growing too fast for the parent's audits.
    if (maxPauseMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, random.int(0, maxPauseMs)));
    }
  }
}

async function main(): Promise<void> {
  const [path, storeId, seedText, maxPauseText = "0"] = Deno.args;
  const seed = Number(seedText) >>> 0;
  const maxPauseMs = Number(maxPauseText);
  const factory = new LevelStoreFactory({ path });
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
    console.error("level kill child failed:", error);
    Deno.exit(3);
  }
}
