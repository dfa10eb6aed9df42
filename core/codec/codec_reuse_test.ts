// The codec's reuse for runs of entries: EntryEncoder's reused buffer, and the per-field caches
// of trx ids, nodes and names that encoding and decoding keep. Every result must equal what the
// plain, cache-free path gives, whatever order entries come in.

import assert from "node:assert/strict";
import { decodeEntry, EntryDecoder } from "./decode.ts";
import { encodeEntry, EntryEncoder } from "./encode.ts";
import { StreamkitError } from "../errors.ts";
import { toHex } from "./lexkey.ts";
import type { Entry } from "../types.ts";
import { drawEntry } from "./_test_entries.ts";
import { withSeededRandom } from "../_test_random.ts";

function isInvalid(field: RegExp) {
  return (error: unknown) =>
    error instanceof StreamkitError && error.kind === "InvalidArgument" &&
    field.test(error.message);
}

/** Entries in runs that share trx and names, then switch, and back: every cache transition. */
function runs(): Entry[] {
  return withSeededRandom((random) => {
    const heads = Array.from({ length: 4 }, () => drawEntry(random));
    const entries: Entry[] = [];
    for (let round = 0; round < 3; round++) {
      for (const head of heads) {
        const length = random.int(1, 4);
        for (let i = 0; i < length; i++) {
          const entry = drawEntry(random, {
            space: head.space,
            segment: head.segment,
            trx: random.chance(0.5) ? head.trx : { ...head.trx },
          });
          entries.push(entry);
        }
      }
    }
    return entries;
  });
}

Deno.test("EntryEncoder gives encodeEntry's bytes, in runs and across switches", () => {
  const encoder = new EntryEncoder();
  for (const entry of runs()) {
    const expected = toHex(encodeEntry(entry));
    assert.equal(toHex(encoder.encode(entry)), expected);
    assert.deepStrictEqual(
      decodeEntry(encoder.encode(entry).slice()),
      decodeEntry(encodeEntry(entry)),
    );
  }
});

Deno.test("EntryEncoder reuses its buffer: a result is valid until the next call", () => {
  const encoder = new EntryEncoder();
  const [first, second] = runs();
  const bytes = encoder.encode(first);
  const kept = bytes.slice();
  encoder.encode(second);
  assert.deepStrictEqual(decodeEntry(kept), decodeEntry(encodeEntry(first)));
  // Same size, same view: nothing allocated per entry.
  const a = encoder.encode({ ...first, sequence: 1 });
  const b = encoder.encode({ ...first, sequence: 2 });
  assert.equal(a, b);
  assert.equal(decodeEntry(b.slice()).sequence, 2);
});

Deno.test("EntryEncoder gives large encodings a buffer of their own", () => {
  const encoder = new EntryEncoder();
  const [entry] = runs();
  const large = { ...entry, payload: new Uint8Array(2 * 1024 * 1024).fill(7) };
  const bytes = encoder.encode(large);
  const small = encoder.encode(entry);
  assert.notEqual(bytes.buffer, small.buffer);
  assert.equal(decodeEntry(bytes).payload.length, 2 * 1024 * 1024);
});

Deno.test("encoding caches never accept a field the plain check refuses", () => {
  const encoder = new EntryEncoder();
  const [entry] = runs();
  for (const encode of [encodeEntry, (e: Entry) => encoder.encode(e)]) {
    encode(entry); // fills the caches
    const broken = (patch: Record<string, unknown>) => ({ ...entry, ...patch }) as Entry;
    assert.throws(
      () => encode(broken({ trx: { ...entry.trx, id: undefined } })),
      isInvalid(/trx\.id/),
    );
    assert.throws(
      () => encode(broken({ trx: { ...entry.trx, node: "" } })),
      isInvalid(/trx\.node/),
    );
    assert.throws(() => encode(broken({ space: undefined })), isInvalid(/space/));
    assert.throws(() => encode(broken({ segment: 5 })), isInvalid(/segment/));
    assert.throws(() => encode(broken({ segment: "\ud800" })), isInvalid(/segment/));
    // Upper-case ids encode to the same bytes and decode lower-case.
    const upper = broken({ trx: { ...entry.trx, id: entry.trx.id.toUpperCase() } });
    assert.equal(decodeEntry(encode(upper).slice()).trx.id, entry.trx.id.toLowerCase());
  }
});

Deno.test("EntryDecoder's caches give the right strings in any order", () => {
  const entries = runs();
  const encoded = entries.map((entry) => encodeEntry(entry).slice());
  const decoder = new EntryDecoder();
  // Forwards, backwards and interleaved: whatever the previous entry was.
  for (const order of [[...encoded.keys()], [...encoded.keys()].reverse()]) {
    for (const i of order) {
      const decoded = decoder.decode(encoded[i]);
      assert.deepStrictEqual(decoded, decodeEntry(encoded[i]));
      const expected = entries[i];
      assert.equal(decoded.space, expected.space);
      assert.equal(decoded.segment, expected.segment);
      assert.equal(decoded.trx.id, expected.trx.id.toLowerCase());
      assert.equal(decoded.trx.node, expected.trx.node.toLowerCase());
      assert.deepStrictEqual(decoded.metadata, expected.metadata);
    }
  }
  // Entries decoded from one run share strings but never objects.
  const a = decoder.decode(encoded[0]);
  const b = decoder.decode(encoded[0]);
  assert.notEqual(a.trx, b.trx);
  assert.notEqual(a.metadata, b.metadata);
  a.trx.number = -1;
  assert.notEqual(b.trx.number, -1);
});

Deno.test("EntryDecoder refuses what decodeEntry refuses, with the same error, cache warm", () => {
  const [entry] = runs();
  const decoder = new EntryDecoder();
  const good = encodeEntry(entry).slice();
  decoder.decode(good); // fills the caches
  const damaged = [
    good.subarray(0, good.length - 1), // truncated segment
    new Uint8Array([...good, 0]), // trailing byte
    good.map((byte, i) => (i === good.length - 1 ? 0xff : byte)), // bad UTF-8 in the segment
  ];
  for (const bytes of damaged) {
    let expected: unknown;
    assert.throws(() => decodeEntry(bytes), (error) => (expected = error) !== undefined);
    assert.throws(
      () => decoder.decode(bytes),
      (error) =>
        error instanceof StreamkitError && error.kind === "CorruptData" &&
        error.message === (expected as Error).message,
    );
  }
  assert.deepStrictEqual(decoder.decode(good), decodeEntry(good));
});
