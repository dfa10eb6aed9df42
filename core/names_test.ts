import assert from "node:assert/strict";
import { MAX_NAME_BYTES, StreamkitError, validateName, validateStoreId } from "./mod.ts";

function assertInvalid(fn: () => unknown, mentions: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof StreamkitError);
    assert.equal(error.kind, "InvalidArgument");
    assert.equal(error.transient, false);
    assert.match(error.message, mentions);
    return true;
  });
}

Deno.test("validateName accepts every legal character and the byte limit exactly", () => {
  for (const name of ["a", "/", "\\", "#", "?", "%", " x ", "\u0001\u007f", "🦀", "日本", "."]) {
    assert.equal(validateName("space", name), name);
  }
  assert.equal(validateName("space", "x".repeat(MAX_NAME_BYTES)).length, MAX_NAME_BYTES);
  assert.equal(validateName("space", "🦀".repeat(MAX_NAME_BYTES / 4)).length, MAX_NAME_BYTES / 2);
});

Deno.test("validateName rejects bad names, naming the argument and the limit", () => {
  assertInvalid(() => validateName("space", ""), /^space: must not be empty/);
  assertInvalid(() => validateName("segment", "a\u0000b"), /^segment: .*U\+0000/);
  assertInvalid(() => validateName("segment", "\uD800"), /^segment: .*well-formed/);
  assertInvalid(() => validateName("space", 42), /^space: must be a string/);
  assertInvalid(
    () => validateName("space", "x".repeat(MAX_NAME_BYTES + 1)),
    /^space: must be at most 200 UTF-8 bytes, got 201/,
  );
  assertInvalid(() => validateName("space", "é".repeat(101)), /got 202/);
});

Deno.test("validateStoreId lower-cases UUIDs and rejects anything else", () => {
  assert.equal(
    validateStoreId("0F8FAD5B-D9CB-469F-A165-70867728950E"),
    "0f8fad5b-d9cb-469f-a165-70867728950e",
  );
  for (const bad of ["", "not-a-uuid", "0f8fad5bd9cb469fa16570867728950e", undefined, 7]) {
    assertInvalid(() => validateStoreId(bad), /^storeId: must be a UUID/);
  }
});
