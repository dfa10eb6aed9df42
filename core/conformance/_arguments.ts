// Conformance: argument validation (names, store ids, sequences, payloads, bounds).

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import type { ProduceRecord, Store } from "../types.ts";
import { assertEmptySegment, assertSegment, expectError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, records, utf8 } from "./_fixtures.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
import { drain, produce, readSegment, readSpace } from "./_store_calls.ts";

type NameCall = (store: Store, space: string, segment: string) => Promise<unknown>;

/** Every method taking names: [method, call, takes a segment name]. */
const NAME_CALLS: ReadonlyArray<[string, NameCall, boolean]> = [
  ["produce", (s, space, segment) => drain(s.produce({ space, segment }, records(1, 1))), true],
  ["consumeSegment", (s, space, segment) => drain(s.consumeSegment({ space, segment })), true],
  ["peek", (s, space, segment) => s.peek(space, segment), true],
  ["getSegmentStatus", (s, space, segment) => s.getSegmentStatus(space, segment), true],
  ["consumeSpace", (s, space) => drain(s.consumeSpace({ space })), false],
  ["getSegments", (s, space) => drain(s.getSegments(space)), false],
];

const INVALID_NAMES: ReadonlyArray<[string, unknown[]]> = [
  ["empty", [""]],
  ["containing U+0000", ["a\u0000b", "\u0000", "abc\u0000"]],
  ["with lone surrogates", ["\uD800", "x\uDC00y", "\uDE00\uD83D", "ok\uD83D"]],
  ["of 201 ASCII bytes", ["a".repeat(201)]],
  ["of 201 multi-byte UTF-8 bytes", [
    "😀".repeat(50) + "a",
    "é".repeat(100) + "a",
    "漢".repeat(67),
    "a".repeat(197) + "😀",
  ]],
  ["that are not strings", [42, undefined, null, { toString: () => "s" }]],
];

const ACCEPTED_200: ReadonlyArray<[string, string[]]> = [
  ["ASCII", ["a".repeat(200), "Z".repeat(199) + "/"]],
  ["multi-byte", [
    "😀".repeat(50),
    "é".repeat(100),
    "漢".repeat(66) + "ab",
    "a".repeat(196) + "😀",
  ]],
];

const INVALID_SEQUENCES: ReadonlyArray<[string, unknown[]]> = [
  ["zero", [0]],
  ["negative", [-1, -5]],
  ["fractional", [1.5, 0.5]],
  ["NaN or infinite", [NaN, Infinity, -Infinity]],
  ["beyond Number.MAX_SAFE_INTEGER", [2 ** 53, Number.MAX_VALUE]],
  ["not numbers", ["1", 1n, null, undefined]],
];

const INVALID_PAYLOADS: ReadonlyArray<[string, unknown[]]> = [
  ["a string", ["payload"]],
  ["an array of numbers", [[1, 2, 3]]],
  ["an ArrayBuffer", [new ArrayBuffer(3)]],
  ["missing or null", [undefined, null]],
];

const BAD_NUMBERS: unknown[] = [-1, 1.5, NaN, "3"];

const BAD_STORE_IDS: unknown[] = [
  "",
  "not-a-uuid",
  "0f8fad5b-d9cb-469f-a165-70867728950",
  "0f8fad5b-d9cb-469f-a165-70867728950e0",
  "0f8fad5b-d9cb-469f-a165-70867728950g",
  " 0f8fad5b-d9cb-469f-a165-70867728950e",
  "0f8fad5b-d9cb-469f-a165-70867728950e ",
  "../../../../tmp/0f8fad5b-d9cb-469f-a165",
  "0f8fad5b/d9cb/469f/a165/70867728950e",
  42,
  undefined,
  null,
];

export function registerArguments(ctx: Ctx): void {
  for (const [label, names] of INVALID_NAMES) {
    define(
      ctx,
      `invalid argument: names ${label} are rejected by every method`,
      () =>
        withFreshStore(ctx, async (store) => {
          for (const name of names as string[]) {
            const shown = typeof name === "string"
              ? JSON.stringify(name).slice(0, 40)
              : String(name);
            for (const [method, call, takesSegment] of NAME_CALLS) {
              try {
                await expectError(() => call(store, name, "g"), "InvalidArgument", "space");
                if (takesSegment) {
                  await expectError(() => call(store, "s", name), "InvalidArgument", "segment");
                }
              } catch (error) {
                throw new Error(`${method} with name ${shown}: ${(error as Error).message}`, {
                  cause: error,
                });
              }
            }
          }
          assert.deepEqual(await collect(store.getSpaces()), [], "nothing was written");
          await assertEmptySegment(store, "s", "g");
        }),
    );
  }

  for (const [label, names] of ACCEPTED_200) {
    define(
      ctx,
      `names: exactly 200 UTF-8 bytes (${label}) are accepted everywhere`,
      () =>
        withFreshStore(ctx, async (store) => {
          for (const name of names) {
            assert.equal(utf8(name).length, 200, "fixture is 200 bytes");
            await produce(store, name, name, records(1, 2));
            await produce(store, "s", name, records(1, 1));
            await assertSegment(store, name, name, [1, 2]);
            const space = await readSpace(store, name);
            assert.deepEqual(space.map((entry) => [entry.space, entry.segment]), [
              [name, name],
              [name, name],
            ]);
            assert.equal((await store.peek(name, name))?.sequence, 2);
            assert.equal((await store.getSegmentStatus(name, name))?.lastSequence, 2);
            assert.deepEqual(await collect(store.getSegments(name)), [name]);
          }
          const spaces = await collect(store.getSpaces());
          for (const name of names) assert.ok(spaces.includes(name), "getSpaces lists the name");
          assert.equal((await collect(store.getSegments("s"))).length, names.length);
        }),
    );
  }

  define(
    ctx,
    "invalid argument: store ids that are not UUIDs",
    () =>
      withFactory(ctx, async (factory) => {
        for (const id of BAD_STORE_IDS) {
          await expectError(() => factory.newStore(id as string), "InvalidArgument", /store ?id/i);
        }
      }),
  );

  define(
    ctx,
    "store ids: an upper-case UUID is accepted and is the same store",
    () =>
      withFactory(ctx, async (factory) => {
        const id = newId();
        const upper = await factory.newStore(id.toUpperCase());
        try {
          await produce(upper, "s", "g", records(1, 2));
          const lower = await factory.newStore(id);
          try {
            await assertSegment(lower, "s", "g", [1, 2]);
            await produce(lower, "s", "g", records(3, 1));
          } finally {
            await lower.close();
          }
          await assertSegment(upper, "s", "g", [1, 2, 3]);
          const other = await factory.newStore(newId().toUpperCase());
          try {
            assert.deepEqual(await collect(other.getSpaces()), [], "another id is another store");
          } finally {
            await other.close();
          }
        } finally {
          await upper.close();
        }
      }),
  );

  for (const [label, values] of INVALID_SEQUENCES) {
    define(
      ctx,
      `invalid argument: sequences that are ${label}`,
      () =>
        withFreshStore(ctx, async (store) => {
          for (const value of values) {
            const bad = { sequence: value as number, payload: utf8("x") };
            await expectError(() => produce(store, "s", "g", [bad]), "InvalidArgument", "sequence");
            await expectError(
              () => produce(store, "s", "g", [...records(1, 1), bad]),
              "InvalidArgument",
              "sequence",
            );
          }
          await assertEmptySegment(store, "s", "g");
          await produce(store, "s", "g", records(1, 1));
          for (const value of values) {
            const bad = { sequence: value as number, payload: utf8("x") };
            await expectError(() => produce(store, "s", "g", [bad]), "InvalidArgument", "sequence");
          }
          await assertSegment(store, "s", "g", [1]);
        }),
    );
  }

  for (const [label, values] of INVALID_PAYLOADS) {
    define(
      ctx,
      `invalid argument: a payload that is ${label}`,
      () =>
        withFreshStore(ctx, async (store) => {
          for (const value of values) {
            const bad = { sequence: 1, payload: value } as unknown as ProduceRecord;
            await expectError(() => produce(store, "s", "g", [bad]), "InvalidArgument", "payload");
            const second = { sequence: 2, payload: value } as unknown as ProduceRecord;
            await expectError(
              () => produce(store, "s", "g", [...records(1, 1), second]),
              "InvalidArgument",
              "payload",
            );
          }
          await assertEmptySegment(store, "s", "g");
          assert.deepEqual(await collect(store.getSpaces()), []);
        }),
    );
  }

  for (const argument of ["limit", "minSequence", "maxSequence", "minTimestamp", "maxTimestamp"]) {
    define(
      ctx,
      `invalid argument: consumeSegment ${argument} negative or not an integer`,
      () =>
        withFreshStore(ctx, async (store) => {
          await produce(store, "s", "g", records(1, 3));
          for (const value of BAD_NUMBERS) {
            await expectError(
              () => drain(store.consumeSegment({ space: "s", segment: "g", [argument]: value })),
              "InvalidArgument",
              argument,
            );
          }
          assert.equal((await readSegment(store, "s", "g")).length, 3, "valid reads still work");
        }),
    );
  }

  for (const argument of ["limit", "minTimestamp", "maxTimestamp"]) {
    define(
      ctx,
      `invalid argument: consumeSpace ${argument} negative or not an integer`,
      () =>
        withFreshStore(ctx, async (store) => {
          await produce(store, "s", "g", records(1, 3));
          for (const value of BAD_NUMBERS) {
            await expectError(
              () => drain(store.consumeSpace({ space: "s", [argument]: value })),
              "InvalidArgument",
              argument,
            );
          }
          assert.equal((await readSpace(store, "s")).length, 3, "valid reads still work");
        }),
    );
  }
}
