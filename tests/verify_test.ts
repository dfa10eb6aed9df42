// verifyStore (core/verify.ts): a sound store is sound on every driver, and each kind of damage,
// made directly in the driver's storage (classic-level, or the table through @azure/data-tables:
// no driver in between), is reported with its space, segment and sequence. The cases that need
// no real damage (passes, the problem cap, abort, progress) run on memory, some through a view of
// the store that hides or alters what one of its reads returns.

import assert from "node:assert/strict";
import {
  type Entry,
  type SegmentStatus,
  type Store,
  type StoreFactory,
  StreamkitError,
  type VerifyProblem,
  type VerifyProgress,
  type VerifyReport,
  verifyStore,
} from "../core/mod.ts";
import { collect } from "../core/_test_util.ts";
import { verifyStoreInPasses } from "../core/verify/_passes.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";
import {
  type RawStorage,
  withAzureTarget,
  withLevelTarget,
  withStoreOfNewFactory,
} from "./_raw_storage.ts";

/** Small chunks, so every segment of a few records has several. */
const CHUNK_RECORDS = 5;
/**
 * Space → segment → records: prefix-named spaces and segments (`a`, `ab`), emoji, U+FEFF (which
 * a careless UTF-8 decoder drops) and punctuation.
 */
const LAYOUT: Record<string, Record<string, number>> = {
  orders: { a: 23, ab: 7, "🦊": 3 },
  "\uFEFF": { "\uFEFFbom": 4, "x/y#?% \u0001\\": 6 },
  a: { a: 2 },
  ab: { "🦊🦊": 11 },
};
const SPACE_COUNT = Object.keys(LAYOUT).length;
const SEGMENT_COUNT = Object.values(LAYOUT).reduce((n, s) => n + Object.keys(s).length, 0);
const ENTRY_COUNT = Object.values(LAYOUT).reduce(
  (n, s) => n + Object.values(s).reduce((m, records) => m + records, 0),
  0,
);

/** The damaged segment, and its sibling whose name it is a prefix of. */
const SPACE = "orders";
const SEGMENT = "a";
const SIBLING = "ab";
const SEGMENT_RECORDS = LAYOUT[SPACE][SEGMENT];
/** An entry in a chunk that is not the segment's last (on Azure no fanout ever writes it again). */
const INNER = 7;

/** Binary payloads with 0x00 and 0xff bytes, some empty. */
function payloadOf(space: string, segment: string, sequence: number): Uint8Array {
  if (sequence % 4 === 0) return new Uint8Array(0);
  const bytes = new Uint8Array(1 + (sequence * 7) % 40);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = (i * 31 + sequence * 17 + space.length * 5 + segment.length) & 0xff;
  }
  bytes[0] = 0x00;
  bytes[bytes.length - 1] = 0xff;
  return bytes;
}

const PAYLOAD_BYTES = Object.entries(LAYOUT).reduce(
  (n, [space, segments]) =>
    Object.entries(segments).reduce((m, [segment, records]) => {
      for (let sequence = 1; sequence <= records; sequence++) {
        m += payloadOf(space, segment, sequence).length;
      }
      return m;
    }, n),
  0,
);

/**
 * Writes LAYOUT in two rounds over every segment, so each space's timeline interleaves its
 * segments and each segment has chunks of two produces.
 */
async function writeLayout(store: Store): Promise<void> {
  for (const round of [0, 1]) {
    for (const [space, segments] of Object.entries(LAYOUT)) {
      for (const [segment, records] of Object.entries(segments)) {
        const half = Math.ceil(records / 2);
        const [from, to] = round === 0 ? [1, half] : [half + 1, records];
        const batch = [];
        for (let sequence = from; sequence <= to; sequence++) {
          batch.push({
            sequence,
            payload: payloadOf(space, segment, sequence),
            metadata: sequence % 3 === 0 ? { "content-type": "x/y", "ü\u0001": "🦊" } : undefined,
          });
        }
        for await (const _ of store.produce({ space, segment }, batch));
      }
    }
  }
}

function assertSound(report: VerifyReport): void {
  assert.deepEqual(report, {
    sound: true,
    problems: [],
    spaces: SPACE_COUNT,
    segments: SEGMENT_COUNT,
    entries: ENTRY_COUNT,
    bytes: PAYLOAD_BYTES,
  });
}

/** A kind of damage to SEGMENT (or SIBLING), and the problems verify must report for it. */
interface Damage {
  name: string;
  /** Makes the damage, given SEGMENT's intact entries (#n at index n - 1). */
  make(storage: RawStorage, entries: readonly Entry[]): Promise<void>;
  segment: string;
  sequence: number | undefined;
  /** Each must be part of some problem at `segment` and `sequence`. */
  says: string[];
}

const DAMAGES: readonly Damage[] = [
  {
    name: "a deleted space index row",
    make: (storage, entries) => storage.deleteFromSpaceIndex(entries[INNER - 1]),
    segment: SEGMENT,
    sequence: INNER,
    says: [`#${INNER} missing from the space index`],
  },
  {
    name: "a deleted segment index row",
    make: (storage, entries) => storage.deleteFromSegmentIndex(entries[INNER - 1]),
    segment: SEGMENT,
    sequence: INNER,
    says: [`#${INNER} missing from the segment index`],
  },
  {
    name: "a head naming a missing entry (the last row deleted, the head kept)",
    make: (storage, entries) => storage.deleteFromSegmentIndex(entries[SEGMENT_RECORDS - 1]),
    segment: SEGMENT,
    sequence: SEGMENT_RECORDS,
    says: [
      `getSegmentStatus reports last #${SEGMENT_RECORDS}`,
      "peek fails",
      `#${SEGMENT_RECORDS} in the space index, missing from the segment index`,
    ],
  },
  {
    name: "a segment missing from the inventory",
    make: (storage) => storage.deleteFromSegmentInventory(SPACE, SIBLING),
    segment: SIBLING,
    sequence: undefined,
    says: ["getSegments does not list it"],
  },
  {
    name: "a space index row whose payload differs from its segment index row",
    make: (storage, entries) => {
      const entry = entries[INNER - 1];
      const payload = entry.payload.map((byte) => byte ^ 0x5a);
      return storage.putInSpaceIndex({ ...entry, payload });
    },
    segment: SEGMENT,
    sequence: INNER,
    says: ["the indexes hold different entries (segment index vs space index): payload"],
  },
];

function describe(problems: readonly VerifyProblem[]): string {
  return problems.map((problem) => JSON.stringify(problem)).join("\n");
}

/**
 * Writes a new store, verifies it (it must be sound), makes `damage` in its storage while no
 * factory has it open, and verifies it again: the report must name the damage, and only it.
 * Every verify opens its own factory.
 */
async function assertVerifyFinds(
  openFactory: () => StoreFactory,
  openStorage: (storeId: string) => Promise<RawStorage>,
  damage: Damage,
): Promise<void> {
  const storeId = crypto.randomUUID();
  await withStoreOfNewFactory(openFactory, storeId, writeLayout);
  // On Azure the intact verify's head reads, by a factory other than the writer's, also finish
  // the fanouts the writer left marked pending: no later read repairs the damage.
  const entries = await withStoreOfNewFactory(openFactory, storeId, async (store) => {
    assertSound(await verifyStore(store));
    return await collect(store.consumeSegment({ space: SPACE, segment: SEGMENT }));
  });
  assert.equal(entries.length, SEGMENT_RECORDS);
  {
    await using storage = await openStorage(storeId);
    await damage.make(storage, entries);
  }
  const report = await withStoreOfNewFactory(openFactory, storeId, (store) => verifyStore(store));
  const { problems } = report;
  assert.equal(report.sound, false, "the damage went unnoticed");
  for (const problem of problems) {
    assert.ok(
      problem.space === SPACE && problem.segment === damage.segment,
      `a problem elsewhere than the damage:\n${describe(problems)}`,
    );
  }
  for (const says of damage.says) {
    assert.ok(
      problems.some((problem) =>
        problem.sequence === damage.sequence && problem.problem.includes(says)
      ),
      `no problem at #${damage.sequence} says "${says}":\n${describe(problems)}`,
    );
  }
}

/** A view of `store` whose methods in `overrides` replace the store's own. */
function viewOf(store: Store, overrides: Partial<Store>): Store {
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof Store];
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function* mapEntries(
  entries: AsyncIterable<Entry>,
  change: (entry: Entry) => Entry | undefined,
): AsyncIterable<Entry> {
  for await (const entry of entries) {
    const changed = change(entry);
    if (changed !== undefined) yield changed;
  }
}

async function* without<T>(items: AsyncIterable<T>, unwanted: T): AsyncIterable<T> {
  for await (const item of items) if (item !== unwanted) yield item;
}

async function withMemoryStore(body: (store: Store) => Promise<void>): Promise<void> {
  await using factory = new MemoryStoreFactory({ limits: { maxChunkRecords: CHUNK_RECORDS } });
  const store = await factory.newStore(crypto.randomUUID());
  await writeLayout(store);
  await body(store);
}

/** Problems in a canonical order, for reports whose passes ran in different orders. */
function sorted(problems: readonly VerifyProblem[]): string[] {
  return problems.map((problem) => JSON.stringify(problem)).sort();
}

Deno.test("verifyStore (memory): odd names, several chunks, binary payloads: sound", async () => {
  await withMemoryStore(async (store) => {
    assertSound(await verifyStore(store));
    // One segment per pass, and a few: every space index is read once per pass.
    assertSound(await verifyStoreInPasses(store, {}, 1));
    assertSound(await verifyStoreInPasses(store, {}, 2));
  });
});

/** A view whose segment index of SPACE/SEGMENT yields each entry as `change` makes it. */
function alteredSegment(change: (entry: Entry) => Entry): (store: Store) => Partial<Store> {
  return (store) => ({
    consumeSegment: (args) =>
      args.space === SPACE && args.segment === SEGMENT
        ? mapEntries(store.consumeSegment(args), change)
        : store.consumeSegment(args),
  });
}

/** A view whose `getSegmentStatus` of SPACE/SEGMENT reports `change(status)`. */
function alteredStatus(
  change: (status: SegmentStatus) => SegmentStatus | undefined,
): (store: Store) => Partial<Store> {
  return (store) => ({
    getSegmentStatus: async (space, segment, options) => {
      const status = await store.getSegmentStatus(space, segment, options);
      return space === SPACE && segment === SEGMENT && status ? change(status) : status;
    },
  });
}

async function* listing(names: string[]): AsyncIterable<string> {
  yield* names;
}

/** A damage shown through a view of an intact store, and the problem verify must report. */
interface ViewedDamage {
  name: string;
  view: (store: Store) => Partial<Store>;
  space?: string;
  segment: string | undefined;
  sequence: number | undefined;
  says: string;
}

const OTHER_NODE = "11111111-1111-4111-8111-111111111111";

// SEGMENT's chunks: #1..#5 are trx 1, #6..#10 trx 2, #11..#12 trx 3 (see writeLayout).
const VIEWED_DAMAGES: readonly ViewedDamage[] = [
  {
    name: "a timestamp that decreases",
    view: alteredSegment((entry) =>
      entry.sequence === 5 ? { ...entry, timestamp: entry.timestamp - 1_000 } : entry
    ),
    segment: SEGMENT,
    sequence: 5,
    says: "is below #4's",
  },
  {
    name: "a trx number used by two trx ids",
    view: alteredSegment((entry) =>
      entry.sequence === 3 ? { ...entry, trx: { ...entry.trx, id: crypto.randomUUID() } } : entry
    ),
    segment: SEGMENT,
    sequence: 3,
    says: "trx number 1 is used by two trx ids",
  },
  {
    name: "entries of one trx that disagree on its node",
    view: alteredSegment((entry) =>
      entry.sequence === 4 ? { ...entry, trx: { ...entry.trx, node: OTHER_NODE } } : entry
    ),
    segment: SEGMENT,
    sequence: 4,
    says: "shares trx",
  },
  {
    name: "a trx number that decreases",
    view: alteredSegment((entry) =>
      entry.trx.number === 2 ? { ...entry, trx: { ...entry.trx, number: 0 } } : entry
    ),
    segment: SEGMENT,
    sequence: 6,
    says: "trx number 0 is below #5's 1",
  },
  {
    name: "a status whose first timestamp differs",
    view: alteredStatus((status) => ({ ...status, firstTimestamp: status.firstTimestamp - 1 })),
    segment: SEGMENT,
    sequence: 1,
    says: "getSegmentStatus reports first #1",
  },
  {
    name: "a segment with entries and no status",
    view: alteredStatus(() => undefined),
    segment: SEGMENT,
    sequence: SEGMENT_RECORDS,
    says: "getSegmentStatus reports nothing",
  },
  {
    name: "a peek unlike the last entry",
    view: (store) => ({
      peek: async (space, segment, options) => {
        const last = await store.peek(space, segment, options);
        return last && segment === SEGMENT ? { ...last, payload: new Uint8Array([1]) } : last;
      },
    }),
    segment: SEGMENT,
    sequence: SEGMENT_RECORDS,
    says: `peek returns an entry unlike the segment index's last, #${SEGMENT_RECORDS} ` +
      "(segment index vs peek): payload",
  },
  {
    name: "a listed segment without entries",
    view: (store) => ({
      getSegments: (space, options) =>
        space === SPACE ? listing(["a", "ab", "ghost", "🦊"]) : store.getSegments(space, options),
    }),
    segment: "ghost",
    sequence: undefined,
    says: "getSegments lists it, but it holds no entries",
  },
  {
    name: "a listed space without entries",
    // LAYOUT's spaces in UTF-8 order, then one more.
    view: () => ({ getSpaces: () => listing(["a", "ab", "orders", "\uFEFF", "🦊"]) }),
    space: "🦊",
    segment: undefined,
    sequence: undefined,
    says: "getSpaces lists it, but it holds no entries",
  },
  {
    name: "segments listed out of order",
    view: (store) => ({
      getSegments: (space, options) =>
        space === SPACE ? listing(["🦊", "ab", "a"]) : store.getSegments(space, options),
    }),
    segment: "ab",
    sequence: undefined,
    says: `getSegments lists it after "🦊": out of order`,
  },
];

Deno.test("verifyStore (memory): each check of entries, statuses and listings", async (t) => {
  await withMemoryStore(async (store) => {
    for (const damage of VIEWED_DAMAGES) {
      await t.step(damage.name, async () => {
        const { problems, sound } = await verifyStore(viewOf(store, damage.view(store)));
        assert.equal(sound, false, "the damage went unnoticed");
        assert.ok(
          problems.some((problem) =>
            problem.space === (damage.space ?? SPACE) && problem.segment === damage.segment &&
            problem.sequence === damage.sequence && problem.problem.includes(damage.says)
          ),
          `no problem at ${damage.segment}#${damage.sequence} says "${damage.says}":\n${
            describe(problems)
          }`,
        );
      });
    }
  });
});

Deno.test("verifyStore (memory): passes of any size find the same problems", async () => {
  await withMemoryStore(async (store) => {
    const damaged = viewOf(store, {
      // SIBLING falls in the range of names of the second of two one-segment passes.
      getSegments: (space, options) => {
        const segments = store.getSegments(space, options);
        return space === SPACE ? without(segments, SIBLING) : segments;
      },
      consumeSpace: (args) =>
        mapEntries(store.consumeSpace(args), (entry) => {
          if (entry.space !== SPACE || entry.segment !== SEGMENT) return entry;
          if (entry.sequence === INNER) return undefined;
          if (entry.sequence === INNER + 2) return { ...entry, trx: { ...entry.trx, number: 99 } };
          return entry;
        }),
    });
    const report = await verifyStore(damaged);
    assert.deepEqual(
      sorted(report.problems),
      sorted([
        {
          space: SPACE,
          segment: SEGMENT,
          sequence: INNER,
          problem: `#${INNER} missing from the space index (it goes from #${INNER - 1} to #${
            INNER + 1
          })`,
        },
        {
          space: SPACE,
          segment: SEGMENT,
          sequence: INNER + 2,
          problem:
            "the indexes hold different entries (segment index vs space index): trx number 2 vs 99",
        },
        {
          space: SPACE,
          segment: SIBLING,
          problem: "the space index holds entries of it (#1..#7), but getSegments does not list it",
        },
      ]),
    );
    assert.equal(report.sound, false);
    assert.equal(report.segments, SEGMENT_COUNT);
    assert.equal(report.entries, ENTRY_COUNT);
    for (const segmentsPerPass of [1, 2, 3]) {
      const inPasses = await verifyStoreInPasses(damaged, {}, segmentsPerPass);
      assert.deepEqual(sorted(inPasses.problems), sorted(report.problems), `${segmentsPerPass}`);
      assert.equal(inPasses.segments, SEGMENT_COUNT);
    }
  });
});

Deno.test("verifyStore (memory): maxProblems lists so many and says how many more", async () => {
  await withMemoryStore(async (store) => {
    // No space index at all: each segment is one problem.
    const damaged = viewOf(store, {
      consumeSpace: (args) => mapEntries(store.consumeSpace(args), () => undefined),
    });
    const full = await verifyStore(damaged);
    assert.equal(full.problems.length, SEGMENT_COUNT);
    const capped = await verifyStore(damaged, { maxProblems: 3 });
    assert.equal(capped.sound, false);
    assert.deepEqual(capped.problems.slice(0, 3), full.problems.slice(0, 3));
    const { problem, ...where } = capped.problems[3];
    const { problem: firstLeftOut, ...firstWhere } = full.problems[3];
    assert.deepEqual(where, firstWhere);
    assert.equal(
      problem,
      `${
        SEGMENT_COUNT - 3
      } more problems not listed (maxProblems 3); the first of them: ${firstLeftOut}`,
    );
    const none = await verifyStore(damaged, { maxProblems: 0 });
    assert.equal(none.problems.length, 1);
    assert.match(none.problems[0].problem, new RegExp(`^${SEGMENT_COUNT} more problems`));
    await assert.rejects(
      verifyStore(store, { maxProblems: -1 }),
      (error) => error instanceof StreamkitError && error.kind === "InvalidArgument",
    );
  });
});

Deno.test("verifyStore (memory): onProgress every 1,000 entries read and at the end", async () => {
  await using factory = new MemoryStoreFactory();
  const store = await factory.newStore(crypto.randomUUID());
  for (const segment of ["one", "two", "three"]) {
    const records = Array.from({ length: 900 }, (_, i) => ({
      sequence: i + 1,
      payload: new Uint8Array([i & 0xff, 7]),
    }));
    for await (const _ of store.produce({ space: "progress", segment }, records));
  }
  const calls: VerifyProgress[] = [];
  const report = await verifyStore(store, { onProgress: (progress) => calls.push(progress) });
  assert.equal(report.sound, true);
  // 2,700 entries read from the segment indexes and 2,700 from the space index: 5 calls, then
  // the last.
  assert.equal(calls.length, 6);
  for (let i = 1; i < calls.length; i++) {
    for (const count of ["spaces", "segments", "entries", "bytes"] as const) {
      assert.ok(calls[i][count] >= calls[i - 1][count], `${count} went down`);
    }
  }
  assert.deepEqual(calls.at(-1), { spaces: 1, segments: 3, entries: 2_700, bytes: 5_400 });
  const { spaces, segments, entries, bytes } = report;
  assert.deepEqual(calls.at(-1), { spaces, segments, entries, bytes });
});

Deno.test("verifyStore (memory): an abort ends the check with the signal's reason", async () => {
  await withMemoryStore(async (store) => {
    const reason = new Error("enough");
    await assert.rejects(verifyStore(store, { signal: AbortSignal.abort(reason) }), (error) => {
      assert.equal(error, reason);
      return true;
    });
    // Aborted midway: after the first segment of the first space.
    const controller = new AbortController();
    let segmentsChecked = 0;
    const aborting = viewOf(store, {
      consumeSegment: (args) => {
        if (++segmentsChecked === 2) controller.abort(reason);
        return store.consumeSegment(args);
      },
    });
    await assert.rejects(verifyStore(aborting, { signal: controller.signal }), (error) => {
      assert.equal(error, reason);
      return true;
    });
  });
});

for (
  const [driver, withTarget] of [["level", withLevelTarget], ["azure", withAzureTarget]] as const
) {
  Deno.test(
    `verifyStore (${driver}): sound, then each kind of damage found`,
    (t) =>
      withTarget(CHUNK_RECORDS, async ({ openFactory, openStorage }) => {
        for (const damage of DAMAGES) {
          await t.step(damage.name, () => assertVerifyFinds(openFactory, openStorage, damage));
        }
      }),
  );
}
