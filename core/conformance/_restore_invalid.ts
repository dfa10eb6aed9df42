// Conformance: restore refuses invalid entries, arguments and payloads, keeping earlier trxs.

import type { Entry, Trx } from "../types.ts";
import { assertEmptySegment, describeValue, expectFirstNextError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { withFreshStore } from "./_instances.ts";
import {
  anHourAgo,
  assertRestored,
  assertStatuses,
  restoreFailing,
  trxEntries,
} from "./_restore_fixtures.ts";

/** `entry` with its trx fields replaced (invalid values included). */
function withTrx(entry: Entry, trx: { [K in keyof Trx]?: unknown }): unknown {
  return { ...entry, trx: { ...entry.trx, ...trx } };
}

/**
 * Entries restore refuses (InvalidArgument): [label, what replaces a valid second entry of a
 * trx, what the message names].
 */
const INVALID_ENTRIES: ReadonlyArray<[string, (valid: Entry) => unknown, string]> = [
  ["null", () => null, "entries[1]"],
  ["a number", () => 42, "entries[1]"],
  ["a string", () => "entry", "entries[1]"],
  ["undefined", () => undefined, "entries[1]"],
  ["sequence 0", (e) => ({ ...e, sequence: 0 }), "entries[1].sequence"],
  ["sequence as a string", (e) => ({ ...e, sequence: "2" }), "entries[1].sequence"],
  ["payload as a string", (e) => ({ ...e, payload: "x" }), "entries[1].payload"],
  ["payload as numbers", (e) => ({ ...e, payload: [1, 2] }), "entries[1].payload"],
  [
    "payload as an ArrayBuffer",
    (e) => ({ ...e, payload: new ArrayBuffer(2) }),
    "entries[1].payload",
  ],
  ["payload missing", (e) => ({ ...e, payload: undefined }), "entries[1].payload"],
  ["metadata with a number value", (e) => ({ ...e, metadata: { a: 1 } }), "entries[1].metadata"],
  ["metadata as an array", (e) => ({ ...e, metadata: ["a"] }), "entries[1].metadata"],
  ["negative timestamp", (e) => ({ ...e, timestamp: -1 }), "entries[1].timestamp"],
  ["fractional timestamp", (e) => ({ ...e, timestamp: e.timestamp + 0.5 }), "entries[1].timestamp"],
  ["NaN timestamp", (e) => ({ ...e, timestamp: NaN }), "entries[1].timestamp"],
  [
    "timestamp as a string",
    (e) => ({ ...e, timestamp: String(e.timestamp) }),
    "entries[1].timestamp",
  ],
  ["trx missing", (e) => ({ ...e, trx: undefined }), "entries[1].trx"],
  ["trx null", (e) => ({ ...e, trx: null }), "entries[1].trx"],
  ["trx.id not a UUID", (e) => withTrx(e, { id: "not-a-uuid" }), "entries[1].trx.id"],
  [
    "trx.id without dashes",
    (e) => withTrx(e, { id: e.trx.id.replaceAll("-", "") }),
    "entries[1].trx.id",
  ],
  ["trx.id in braces", (e) => withTrx(e, { id: `{${e.trx.id}}` }), "entries[1].trx.id"],
  ["trx.id missing", (e) => withTrx(e, { id: undefined }), "entries[1].trx.id"],
  ["trx.node empty", (e) => withTrx(e, { node: "" }), "entries[1].trx.node"],
  ["trx.node not a UUID", (e) => withTrx(e, { node: "node-1" }), "entries[1].trx.node"],
  ["trx.number 0", (e) => withTrx(e, { number: 0 }), "entries[1].trx.number"],
  ["trx.number fractional", (e) => withTrx(e, { number: 1.5 }), "entries[1].trx.number"],
  ["trx.number as a string", (e) => withTrx(e, { number: "1" }), "entries[1].trx.number"],
];

export function registerRestoreInvalid(ctx: Ctx): void {
  define(
    ctx,
    "restore: an invalid entry fails its own trx; an earlier trx stays",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        for (const [label, spoil, argument] of INVALID_ENTRIES) {
          const segment = `invalid: ${label}`;
          const [valid, next] = trxEntries("s", segment, 1, 2, { timestamp: t, number: 1 });
          const spoilt = spoil(next);
          const { statuses } = await restoreFailing(
            store,
            "s",
            segment,
            [valid, spoilt] as Entry[],
            "InvalidArgument",
            argument,
          );
          // Without the valid entry's trx id, the bad one is of another trx: the valid one's
          // trx ended before it and commits.
          const sameTrx = (spoilt as Partial<Entry> | null)?.trx?.id === valid.trx.id;
          const kept = sameTrx ? [] : [valid];
          assertStatuses(statuses, kept, sameTrx ? [] : [1]);
          await assertRestored(store, "s", segment, kept);
        }
      }),
  );

  define(
    ctx,
    "restore: invalid arguments and non-iterable entries fail on the first next()",
    () =>
      withFreshStore(ctx, async (store) => {
        const entries = trxEntries("s", "g", 1, 1, { timestamp: anHourAgo(), number: 1 });
        const calls: ReadonlyArray<[string, () => AsyncIterable<unknown>, string]> = [
          ["no args", () => store.restore(undefined as never, entries), "space"],
          ["empty space", () => store.restore({ space: "", segment: "g" }, entries), "space"],
          ["U+0000 in segment", () =>
            store.restore({ space: "s", segment: "g\u0000" }, entries), "segment"],
          ["entries a number", () =>
            store.restore({ space: "s", segment: "g" }, 42 as never), "entries"],
          ["entries null", () =>
            store.restore({ space: "s", segment: "g" }, null as never), "entries"],
          ["entries a plain object", () =>
            store.restore({ space: "s", segment: "g" }, {} as never), "entries"],
        ];
        for (const [label, call, argument] of calls) {
          await expectFirstNextError(call, "InvalidArgument", argument).catch((error) => {
            throw new Error(`${label}: ${describeValue(error)}`, { cause: error });
          });
        }
        await assertEmptySegment(store, "s", "g");
      }),
  );

  define(
    ctx,
    "restore: a payload over limits.maxPayloadBytes fails with PayloadTooLarge, nothing written",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const before = trxEntries("s", "g", 1, 1, { timestamp: t, number: 1 });
        const [valid, large] = trxEntries("s", "g", 2, 2, { timestamp: t, number: 2 });
        large.payload = new Uint8Array(store.limits.maxPayloadBytes + 1);
        const { statuses } = await restoreFailing(
          store,
          "s",
          "g",
          [...before, valid, large],
          "PayloadTooLarge",
          "entries[2].payload",
        );
        assertStatuses(statuses, before, [1]);
        await assertRestored(store, "s", "g", before);
      }),
  );
}
