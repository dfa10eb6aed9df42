import assert from "node:assert/strict";
import { StreamkitError } from "../errors.ts";
import { prefixEnd, spaceEntryKey, spaceIndexPrefix } from "./keys.ts";
import { compareKeys, toHex } from "./lexkey.ts";
import { parseSpaceOffset } from "../offsets.ts";

Deno.test("parseSpaceOffset reads back every field, including odd segment names", () => {
  for (const segment of ["order-1", "a\u0001b", "🦀/#?", "x".repeat(200)]) {
    for (const timestamp of [0, 1, 1_700_000_000_000, Number.MAX_SAFE_INTEGER]) {
      const offset = spaceEntryKey("orders", timestamp, segment, 7);
      assert.deepEqual(parseSpaceOffset("orders", offset), { timestamp, segment, sequence: 7 });
    }
  }
});

Deno.test("parseSpaceOffset rejects offsets of other spaces and garbage", () => {
  const offset = spaceEntryKey("orders", 1_700_000_000_000, "order-1", 7);
  const rejects = (space: string, bytes: Uint8Array) =>
    assert.throws(() => parseSpaceOffset(space, bytes), (error: unknown) => {
      assert.ok(error instanceof StreamkitError);
      assert.equal(error.kind, "InvalidArgument");
      assert.match(error.message, /^offset: /);
      return true;
    });
  rejects("order", offset);
  rejects("orders2", offset);
  rejects("orders", offset.subarray(0, offset.length - 1));
  rejects("orders", new Uint8Array(0));
  rejects("orders", new Uint8Array(64).fill(0xff));
  const zeroSequence = spaceEntryKey("orders", 1, "order-1", 0);
  rejects("orders", zeroSequence);
  const badUtf8 = offset.slice();
  badUtf8[badUtf8.length - 12] = 0xff;
  rejects("orders", badUtf8);
});

Deno.test("space prefixes isolate names that are prefixes of each other", () => {
  const start = spaceIndexPrefix("a");
  const end = prefixEnd(start);
  const own = spaceEntryKey("a", Number.MAX_SAFE_INTEGER, "z", 1);
  const longer = spaceEntryKey("ab", 0, "a", 1);
  assert.ok(compareKeys(start, own) < 0 && compareKeys(own, end) < 0);
  assert.ok(compareKeys(longer, end) > 0, `${toHex(longer)} must sort after ${toHex(end)}`);
});
