import assert from "node:assert/strict";
import { IndexDigest } from "./_index_digest.ts";

function digestOf(encodings: (Uint8Array | undefined)[], firstSequence = 1): IndexDigest {
  const digest = new IndexDigest();
  encodings.forEach((encoding, i) => digest.add(firstSequence + i, encoding));
  return digest;
}

Deno.test("IndexDigest: counts the sequences and hashes the bytes in order", () => {
  const bytes = [new Uint8Array([1, 2, 3]), new Uint8Array([0, 255])];
  const digest = digestOf(bytes, 5);
  assert.deepEqual([digest.count, digest.first, digest.last, digest.irregular], [2, 5, 6, false]);
  assert.ok(digest.sameBytes(digestOf(bytes)));
  assert.ok(!digest.sameBytes(digestOf([...bytes].reverse())));
  assert.ok(!digest.sameBytes(new IndexDigest()));
});

Deno.test("IndexDigest: a byte changed anywhere changes the hash", () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
  const intact = digestOf([bytes]);
  for (let at = 0; at < bytes.length; at++) {
    const damaged = bytes.slice();
    damaged[at] ^= 1;
    assert.ok(!intact.sameBytes(digestOf([damaged])), `byte ${at}`);
  }
});

Deno.test("IndexDigest: an entry without an encoding makes it irregular", () => {
  const digest = digestOf([new Uint8Array([1]), undefined]);
  assert.deepEqual([digest.count, digest.last, digest.irregular], [2, 2, true]);
});
