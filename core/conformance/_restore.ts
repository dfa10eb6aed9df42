// Conformance: restore (entries exactly as given, continuing the head, trx grouping and
// splitting, the checks against the head, names, single winner, laziness, abort, close, invalid
// entries, and, with supports.multiInstance, a restore racing another instance).

import assert from "node:assert/strict";
import { type ErrorKind, StreamkitError } from "../errors.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry, SegmentStatus, Store, Trx } from "../types.ts";
import { withTwoInstances } from "./_persistence.ts";
import {
  assertBytes,
  assertEmptySegment,
  assertMismatch,
  assertSegment,
  byteSort,
  collect,
  ConformanceAbortReason,
  type Ctx,
  deferred,
  define,
  describe,
  drain,
  expectedStatus,
  expectError,
  expectFirstNextError,
  expectReason,
  hex,
  newId,
  plain,
  produce,
  range,
  readSegment,
  readSpace,
  records,
  sleep,
  statusOf,
  tagged,
  textOf,
  utf8,
  withFactory,
  withStore,
  withTimeout,
  ZERO_UUID,
} from "./_helpers.ts";

/** The node of hand-built entries: no factory's, so a restore that stamps its own shows. */
const SOURCE_NODE = "6f1c2c57-8c1e-4c55-9d61-0c8d1c3a4b5e";

/** A trx id of UUID version 1: restore takes any UUID, not only the v4 ids produce makes. */
const V1_TRX_ID = "c232ab00-9414-11ec-b3c8-9f6bdeced846";

/** Restored entries keep old timestamps; consumeSpace reads up to now, so they must be past. */
function anHourAgo(): number {
  return Date.now() - 3_600_000;
}

interface TrxSpec {
  timestamp: number;
  number: number;
  /** A fresh UUID v4 when absent. */
  id?: string;
  /** {@linkcode SOURCE_NODE} when absent. */
  node?: string;
}

/** Hand-built entries of one trx: `count` sequences from `from`, payload `"<tag>:<sequence>"`. */
function trxEntries(
  space: string,
  segment: string,
  from: number,
  count: number,
  spec: TrxSpec,
  tag = "x",
): Entry[] {
  const id = spec.id ?? crypto.randomUUID();
  const node = spec.node ?? SOURCE_NODE;
  return range(from, from + count - 1).map((sequence) => ({
    space,
    segment,
    sequence,
    timestamp: spec.timestamp,
    trx: { id, node, number: spec.number },
    payload: utf8(tagged(tag, sequence)),
    metadata: {},
  }));
}

/** Restores and returns the statuses. */
function restore(
  store: Store,
  space: string,
  segment: string,
  entries: Iterable<Entry> | AsyncIterable<Entry>,
  signal?: AbortSignal,
): Promise<SegmentStatus[]> {
  return collect(store.restore({ space, segment, signal }, entries));
}

/** Restores, asserting it fails with `kind`; returns the statuses yielded before and the error. */
async function restoreFailing(
  store: Store,
  space: string,
  segment: string,
  entries: Iterable<Entry> | AsyncIterable<Entry>,
  kind: ErrorKind,
  argument?: string | RegExp,
): Promise<{ statuses: SegmentStatus[]; error: StreamkitError }> {
  const statuses: SegmentStatus[] = [];
  const error = await expectError(
    async () => {
      for await (const status of store.restore({ space, segment }, entries)) statuses.push(status);
    },
    kind,
    argument,
  );
  return { statuses, error };
}

/** The last sequence of each chunk a restore commits: one chunk per trx, cut at the limit. */
function chunkEnds(trxSizes: readonly number[], maxChunkRecords: number, after = 0): number[] {
  const ends: number[] = [];
  let end = after;
  for (const size of trxSizes) {
    for (let left = size; left > 0; left -= maxChunkRecords) {
      end += Math.min(left, maxChunkRecords);
      ends.push(end);
    }
  }
  return ends;
}

/**
 * Asserts the statuses a restore yielded: one per chunk ending at `ends`, each what the segment
 * (all of it, from sequence 1: `segmentEntries`) reports after that chunk.
 */
function assertStatuses(
  statuses: readonly SegmentStatus[],
  segmentEntries: readonly Entry[],
  ends: readonly number[],
): void {
  assert.deepEqual(
    statuses.map(statusOf),
    ends.map((end) => expectedStatus(segmentEntries, end)),
    "one status per committed chunk, each after its chunk",
  );
}

/**
 * Asserts two lists are equal item by item: a failure shows the first difference, where a diff
 * of thousands of entries would take minutes and gigabytes.
 */
function assertSameItems<T>(actual: readonly T[], expected: readonly T[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: how many`);
  actual.forEach((item, i) => assert.deepEqual(item, expected[i], `${what}: item ${i + 1}`));
}

/** Asserts the segment holds exactly `expected` (every field), and its status and peek agree. */
async function assertRestored(
  store: Store,
  space: string,
  segment: string,
  expected: readonly Entry[],
): Promise<void> {
  assertSameItems(
    (await readSegment(store, space, segment)).map(plain),
    expected.map(plain),
    `entries of ${JSON.stringify(space)}/${JSON.stringify(segment)}`,
  );
  if (expected.length === 0) return await assertEmptySegment(store, space, segment);
  assert.deepEqual(
    statusOf(await store.getSegmentStatus(space, segment)),
    expectedStatus(expected),
    "getSegmentStatus",
  );
  const last = await store.peek(space, segment);
  assert.ok(last, "peek must find the last entry");
  assert.deepEqual(plain(last), plain(expected[expected.length - 1]), "peek");
}

/**
 * Races a produce and two restores (through `handles` in turn) for `count` sequences from
 * `from` of one segment; asserts that exactly one wins, that the others fail as losers do, and
 * that the segment holds the winner's entries only, exactly.
 */
async function raceWriters(
  handles: readonly Store[],
  space: string,
  segment: string,
  from: number,
  count: number,
): Promise<void> {
  const head = await handles[0].peek(space, segment);
  // Valid continuations of the head, so only the race decides.
  const spec = { timestamp: head?.timestamp ?? anHourAgo(), number: (head?.trx.number ?? 0) + 1 };
  const restores = ["restore0", "restore1"].map((tag) =>
    trxEntries(space, segment, from, count, spec, tag)
  );
  const contenders: Array<{ name: string; write: (store: Store) => Promise<unknown> }> = [
    {
      name: "produce",
      write: (store) => produce(store, space, segment, records(from, count, "p")),
    },
    ...restores.map((entries, i) => ({
      name: `restore${i}`,
      write: (store: Store) => restore(store, space, segment, entries),
    })),
  ];
  const results = await Promise.allSettled(
    contenders.map((contender, i) => contender.write(handles[i % handles.length])),
  );
  const outcomes = results.map((result, i) =>
    `${contenders[i].name}: ${result.status === "fulfilled" ? "ok" : describe(result.reason)}`
  );
  const winners = results.flatMap((result, i) => result.status === "fulfilled" ? [i] : []);
  assert.equal(winners.length, 1, `exactly one writer must win: ${outcomes.join("; ")}`);
  for (const result of results) {
    if (result.status === "fulfilled") continue;
    const error = result.reason;
    assert.ok(
      error instanceof StreamkitError &&
        (error.kind === "SequenceMismatch" || (error.kind === "Conflict" && error.transient)),
      `a loser must get SequenceMismatch or a transient Conflict: ${outcomes.join("; ")}`,
    );
  }
  const winner = winners[0];
  for (const handle of handles) {
    const stored = await readSegment(handle, space, segment, { minSequence: from });
    if (winner === 0) {
      assert.deepEqual(
        stored.map(textOf),
        range(from, from + count - 1).map((sequence) => tagged("p", sequence)),
        "only the produce's entries",
      );
    } else {
      assert.deepEqual(stored.map(plain), restores[winner - 1].map(plain), "only the restore's");
    }
  }
}

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

export function registerRestore(ctx: Ctx): void {
  define(
    ctx,
    "restore: a round trip through consumeSegment keeps every field, both indexes, status and peek",
    () => {
      const sourceNode = newId();
      return withFactory(ctx, (sourceFactory) =>
        withFactory(ctx, async (targetFactory) => {
          const source = await sourceFactory.newStore(newId());
          const target = await targetFactory.newStore(newId());
          try {
            const max = source.limits.maxChunkRecords;
            await produce(source, "s", "g", [
              { sequence: 1, payload: utf8("a"), metadata: { "content-type": "text/plain" } },
              {
                sequence: 2,
                payload: new Uint8Array(0),
                metadata: { "unicode 🦀": "漢字 \u0001" },
              },
            ]);
            await produce(source, "s", "h", [
              { sequence: 1, payload: Uint8Array.from({ length: 256 }, (_, i) => i) },
            ]);
            await produce(source, "s", "g", records(3, max + 3)); // several chunks
            await produce(source, "t", "g", records(1, 2, "t"));
            await produce(source, "s", "h", records(2, 1, "h"));

            const spaces = await collect(source.getSpaces());
            for (const space of spaces) {
              for (const segment of await collect(source.getSegments(space))) {
                const entries = await readSegment(source, space, segment);
                const statuses = await restore(
                  target,
                  space,
                  segment,
                  source.consumeSegment({ space, segment }),
                );
                // One chunk per source chunk: each fits the same limit, and is one trx.
                const ends = entries.flatMap((entry, i) =>
                  entry.trx.id === entries[i + 1]?.trx.id ? [] : [entry.sequence]
                );
                assertStatuses(statuses, entries, ends);
                await assertRestored(target, space, segment, entries);
                assert.deepEqual(
                  statusOf(await target.getSegmentStatus(space, segment)),
                  statusOf(await source.getSegmentStatus(space, segment)),
                  "getSegmentStatus identical",
                );
                assert.deepEqual(
                  plain((await target.peek(space, segment))!),
                  plain((await source.peek(space, segment))!),
                  "peek identical",
                );
              }
              assert.deepEqual(
                await collect(target.getSegments(space)),
                await collect(source.getSegments(space)),
                `segments of ${space}`,
              );
              const sourceSpace = await readSpace(source, space);
              const targetSpace = await readSpace(target, space);
              assertSameItems(targetSpace.map(plain), sourceSpace.map(plain), "consumeSpace");
              assertSameItems(
                targetSpace.map((entry) => hex(spaceOffset(entry))),
                sourceSpace.map((entry) => hex(spaceOffset(entry))),
                "space offsets",
              );
              // The space index holds the same keys: resuming mid-way reads the same tail.
              const middle = spaceOffset(sourceSpace[Math.floor(sourceSpace.length / 2)]);
              assertSameItems(
                (await readSpace(target, space, { offset: middle })).map(plain),
                (await readSpace(source, space, { offset: middle })).map(plain),
                "consumeSpace resumed from a source offset",
              );
            }
            assert.deepEqual(await collect(target.getSpaces()), spaces, "spaces");
            for (const entry of await readSpace(target, "s")) {
              assert.equal(entry.trx.node, sourceNode, "the source's node, not the target's");
            }
          } finally {
            await target.close();
            await source.close();
          }
        }, { nodeId: newId() }), { nodeId: sourceNode });
    },
  );

  define(
    ctx,
    "restore: each trx commits as one chunk, exactly as given, and produce continues after it",
    () =>
      withStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const t = anHourAgo();
        const entries = [
          ...trxEntries("s", "g", 1, 3, { timestamp: t, number: 1, id: V1_TRX_ID }),
          // Same millisecond, next trx; numbers need not be consecutive.
          ...trxEntries("s", "g", 4, 2, { timestamp: t, number: 2, node: ZERO_UUID }),
          ...trxEntries("s", "g", 6, 1, { timestamp: t + 5, number: 7 }),
        ];
        entries[1].metadata = { "content-type": "text/plain", "": "", "🦀": "\u0001 / \\ # ? %" };
        entries[3].payload = new Uint8Array(0);
        entries[4].payload = new Uint8Array(new ArrayBuffer(16), 4, 8).fill(0xff);
        const statuses = await restore(store, "s", "g", entries);
        assertStatuses(statuses, entries, chunkEnds([3, 2, 1], max));
        await assertRestored(store, "s", "g", entries);
        assert.deepEqual((await readSpace(store, "s")).map(plain), entries.map(plain), "space");
        assert.deepEqual(await collect(store.getSpaces()), ["s"]);
        assert.deepEqual(await collect(store.getSegments("s")), ["g"]);

        await produce(store, "s", "g", records(7, 1));
        const produced = (await store.peek("s", "g"))!;
        assert.equal(produced.trx.number, 8, "produce numbers its chunk after the restored one");
        assert.ok(produced.timestamp >= t + 5, "produce never stamps below the restored head");
        assert.equal((await store.getSegmentStatus("s", "g"))?.firstTimestamp, t);
      }),
  );

  define(
    ctx,
    "restore: continues a segment that already has entries",
    () =>
      withStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        await produce(store, "s", "g", records(1, 3));
        const head = (await store.peek("s", "g"))!;
        // The head's own millisecond and trx number + 1, then a jump in trx numbers.
        const restored = [
          ...trxEntries("s", "g", 4, 2, { timestamp: head.timestamp, number: head.trx.number + 1 }),
          ...trxEntries("s", "g", 6, 1, { timestamp: head.timestamp, number: head.trx.number + 4 }),
        ];
        const statuses = await restore(store, "s", "g", restored);
        const segment = [...(await readSegment(store, "s", "g", { maxSequence: 3 })), ...restored];
        assertStatuses(statuses, segment, chunkEnds([2, 1], max, 3));
        await assertRestored(store, "s", "g", segment);
        assert.equal((await readSpace(store, "s")).length, 6, "the space index holds all six");
        await produce(store, "s", "g", records(7, 1));
        const produced = (await store.peek("s", "g"))!;
        assert.equal(produced.trx.number, head.trx.number + 5, "produce continues trx numbers");
        await assertRestored(store, "s", "g", [...segment, produced]);
      }),
  );

  define(
    ctx,
    "restore: sequences must continue the head (a new segment at 1, then last + 1)",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const ahead = trxEntries("s", "g", 2, 2, { timestamp: t, number: 1 });
        const { error } = await restoreFailing(store, "s", "g", ahead, "SequenceMismatch");
        assertMismatch(error, 1, 2);
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), [], "no space appears");

        const first = trxEntries("s", "g", 1, 3, { timestamp: t, number: 1 });
        await restore(store, "s", "g", first);
        for (const [label, from] of [["gap", 5], ["overlap", 3], ["from the start", 1]] as const) {
          const next = trxEntries("s", "g", from, 2, { timestamp: t, number: 2 }, label);
          const failed = await restoreFailing(store, "s", "g", next, "SequenceMismatch");
          assertMismatch(failed.error, 4, from);
          assert.deepEqual(failed.statuses, [], `${label}: nothing committed`);
          await assertRestored(store, "s", "g", first);
        }
      }),
  );

  define(
    ctx,
    "restore: a gap or repeat inside the entries fails its chunk; earlier chunks stay",
    () =>
      withStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const t = anHourAgo();
        const committed = [
          ...trxEntries("s", "g", 1, 2, { timestamp: t, number: 1 }),
          ...trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 }),
        ];
        const gapped = trxEntries("s", "g", 6, 2, { timestamp: t, number: 3 });
        const { statuses, error } = await restoreFailing(
          store,
          "s",
          "g",
          [...committed, ...gapped],
          "SequenceMismatch",
        );
        assertMismatch(error, 5, 6);
        assertStatuses(statuses, committed, chunkEnds([2, 2], max));
        await assertRestored(store, "s", "g", committed);

        // Within one trx: the whole trx fails.
        const spec = { timestamp: t, number: 3, id: crypto.randomUUID() };
        const cases = [
          ["a gap", [...trxEntries("s", "g", 5, 2, spec), ...trxEntries("s", "g", 8, 1, spec)], 8],
          [
            "a repeat",
            [...trxEntries("s", "g", 5, 2, spec), ...trxEntries("s", "g", 6, 1, spec)],
            6,
          ],
        ] as const;
        for (const [label, entries, actual] of cases) {
          const failed = await restoreFailing(store, "s", "g", entries, "SequenceMismatch");
          assertMismatch(failed.error, 7, actual);
          assert.deepEqual(failed.statuses, [], `${label}: nothing of the trx committed`);
          await assertRestored(store, "s", "g", committed);
        }
        assert.equal((await readSpace(store, "s")).length, 4, "the space index agrees");
        const rest = trxEntries("s", "g", 5, 2, spec);
        await restore(store, "s", "g", rest);
        await assertRestored(store, "s", "g", [...committed, ...rest]);
      }),
  );

  define(
    ctx,
    "restore: every entry must name the restore's space and segment (prefix names too)",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const otherSpace = trxEntries("ab", "a", 1, 2, { timestamp: t, number: 1 });
        await restoreFailing(store, "a", "a", otherSpace, "InvalidArgument", "entries[0].space");
        const spec = { timestamp: t, number: 1, id: crypto.randomUUID() };
        const longerSegment = [
          ...trxEntries("a", "a", 1, 2, spec),
          ...trxEntries("a", "ab", 3, 1, spec),
        ];
        await restoreFailing(
          store,
          "a",
          "a",
          longerSegment,
          "InvalidArgument",
          "entries[2].segment",
        );
        const shorterSegment = trxEntries("a", "a", 1, 1, spec);
        await restoreFailing(
          store,
          "a",
          "ab",
          shorterSegment,
          "InvalidArgument",
          "entries[0].segment",
        );
        await assertEmptySegment(store, "a", "a");
        await assertEmptySegment(store, "a", "ab");
        assert.deepEqual(await collect(store.getSpaces()), [], "nothing was written");

        const good = trxEntries("a", "a", 1, 2, { timestamp: t, number: 1 });
        const stray = trxEntries("a", "b", 3, 1, { timestamp: t, number: 2 });
        const { statuses } = await restoreFailing(
          store,
          "a",
          "a",
          [...good, ...stray],
          "InvalidArgument",
          "entries[2].segment",
        );
        assertStatuses(statuses, good, [2]);
        await assertRestored(store, "a", "a", good);
        assert.deepEqual(await collect(store.getSpaces()), ["a"]);
        assert.deepEqual(await collect(store.getSegments("a")), ["a"]);
      }),
  );

  define(
    ctx,
    "restore: timestamps never go back, within the entries or below the head",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const later = trxEntries("s", "g", 1, 2, { timestamp: t + 10, number: 1 });
        const earlier = trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 });
        const { statuses } = await restoreFailing(
          store,
          "s",
          "g",
          [...later, ...earlier],
          "InvalidArgument",
          "timestamp",
        );
        assertStatuses(statuses, later, [2]);
        await assertRestored(store, "s", "g", later);

        await produce(store, "s", "p", records(1, 2));
        const head = (await store.peek("s", "p"))!;
        const below = trxEntries("s", "p", 3, 1, {
          timestamp: head.timestamp - 1,
          number: head.trx.number + 1,
        });
        await restoreFailing(store, "s", "p", below, "InvalidArgument", "timestamp");
        await assertSegment(store, "s", "p", [1, 2]);
        const same = trxEntries("s", "p", 3, 1, {
          timestamp: head.timestamp,
          number: head.trx.number + 1,
        });
        await restore(store, "s", "p", same);
        assert.deepEqual(plain((await store.peek("s", "p"))!), plain(same[0]), "the head's ms");
      }),
  );

  define(
    ctx,
    "restore: trx numbers never go back, within the entries or below the head",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const higher = trxEntries("s", "g", 1, 2, { timestamp: t, number: 5 });
        const lower = trxEntries("s", "g", 3, 1, { timestamp: t, number: 4 });
        const { statuses } = await restoreFailing(
          store,
          "s",
          "g",
          [...higher, ...lower],
          "InvalidArgument",
          "trx number",
        );
        assertStatuses(statuses, higher, [2]);
        await assertRestored(store, "s", "g", higher);

        await produce(store, "s", "p", records(1, 1));
        await produce(store, "s", "p", records(2, 1));
        const head = (await store.peek("s", "p"))!;
        assert.equal(head.trx.number, 2);
        const below = trxEntries("s", "p", 3, 1, { timestamp: head.timestamp, number: 1 });
        await restoreFailing(store, "s", "p", below, "InvalidArgument", "trx number");
        await assertSegment(store, "s", "p", [1, 2]);
      }),
  );

  define(
    ctx,
    "restore: entries of one trx must share timestamp, node and number",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const changes: ReadonlyArray<[string, Partial<TrxSpec>]> = [
          ["timestamp", { timestamp: t + 1 }],
          ["node", { node: ZERO_UUID }],
          ["number", { number: 2 }],
        ];
        for (const [label, change] of changes) {
          const segment = `differs in ${label}`;
          const spec = { timestamp: t, number: 1, id: crypto.randomUUID() };
          const before = trxEntries("s", segment, 1, 2, { timestamp: t, number: 1 });
          const odd = [
            ...trxEntries("s", segment, 3, 2, spec),
            ...trxEntries("s", segment, 5, 1, { ...spec, ...change }),
          ];
          const { statuses } = await restoreFailing(
            store,
            "s",
            segment,
            [...before, ...odd],
            "InvalidArgument",
          );
          assertStatuses(statuses, before, [2]);
          await assertRestored(store, "s", segment, before);
        }
      }),
  );

  define(
    ctx,
    "restore: a trx larger than limits.maxChunkRecords commits in several chunks, keeping its trx",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(newId());
        const copy = await factory.newStore(newId());
        try {
          const max = store.limits.maxChunkRecords;
          const t = anHourAgo();
          const large = trxEntries("s", "g", 1, max + 5, { timestamp: t, number: 3 });
          const small = trxEntries("s", "g", max + 6, 2, { timestamp: t + 1, number: 4 });
          const entries = [...large, ...small];
          const statuses = await restore(store, "s", "g", entries);
          assertStatuses(statuses, entries, chunkEnds([max + 5, 2], max));
          await assertRestored(store, "s", "g", entries);
          assert.equal((await readSpace(store, "s")).length, entries.length, "space index");
          await produce(store, "s", "g", records(max + 8, 1));
          const produced = (await store.peek("s", "g"))!;
          assert.equal(produced.trx.number, 5, "produce continues after the last trx");

          // Read back, the large trx spans several stored chunks: it restores the same way.
          const segment = [...entries, produced];
          const copied = await restore(
            copy,
            "s",
            "g",
            store.consumeSegment({ space: "s", segment: "g" }),
          );
          assertStatuses(copied, segment, chunkEnds([max + 5, 2, 1], max));
          await assertRestored(copy, "s", "g", segment);
        } finally {
          await copy.close();
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "restore: every chunk of a split trx keeps the trx's timestamp, node and number",
    () =>
      withStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const t = anHourAgo();
        const changes: ReadonlyArray<[string, Partial<TrxSpec>]> = [
          ["timestamp", { timestamp: t + 1 }],
          ["node", { node: ZERO_UUID }],
          ["number", { number: 2 }],
        ];
        for (const [label, change] of changes) {
          const segment = `split, differs in ${label}`;
          const spec = { timestamp: t, number: 1, id: crypto.randomUUID() };
          // Past the first chunk, every entry differs alike: no one chunk holds both kinds.
          const first = trxEntries("s", segment, 1, max, spec);
          const rest = trxEntries("s", segment, max + 1, 2, { ...spec, ...change });
          const { statuses } = await restoreFailing(
            store,
            "s",
            segment,
            [...first, ...rest],
            "InvalidArgument",
          );
          const stored = await readSegment(store, "s", segment);
          assert.ok(stored.length <= max, `${label}: nothing past the first chunk is written`);
          assertSameItems(stored.map(plain), first.slice(0, stored.length).map(plain), label);
          assert.equal(statuses.at(-1)?.lastSequence ?? 0, stored.length, "yielded = stored");
        }
      }),
  );

  define(
    ctx,
    "restore: odd names (emoji, control characters, U+FEFF) and prefix-named a/ab stay apart",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const odd = ["🦀🎉", "\u0001\u001f\u007f", "\uFEFF", "\uFEFFbom", "tab\there\nnew"];
        for (const name of odd) {
          const entries = trxEntries(name, name, 1, 2, { timestamp: t, number: 1 }, name);
          const [status] = await restore(store, name, name, entries);
          assert.equal(status.space, name, "status space");
          assert.equal(status.segment, name, "status segment");
          await assertRestored(store, name, name, entries);
          assert.deepEqual((await readSpace(store, name)).map(plain), entries.map(plain));
        }
        const prefixed: Record<string, Entry[]> = {};
        for (const space of ["a", "ab"]) {
          for (const segment of ["a", "ab"]) {
            const entries = trxEntries(
              space,
              segment,
              1,
              2,
              { timestamp: t, number: 1 },
              `${space}/${segment}`,
            );
            await restore(store, space, segment, entries);
            prefixed[`${space}/${segment}`] = entries;
          }
        }
        for (const [key, entries] of Object.entries(prefixed)) {
          const [space, segment] = key.split("/");
          await assertRestored(store, space, segment, entries);
        }
        for (const space of ["a", "ab"]) {
          assert.deepEqual(await collect(store.getSegments(space)), ["a", "ab"]);
          // One millisecond: ordered by segment bytes, "a" before "ab".
          assert.deepEqual(
            (await readSpace(store, space)).map(plain),
            [...prefixed[`${space}/a`], ...prefixed[`${space}/ab`]].map(plain),
            `consumeSpace ${space}`,
          );
        }
        assert.deepEqual(await collect(store.getSpaces()), byteSort([...odd, "a", "ab"]));
      }),
  );

  define(
    ctx,
    "restore: racing a produce and another restore for the same sequences, exactly one wins",
    () =>
      withStore(ctx, async (store) => {
        for (let round = 0; round < 4; round++) {
          await raceWriters([store], "s", "g", round * 5 + 1, 5);
        }
        assert.equal((await readSpace(store, "s")).length, 20, "only the winners' entries");
        assert.equal((await store.getSegmentStatus("s", "g"))?.lastSequence, 20);
      }),
  );

  define(
    ctx,
    "restore: nothing is written, and no entry read, until the result is iterated",
    () =>
      withStore(ctx, async (store) => {
        const entries = trxEntries("s", "g", 1, 3, { timestamp: anHourAgo(), number: 1 });
        let pulled = 0;
        function* source(): Generator<Entry> {
          for (const entry of entries) {
            pulled++;
            yield entry;
          }
        }
        const pending = store.restore({ space: "s", segment: "g" }, source());
        await sleep(20);
        assert.equal(pulled, 0, "the source must not be pulled before the result is iterated");
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), [], "spaces before iterating");
        const statuses = await collect(pending);
        assert.equal(pulled, 3);
        assertStatuses(statuses, entries, [3]);
        await assertRestored(store, "s", "g", entries);
      }),
  );

  define(
    ctx,
    "restore: no entries writes nothing and yields nothing",
    () =>
      withStore(ctx, async (store) => {
        assert.deepEqual(await restore(store, "s", "g", []), [], "empty array");
        async function* none(): AsyncGenerator<Entry> {}
        assert.deepEqual(await restore(store, "s", "g", none()), [], "empty async iterable");
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), []);
        await produce(store, "s", "g", records(1, 1));
        await assertSegment(store, "s", "g", [1]);
      }),
  );

  define(
    ctx,
    "restore: an abort before iterating writes nothing; during it, committed chunks stay",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        const first = trxEntries("s", "g", 1, 2, { timestamp: t, number: 1 });
        const second = trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 });

        const early = new AbortController();
        const earlyReason = new ConformanceAbortReason("aborted before restore()");
        early.abort(earlyReason);
        await expectReason(
          () => restore(store, "s", "g", first, early.signal),
          earlyReason,
          "restore with an aborted signal",
        );
        const late = new AbortController();
        const lateReason = new ConformanceAbortReason("aborted between restore() and iterating");
        const pending = store.restore({ space: "s", segment: "g", signal: late.signal }, first);
        late.abort(lateReason);
        await expectReason(() => drain(pending), lateReason, "restore aborted before iterating");
        await assertEmptySegment(store, "s", "g");

        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const firstStatus = deferred();
        async function* source(): AsyncGenerator<Entry> {
          yield* [...first, ...second];
          // Only the abort ends the wait: a restore that ignored it would commit `second`.
          await new Promise<void>((resolve) => {
            if (controller.signal.aborted) resolve();
            controller.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
        firstStatus.promise.then(() => controller.abort(reason));
        const statuses: SegmentStatus[] = [];
        await expectReason(
          () =>
            withTimeout(
              (async () => {
                const args = { space: "s", segment: "g", signal: controller.signal };
                for await (const status of store.restore(args, source())) {
                  statuses.push(status);
                  firstStatus.resolve();
                }
              })(),
              "restore to end after the abort",
            ),
          reason,
          "restore",
        );
        assertStatuses(statuses, first, [2]);
        await assertRestored(store, "s", "g", first);
        await restore(store, "s", "g", second);
        await assertRestored(store, "s", "g", [...first, ...second]);
      }),
  );

  define(
    ctx,
    "restore: created before close() and iterated after it fails with Closed",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const store = await factory.newStore(storeId);
        const entries = trxEntries("s", "g", 1, 2, { timestamp: anHourAgo(), number: 1 });
        const pending = store.restore({ space: "s", segment: "g" }, entries);
        await store.close();
        await expectError(() => drain(pending), "Closed");
        await expectError(() => restore(store, "s", "g", entries), "Closed");
        const again = await factory.newStore(storeId);
        try {
          await assertEmptySegment(again, "s", "g");
        } finally {
          await again.close();
        }
      }),
  );

  define(
    ctx,
    "restore: in flight at close(), it commits whole chunks only; close() waits for it",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const store = await factory.newStore(storeId);
        const t = anHourAgo();
        const entries = [
          ...trxEntries("s", "g", 1, 2, { timestamp: t, number: 1 }),
          ...trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 }),
          ...trxEntries("s", "g", 5, 2, { timestamp: t, number: 3 }),
        ];
        const midway = deferred();
        const release = deferred();
        const firstStatus = deferred();
        async function* source(): AsyncGenerator<Entry> {
          yield* entries.slice(0, 4);
          midway.resolve();
          await release.promise;
          yield* entries.slice(4);
        }
        const statuses: SegmentStatus[] = [];
        const restoring = (async () => {
          for await (const status of store.restore({ space: "s", segment: "g" }, source())) {
            statuses.push(status);
            firstStatus.resolve();
          }
        })();
        restoring.catch(() => {});
        const again = await factory.newStore(storeId);
        try {
          await withTimeout(
            Promise.all([midway.promise, firstStatus.promise]),
            "the first chunk of the restore",
          );
          const closing = store.close();
          release.resolve();
          await withTimeout(closing, "close() with a restore in flight");
          const afterClose = await readSegment(again, "s", "g");
          let failure: unknown;
          await withTimeout(restoring, "the restore to settle").catch((error) => failure = error);
          const stored = await readSegment(again, "s", "g");
          assert.equal(stored.length, afterClose.length, "nothing is written after close()");
          const ends = [0, ...chunkEnds([2, 2, 2], again.limits.maxChunkRecords)];
          assert.ok(ends.includes(stored.length), `whole trxs only, got ${stored.length}`);
          assert.deepEqual(stored.map(plain), entries.slice(0, stored.length).map(plain));
          assert.ok(stored.length >= statuses.at(-1)!.lastSequence, "every yielded chunk stays");
          if (failure === undefined) {
            assert.equal(stored.length, entries.length, "a restore that ended committed all");
          } else {
            assert.ok(
              failure instanceof StreamkitError && failure.kind === "Closed",
              `an interrupted restore fails with Closed, got ${describe(failure)}`,
            );
          }
          assert.equal((await readSpace(again, "s")).length, stored.length, "space index agrees");
        } finally {
          release.resolve();
          await store.close();
          await again.close();
        }
      }),
  );

  define(
    ctx,
    "restore: an invalid entry fails its own trx; an earlier trx stays",
    () =>
      withStore(ctx, async (store) => {
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
      withStore(ctx, async (store) => {
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
            throw new Error(`${label}: ${describe(error)}`, { cause: error });
          });
        }
        await assertEmptySegment(store, "s", "g");
      }),
  );

  define(
    ctx,
    "restore: a trx of more bytes than one chunk carries lands whole, keeping its trx",
    () =>
      withStore(ctx, async (store) => {
        const t = anHourAgo();
        // Six payloads at the limit: more than memory, level or azure commit in one chunk, so
        // the trx is cut by bytes, not by records.
        const entries = trxEntries("s", "g", 1, 6, { timestamp: t, number: 1 });
        entries.forEach((entry, i) => {
          entry.payload = new Uint8Array(store.limits.maxPayloadBytes).fill(i + 1);
        });
        const statuses = await restore(store, "s", "g", entries);
        const ends = statuses.map((status) => status.lastSequence);
        assert.ok(ends.every((end, i) => end > (ends[i - 1] ?? 0)), `chunk ends ${ends}`);
        assert.equal(ends.at(-1), entries.length, "every entry committed");
        assertStatuses(statuses, entries, ends);
        // Compared without their payloads, and those byte by byte: hex of megabytes is slow.
        const withoutPayload = (entry: Entry) => plain({ ...entry, payload: new Uint8Array(0) });
        const stored = await readSegment(store, "s", "g");
        assert.deepEqual(stored.map(withoutPayload), entries.map(withoutPayload));
        stored.forEach((entry, i) => assertBytes(entry.payload, entries[i].payload, `#${i + 1}`));
      }),
  );

  define(
    ctx,
    "restore: a payload over limits.maxPayloadBytes fails with PayloadTooLarge, nothing written",
    () =>
      withStore(ctx, async (store) => {
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

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "multi-instance: a restore on one instance racing a produce on the other, exactly one wins",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          for (let round = 0; round < 3; round++) {
            // The produce runs on the first handle, the restores on both.
            const handles = round % 2 === 0 ? [a, b] : [b, a];
            await raceWriters(handles, "s", "g", round * 4 + 1, 4);
          }
          assert.deepEqual(
            (await readSpace(a, "s")).map(plain),
            (await readSpace(b, "s")).map(plain),
            "both instances read the same entries",
          );
          assert.equal((await b.getSegmentStatus("s", "g"))?.lastSequence, 12);
        }),
    );
  }
}
