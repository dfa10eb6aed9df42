/**
 * `deno task demo`: produces, consumes, peeks, follows live producers, saves a resume offset and
 * runs a processor (its position in the store's checkpoint) on the embedded default (LevelDB in
 * `./.streamkit-data`); run again, it continues where the last run stopped.
 *
 * @module
 */

import {
  type Entry,
  fromHex,
  type ProduceRecord,
  runProcessor,
  spaceOffset,
  toHex,
} from "../core/mod.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";

const DATA_DIRECTORY = "./.streamkit-data";
const OFFSET_FILE = `${DATA_DIRECTORY}/demo-space-offset.hex`;
const STORE_ID = "5d3a1f0e-8c2b-4e4f-9a6d-2f1e0c9b8a70";
const SPACE = "orders";
const SEGMENTS = Array.from({ length: 6 }, (_, i) => `order-${i + 1}`);
const EVENTS_PER_SEGMENT = 500;
const EVENTS_PER_PRODUCE = 100;
const LIVE_SEGMENTS = ["live-a", "live-b"];
const LIVE_EVENTS_PER_SEGMENT = 4;
const LIVE_PAUSE_MS = 40;
const utf8 = new TextEncoder();
const text = new TextDecoder();

function* orderEvents(segment: string, from: number, count: number): Generator<ProduceRecord> {
  for (let sequence = from; sequence < from + count; sequence++) {
    const event = { order: segment, step: sequence, kind: sequence === 1 ? "placed" : "updated" };
    yield {
      sequence,
      payload: utf8.encode(JSON.stringify(event)),
      metadata: { "content-type": "application/json" },
    };
  }
}

function show(entry: Entry): string {
  return `${entry.segment}#${entry.sequence} @${
    new Date(entry.timestamp).toISOString()
  } trx ${entry.trx.number}: ${text.decode(entry.payload)}`;
}

async function readSavedOffset(): Promise<Uint8Array | undefined> {
  try {
    return fromHex((await Deno.readTextFile(OFFSET_FILE)).trim());
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

await using factory = new LevelStoreFactory({ path: DATA_DIRECTORY });
await using store = await factory.newStore(STORE_ID);
console.log(`store ${STORE_ID} in ${DATA_DIRECTORY}/${STORE_ID}`);

const total = SEGMENTS.length * EVENTS_PER_SEGMENT;
let produced = 0;
const started = performance.now();
console.log(`producing ${total} events to ${SEGMENTS.length} segments of "${SPACE}"...`);
await Promise.all(SEGMENTS.map(async (segment) => {
  const head = await store.getSegmentStatus(SPACE, segment);
  let next = (head?.lastSequence ?? 0) + 1;
  if (segment === SEGMENTS[0]) {
    console.log(
      head ? `  ${segment} continues after sequence ${head.lastSequence}` : "  new store",
    );
  }
  for (let done = 0; done < EVENTS_PER_SEGMENT; done += EVENTS_PER_PRODUCE) {
    const records = orderEvents(segment, next, EVENTS_PER_PRODUCE);
    for await (const status of store.produce({ space: SPACE, segment }, records)) {
      next = status.lastSequence + 1;
    }
    produced += EVENTS_PER_PRODUCE;
    if (produced % (total / 5) === 0) {
      console.log(`  ${produced}/${total} events committed`);
    }
  }
}));
const seconds = (performance.now() - started) / 1000;
console.log(`  done in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} events/s)`);

const firstSegment = SEGMENTS[0];
console.log(`\nconsumeSegment ${firstSegment}, the first 3 entries:`);
for await (const entry of store.consumeSegment({ space: SPACE, segment: firstSegment, limit: 3 })) {
  console.log(`  ${show(entry)}`);
}

let seen = 0;
let last: Entry | undefined;
for await (const entry of store.consumeSpace({ space: SPACE })) {
  seen++;
  last = entry;
}
console.log(`\nconsumeSpace ${SPACE}: ${seen} entries in (timestamp, segment, sequence) order`);

const savedOffset = await readSavedOffset();
if (savedOffset) {
  let since = 0;
  for await (const _ of store.consumeSpace({ space: SPACE, offset: savedOffset })) since++;
  console.log(`resuming from the offset saved by the last run: ${since} new entries`);
}

console.log(`\npeek ${SEGMENTS[1]}: ${show((await store.peek(SPACE, SEGMENTS[1]))!)}`);
console.log(`status ${SEGMENTS[2]}:`, await store.getSegmentStatus(SPACE, SEGMENTS[2]));
console.log(
  `\nfollowing "${SPACE}" while ${LIVE_SEGMENTS.length} producers write, one event at a time:`,
);
const liveTotal = LIVE_SEGMENTS.length * LIVE_EVENTS_PER_SEGMENT;
let liveSeen = 0;
const follower = (async () => {
  const from = last && spaceOffset(last);
  for await (const event of store.follow({ spaces: { [SPACE]: from } })) {
    if (event.type !== "entry") continue;
    last = event.entry;
    console.log(`  live: ${show(event.entry)}`);
    if (++liveSeen === liveTotal) break;
  }
})();
await Promise.all(LIVE_SEGMENTS.map(async (segment) => {
  const head = await store.getSegmentStatus(SPACE, segment);
  let next = (head?.lastSequence ?? 0) + 1;
  for (let i = 0; i < LIVE_EVENTS_PER_SEGMENT; i++) {
    await new Promise((resolve) => setTimeout(resolve, LIVE_PAUSE_MS));
    for await (
      const status of store.produce({ space: SPACE, segment }, orderEvents(segment, next, 1))
    ) {
      next = status.lastSequence + 1;
    }
  }
}));
await follower;
console.log(`  the follower saw all ${liveSeen} live events as they were committed`);

if (last) {
  const offset = toHex(spaceOffset(last));
  await Deno.writeTextFile(OFFSET_FILE, offset);
  console.log(`\nresume offset after the last entry (saved to ${OFFSET_FILE}):\n  ${offset}`);
}

// A processor: counts the events by kind, its position in the store's checkpoint "event-kinds",
// so each run counts only what the last one did not (the checkpoint's version shows the saves).
const kinds = new Map<string, number>();
const caughtUp = new AbortController();
await runProcessor(store, {
  name: "event-kinds",
  spaces: [SPACE],
  handle: ({ entries, caughtUp: done }) => {
    for (const entry of entries) {
      const kind = entry.segment.startsWith("live-")
        ? "live"
        : JSON.parse(text.decode(entry.payload)).kind;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    if (done) caughtUp.abort(); // a service keeps running; the demo stops once caught up
  },
  signal: caughtUp.signal,
});
const checkpoint = await store.getCheckpoint("event-kinds");
console.log(
  `\nprocessor "event-kinds", new since its last run: ${
    [...kinds].sort().map(([kind, n]) => `${n} ${kind}`).join(", ")
  } (checkpoint version ${checkpoint?.version})`,
);
