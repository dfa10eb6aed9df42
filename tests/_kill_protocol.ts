// What the kill tests (_kill_harness.ts) and their child (_kill_child.ts) share: the child's
// orders, the spaces, segments and payloads it writes, its produce loop, and its output lines
// (tests/KILL_TESTS.md).

import { SeededRandom } from "../core/_test_random.ts";
import { sleep } from "../core/_test_util.ts";
import type { ProduceRecord, SegmentStatus, Store } from "../core/mod.ts";

/** The spaces the child writes; `orders` is a prefix of `orders2` on purpose. */
export const KILL_SPACES: readonly string[] = ["orders", "orders2"];
/** The segments of each space; again with names that are prefixes of each other. */
export const KILL_SEGMENTS: readonly string[] = ["a", "ab", "z \u{1F680}"];

/**
 * The environment variable that carries the Azure connection string to the child (not its
 * arguments, where any process listing would show the key).
 */
export const AZURE_CONNECTION_ENV = "STREAMKIT_KILL_AZURE_CONNECTION";

/** The store a child opens: its driver and where the store lives. */
export type ChildStore =
  | { driver: "level"; path: string }
  | { driver: "azure"; tablePrefix: string };

/** How many records a child's produces have: `usual`, or with probability `chance` `large`. */
export interface ProduceSizes {
  usual: readonly [number, number];
  large?: { chance: number; range: readonly [number, number] };
}

/** What the parent tells a child, as its one argument (JSON). */
export interface ChildOrders {
  store: ChildStore;
  storeId: string;
  /** Seeds the child's produce sizes and pauses. */
  seed: number;
  produceSizes: ProduceSizes;
  /** The child pauses 0..maxPauseMs between two produces of one segment. */
  maxPauseMs: number;
}

/** The largest produce of `sizes`. */
export function maxProduce(sizes: ProduceSizes): number {
  return Math.max(sizes.usual[1], sizes.large?.range[1] ?? 0);
}

function drawProduceSize(random: SeededRandom, sizes: ProduceSizes): number {
  const range = sizes.large && random.chance(sizes.large.chance) ? sizes.large.range : sizes.usual;
  return random.int(range[0], range[1]);
}

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

/** An announced produce. */
export interface Intent {
  type: "intent";
  space: string;
  segment: string;
  from: number;
  count: number;
}

/** An acknowledged chunk: the status its produce yielded. */
export type Ack = { type: "ack" } & SegmentStatus;

/** One line of a child's output. */
export type Line = { type: "ready" } | Intent | Ack;

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
export function printLine(value: unknown): void {
  const bytes = utf8.encode(JSON.stringify(value) + "\n");
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function produceForever(
  store: Store,
  space: string,
  segment: string,
  random: SeededRandom,
  sizes: ProduceSizes,
  maxPauseMs: number,
): Promise<void> {
  const head = await store.getSegmentStatus(space, segment);
  let next = (head?.lastSequence ?? 0) + 1;
  while (true) {
    const count = drawProduceSize(random, sizes);
    printLine({ type: "intent", space, segment, from: next, count } satisfies Intent);
    let last = next - 1;
    for await (
      const status of store.produce({ space, segment }, records(space, segment, next, count))
    ) {
      printLine({ type: "ack", ...status } satisfies Ack);
      last = status.lastSequence;
    }
    if (last !== next + count - 1) {
      throw new Error(`${space}/${segment}: produce from ${next} ended at ${last}`);
    }
    next += count;
    // A short random pause keeps the store from growing too fast for the parent's audits.
    if (maxPauseMs > 0) {
      await sleep(random.int(0, maxPauseMs));
    }
  }
}

/**
 * The child's work: prints `ready`, then produces forever to every segment of KILL_SPACES ×
 * KILL_SEGMENTS at once, each from its head, in produces of `sizes`.
 */
export async function produceToEverySegment(
  store: Store,
  random: SeededRandom,
  sizes: ProduceSizes,
  maxPauseMs: number,
): Promise<void> {
  printLine({ type: "ready" });
  await Promise.all(
    KILL_SPACES.flatMap((space) =>
      KILL_SEGMENTS.map((segment) =>
        produceForever(
          store,
          space,
          segment,
          new SeededRandom(random.u32()),
          sizes,
          maxPauseMs,
        )
      )
    ),
  );
}

export { readLines } from "../core/_test_util.ts";

/** `"space"/"segment"#sequence`, for messages. */
export function where(space: string, segment: string, sequence?: number): string {
  return `${JSON.stringify(space)}/${JSON.stringify(segment)}${
    sequence === undefined ? "" : `#${sequence}`
  }`;
}
