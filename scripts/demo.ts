/**
 * The demo: produces a few hundred events to a few segments, consumes one segment and the whole
 * space, and prints a peek, a status and a resume offset.
 *
 * Run it with `npm run demo` (or `deno task demo`).
 *
 * @module
 */

import { type Entry, type ProduceRecord, spaceOffset, toHex } from "../core/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";

const SPACE = "orders";
const SEGMENTS = ["order-1", "order-2", "order-3", "order-4"];
const EVENTS_PER_SEGMENT = 100;
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
  return `${entry.segment}#${entry.sequence} @${entry.timestamp} trx ${entry.trx.number}: ${
    text.decode(entry.payload)
  }`;
}

await using factory = new MemoryStoreFactory();
await using store = await factory.newStore(crypto.randomUUID());

console.log(`producing ${EVENTS_PER_SEGMENT} events to each of ${SEGMENTS.length} segments...`);
await Promise.all(SEGMENTS.map(async (segment) => {
  const head = await store.getSegmentStatus(SPACE, segment);
  const from = (head?.lastSequence ?? 0) + 1;
  const records = orderEvents(segment, from, EVENTS_PER_SEGMENT);
  for await (const status of store.produce({ space: SPACE, segment }, records)) {
    console.log(`  ${segment}: committed up to sequence ${status.lastSequence}`);
  }
}));

console.log(`\nconsumeSegment ${SEGMENTS[0]}, sequences 1-3:`);
for await (const entry of store.consumeSegment({ space: SPACE, segment: SEGMENTS[0], limit: 3 })) {
  console.log(`  ${show(entry)}`);
}

let seen = 0;
let last: Entry | undefined;
for await (const entry of store.consumeSpace({ space: SPACE })) {
  seen++;
  last = entry;
}
console.log(`\nconsumeSpace ${SPACE}: ${seen} entries in (timestamp, segment, sequence) order`);

console.log(`\npeek ${SEGMENTS[1]}: ${show((await store.peek(SPACE, SEGMENTS[1]))!)}`);
console.log(`status ${SEGMENTS[2]}:`, await store.getSegmentStatus(SPACE, SEGMENTS[2]));
if (last) {
  const offset = toHex(spaceOffset(last));
  console.log(`\nresume offset after the last entry (hex): ${offset}`);
  let newer = 0;
  for await (const _ of store.consumeSpace({ space: SPACE, offset: spaceOffset(last) })) newer++;
  console.log(`entries after that offset: ${newer}`);
}
