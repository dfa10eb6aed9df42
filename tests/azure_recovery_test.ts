// Crash recovery of the Azure driver (drivers/azure/PROTOCOL.md I8, I10, I12): a commit-step hook
// "crashes" a writer after each step, for a segment's first chunk and a later one; recovery by a
// fresh `newStore`, by the sweep, or by the next produce must leave the chunk wholly there iff its
// commit point passed, nothing pending, and the segment going on. Markers that can never apply,
// and a crash during recovery, must not block startup.

import assert from "node:assert/strict";
import type { TableClient } from "@azure/data-tables";
import { encodeFirst, i64, type Store, toHex } from "../core/mod.ts";
import { collect, waitFor } from "../core/_test_util.ts";
import type { AzureStoreFactory, AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import {
  type Azurite,
  type CommitStep,
  HEAD_ROW,
  MARKER_PARTITION,
  segmentPartition,
  setCommitStepHook,
  startAzurite,
} from "../drivers/azure/_test_support.ts";
import { azuriteFactory, numberedPayload, produceNumbered } from "./_azure_test_store.ts";
import {
  auditBothIndexes,
  directTable,
  markerKeys,
  unfinishedPendingHeads,
} from "./_azure_inspect.ts";

const STEPS: readonly CommitStep[] = [
  "marker",
  "commit",
  "space-rows",
  "inventory",
  "marker-deleted",
  "completed",
];
/** Steps after which the chunk is committed (the commit point is the "commit" step). */
const COMMITTED: ReadonlySet<CommitStep> = new Set(STEPS.slice(1));
/**
 * Steps after which the head marks the chunk's fanout as pending and unfinished (its marker is
 * still there). A writer that completes its own fanout leaves the mark (the next commit replaces
 * the head; other readers and recovery repeat the idempotent fanout and clear it), so the tests
 * check the guarantee that matters: no mark whose fanout is unfinished.
 */
const HEAD_PENDING: ReadonlySet<CommitStep> = new Set<CommitStep>([
  "commit",
  "space-rows",
  "inventory",
]);
/** Steps after which the writer's pending marker is still there. */
const MARKER_LEFT: ReadonlySet<CommitStep> = new Set<CommitStep>([
  "marker",
  "commit",
  "space-rows",
  "inventory",
]);

const SPACE = "orders";
/** The segment the crashed chunk goes to, and another one of the same space. */
const SEGMENT = "s1";
const OTHER = "s0";
const OTHER_COUNT = 10;
/** Entries of SEGMENT before the crashed chunk, in the "later" variant. */
const BASE = 50;
/** The crashed chunk's size: one chunk (≤ 90 records). */
const CHUNK = 60;
const PREFIX = "recov";

class SimulatedCrash extends Error {
  constructor(readonly step: CommitStep) {
    super(`simulated crash after step ${step}`);
    this.name = "SimulatedCrash";
  }
}

async function produce(store: Store, segment: string, from: number, count: number) {
  return await produceNumbered(store, SPACE, segment, from, count);
}

interface Expectation {
  /** The last sequence of SEGMENT (0: no entries). */
  last: number;
  /** The trx number of SEGMENT's last chunk. */
  trxNumber: number;
}

/**
 * Checks a store against what must be there: SEGMENT holds exactly 1..last with the expected
 * payloads and chunk grouping, both indexes agree, status, peek and the inventory agree, and
 * the table holds no pending head (and no marker unless `markersLeft`).
 */
async function assertStoreHolds(
  store: Store,
  table: TableClient,
  expected: Expectation,
  markersLeft = 0,
): Promise<void> {
  const segments = await auditBothIndexes(store, SPACE, [OTHER, SEGMENT]);
  const entries = segments.get(SEGMENT)!;
  assert.deepEqual(
    entries.map((entry) => entry.sequence),
    Array.from({ length: expected.last }, (_, i) => i + 1),
    "SEGMENT's sequences",
  );
  for (const entry of entries) {
    assert.deepEqual(
      entry.payload,
      numberedPayload(SEGMENT, entry.sequence),
      `#${entry.sequence}`,
    );
  }
  // Chunks are whole: entries group by trx into runs with consecutive numbers.
  const numbers = [...new Set(entries.map((entry) => entry.trx.number))];
  assert.deepEqual(numbers, Array.from({ length: expected.trxNumber }, (_, i) => i + 1));
  assert.equal(segments.get(OTHER)!.length, OTHER_COUNT);

  const status = await store.getSegmentStatus(SPACE, SEGMENT);
  const peeked = await store.peek(SPACE, SEGMENT);
  if (expected.last === 0) {
    assert.equal(status, undefined);
    assert.equal(peeked, undefined);
  } else {
    assert.equal(status?.lastSequence, expected.last);
    assert.equal(status?.lastTimestamp, entries.at(-1)!.timestamp);
    assert.equal(status?.firstTimestamp, entries[0].timestamp);
    assert.deepEqual(peeked, entries.at(-1));
  }
  assert.deepEqual(await collect(store.getSpaces()), [SPACE]);
  assert.deepEqual(
    await collect(store.getSegments(SPACE)),
    expected.last > 0 ? [OTHER, SEGMENT] : [OTHER],
  );
  assert.deepEqual(await unfinishedPendingHeads(table), [], "heads owing a fanout");
  assert.equal((await markerKeys(table)).length, markersLeft, "pending markers left");
}

/** The next produce continues at the right sequence, with the next trx number. */
async function continues(store: Store, table: TableClient, expected: Expectation): Promise<void> {
  const statuses = await produce(store, SEGMENT, expected.last + 1, 5);
  assert.equal(statuses.at(-1)?.lastSequence, expected.last + 5);
  const last = await store.peek(SPACE, SEGMENT);
  assert.equal(last?.trx.number, expected.trxNumber + 1);
  await assertStoreHolds(store, table, {
    last: expected.last + 5,
    trxNumber: expected.trxNumber + 1,
  });
}

type Variant = "first" | "later";
type Recovery = "newStore" | "sweep" | "next-produce";

// ---------------------------------------------------------------------------------------------

const azurite: Azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

function factory(options: Partial<AzureStoreFactoryOptions> = {}): AzureStoreFactory {
  return azuriteFactory(azurite, PREFIX, options);
}

/** A factory whose hook throws once, after `step`; it records the steps it saw. */
function crashingFactory(
  step: CommitStep,
  seen: CommitStep[],
  options: Partial<AzureStoreFactoryOptions> = {},
): AzureStoreFactory {
  let armed = true;
  const crashing = factory(options);
  setCommitStepHook(crashing, (current) => {
    seen.push(current);
    if (armed && current === step) {
      armed = false;
      throw new SimulatedCrash(step);
    }
  });
  return crashing;
}

/**
 * A fresh factory's newStore recovers the store to `expected`, leaving no marker (checked before
 * any read through the store, which could resolve markers itself); the next produce continues it.
 */
async function recoversTo(
  storeId: string,
  table: TableClient,
  expected: Expectation,
  options: Partial<AzureStoreFactoryOptions> = {},
): Promise<void> {
  const recovering = factory(options);
  try {
    const store = await recovering.newStore(storeId);
    assert.deepEqual(await markerKeys(table), [], "markers left by newStore's recovery");
    await assertStoreHolds(store, table, expected);
    await continues(store, table, expected);
  } finally {
    await recovering.close();
  }
}

/** Sets up a store, crashes a commit after `step`, and checks the table the crash left. */
async function crash(
  storeId: string,
  step: CommitStep,
  variant: Variant,
): Promise<{ table: TableClient; before: Expectation; after: Expectation }> {
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  const setup = factory();
  try {
    const store = await setup.newStore(storeId);
    await produce(store, OTHER, 1, OTHER_COUNT);
    if (variant === "later") await produce(store, SEGMENT, 1, BASE);
  } finally {
    await setup.close();
  }
  if (variant === "later") {
    // A writer leaves the mark of its own completed fanout on the head (the next commit replaces
    // it). Another instance's head read repeats that fanout and clears the mark: do it here, so
    // the crashing instance's head read runs no fanout steps (and its hook fires in the commit).
    const markClearer = factory();
    try {
      await (await markClearer.newStore(storeId)).getSegmentStatus(SPACE, SEGMENT);
    } finally {
      await markClearer.close();
    }
  }
  const before: Expectation = variant === "later"
    ? { last: BASE, trxNumber: 1 }
    : { last: 0, trxNumber: 0 };
  const seen: CommitStep[] = [];
  const crashed = crashingFactory(step, seen);
  try {
    const store = await crashed.newStore(storeId);
    await assert.rejects(produce(store, SEGMENT, before.last + 1, CHUNK), SimulatedCrash);
  } finally {
    await crashed.close();
  }
  assert.deepEqual(seen, STEPS.slice(0, STEPS.indexOf(step) + 1), "steps run before the crash");
  assert.equal((await markerKeys(table)).length, MARKER_LEFT.has(step) ? 1 : 0, "markers");
  assert.equal(
    (await unfinishedPendingHeads(table)).length,
    HEAD_PENDING.has(step) ? 1 : 0,
    "pending",
  );
  const after = COMMITTED.has(step)
    ? { last: before.last + CHUNK, trxNumber: before.trxNumber + 1 }
    : before;
  return { table, before, after };
}

async function scenario(step: CommitStep, variant: Variant, recovery: Recovery): Promise<void> {
  const storeId = crypto.randomUUID();
  // The survivors are opened before the crash, so their own newStore recovery runs too early.
  const survivor = recovery === "newStore"
    ? undefined
    : factory(recovery === "sweep" ? { sweepIntervalMs: 200, abandonedMarkerMs: 0 } : {});
  try {
    // Create the table first, so the survivor can open the store before the crash.
    const survivorStore = survivor && await survivor.newStore(storeId);
    const { table, after } = await crash(storeId, step, variant);

    if (recovery === "newStore") {
      // With the default abandonedMarkerMs (2 s) a young marker is kept, committed or not: its
      // writer may still be at work, and fencing its head would fail its next commit.
      const patient = factory();
      try {
        await patient.newStore(storeId);
        assert.equal(
          (await unfinishedPendingHeads(table)).length,
          HEAD_PENDING.has(step) ? 1 : 0,
        );
        assert.equal((await markerKeys(table)).length, MARKER_LEFT.has(step) ? 1 : 0);
      } finally {
        await patient.close();
      }
      await recoversTo(storeId, table, after, { abandonedMarkerMs: 0 });
      return;
    }

    if (recovery === "sweep") {
      // Watch the table only: reading through the store would finish the fanout itself.
      await waitFor(
        "the sweep",
        async () =>
          (await markerKeys(table)).length === 0 &&
          (await unfinishedPendingHeads(table)).length === 0,
      );
      await assertStoreHolds(survivorStore!, table, after);
      await continues(survivorStore!, table, after);
      return;
    }

    // next-produce: the survivor's next chunk of SEGMENT; its head read finishes the fanout.
    const statuses = await produce(survivorStore!, SEGMENT, after.last + 1, 5);
    assert.equal(statuses.at(-1)?.lastSequence, after.last + 5);
    const next = { last: after.last + 5, trxNumber: after.trxNumber + 1 };
    assert.equal((await survivorStore!.peek(SPACE, SEGMENT))?.trx.number, next.trxNumber);
    if (COMMITTED.has(step)) {
      await assertStoreHolds(survivorStore!, table, next);
    } else {
      // The crashed writer's marker is younger than abandonedMarkerMs: it stays, and readers
      // of the space stop below its timestamp (the writer might still commit there).
      assert.equal((await markerKeys(table)).length, 1);
      const timeline = await collect(survivorStore!.consumeSpace({ space: SPACE }));
      assert.ok(
        !timeline.some((entry) => entry.segment === SEGMENT && entry.sequence > after.last),
        "a reader went past a pending marker",
      );
      const recovering = factory({ abandonedMarkerMs: 0 });
      try {
        await assertStoreHolds(await recovering.newStore(storeId), table, next);
      } finally {
        await recovering.close();
      }
    }
  } finally {
    await survivor?.close();
  }
}

for (const recovery of ["newStore", "sweep", "next-produce"] as const) {
  Deno.test(`azure recovery: a crash after each commit step, recovered by ${recovery}`, async (t) => {
    for (const step of STEPS) {
      for (const variant of ["first", "later"] as const) {
        await t.step(`${step}, ${variant} chunk`, () => scenario(step, variant, recovery));
      }
    }
  });
}

Deno.test("azure recovery: markers that can never apply do not block startup and are cleaned", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  // A reader opened before the bad markers appear (its own recovery has run already).
  const reader = factory();
  try {
    const readerStore = await reader.newStore(storeId);
    await produce(readerStore, OTHER, 1, OTHER_COUNT);
    await produce(readerStore, SEGMENT, 1, BASE);

    // A loser's marker: its writer wrote it and crashed; then another writer took its sequences.
    const crashed = crashingFactory("marker", []);
    try {
      const store = await crashed.newStore(storeId);
      await assert.rejects(produce(store, SEGMENT, BASE + 1, CHUNK), SimulatedCrash);
    } finally {
      await crashed.close();
    }
    await produce(readerStore, SEGMENT, BASE + 1, 7);
    // A garbage marker in the space's marker range, dated before every entry, and a row in the
    // marker partition that is no marker at all: neither can ever apply.
    const garbage = `${toHex(encodeFirst(SPACE))}${toHex(i64(1).bytes)}${"ab".repeat(16)}`;
    await table.upsertEntity({
      partitionKey: MARKER_PARTITION,
      rowKey: garbage,
      createdAt: String(Date.now()),
      v0: new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]),
    });
    await table.upsertEntity({ partitionKey: MARKER_PARTITION, rowKey: "zz", note: "no marker" });
    assert.equal((await markerKeys(table)).length, 3);
    // While the garbage marker is there, readers of the space stop below its timestamp: 1 ms.
    assert.deepEqual(await collect(readerStore.consumeSpace({ space: SPACE })), []);

    // A fresh factory with the default abandonedMarkerMs (2 s): all three are young, but none
    // can ever apply, so newStore resolves and deletes them.
    await recoversTo(storeId, table, { last: BASE + 7, trxNumber: 2 });
    assert.equal(
      (await collect(readerStore.consumeSpace({ space: SPACE }))).length,
      OTHER_COUNT + BASE + 7 + 5,
    );
  } finally {
    await reader.close();
  }
});

Deno.test("azure recovery: a crash during recovery does not block startup; the next one finishes", async () => {
  const storeId = crypto.randomUUID();
  const { table, after } = await crash(storeId, "commit", "later");
  // The first recovering instance "crashes" itself half-way through the fanout it completes.
  const seen: CommitStep[] = [];
  const crashing = crashingFactory("space-rows", seen, { abandonedMarkerMs: 0 });
  try {
    const store = await crashing.newStore(storeId);
    assert.deepEqual(seen, ["space-rows"], "recovery ran the fanout and crashed in it");
    assert.equal((await markerKeys(table)).length, 1, "the marker stays for the next recovery");
    assert.equal((await unfinishedPendingHeads(table)).length, 1);
    // Its store works: the segment's next head read completes the fanout (the hook is spent).
    assert.equal((await store.getSegmentStatus(SPACE, SEGMENT))?.lastSequence, after.last);
    await assertStoreHolds(store, table, after);
  } finally {
    await crashing.close();
  }
  await recoversTo(storeId, table, after, { abandonedMarkerMs: 0 });
});

Deno.test("azure recovery: opening a store leaves a live writer's young marker alone", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  // The writer stops after its commit point, its marker and its head's pending mark still there:
  // what another process opening the store meanwhile finds of any live writer.
  let resume!: () => void;
  const paused = new Promise<void>((resolve) => resume = resolve);
  let reached!: () => void;
  const atCommit = new Promise<void>((resolve) => reached = resolve);
  const writer = factory();
  const seen: CommitStep[] = [];
  setCommitStepHook(writer, async (step) => {
    seen.push(step);
    if (step === "commit" && seen.filter((s) => s === "commit").length === 2) {
      reached();
      await paused;
    }
  });
  try {
    const store = await writer.newStore(storeId);
    await produce(store, SEGMENT, 1, 5);
    const second = produce(store, SEGMENT, 6, 5);
    await atCommit;
    const headBefore = await table.getEntity(segmentPartition(SPACE, SEGMENT), HEAD_ROW);
    const markersBefore = await markerKeys(table);
    assert.ok(markersBefore.length > 0, "the second chunk's marker");
    const opener = factory();
    try {
      await opener.newStore(storeId);
    } finally {
      await opener.close();
    }
    const headAfter = await table.getEntity(segmentPartition(SPACE, SEGMENT), HEAD_ROW);
    assert.equal(headAfter.etag, headBefore.etag, "the head is not fenced");
    assert.deepEqual(await markerKeys(table), markersBefore, "the marker is left");
    resume();
    await second;
    // The third chunk commits over the head the second left, at its first attempt.
    await produce(store, SEGMENT, 11, 5);
    assert.deepEqual(
      seen.filter((step) => step === "marker").length,
      3,
      "one marker per chunk: no commit was fenced and tried again",
    );
    assert.equal((await store.getSegmentStatus(SPACE, SEGMENT))?.lastSequence, 15);
  } finally {
    resume();
    await writer.close();
  }
});
