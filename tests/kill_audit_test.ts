// The kill tests can only fail through their audit: this checks that the audit fails, naming the
// damage, on stores damaged directly in their storage (tests/KILL_TESTS.md).

import assert from "node:assert/strict";
import type { Entry, Store, StoreFactory } from "../core/mod.ts";
import { collect } from "../core/_test_util.ts";
import {
  type RawStorage,
  withAzureTarget,
  withLevelTarget,
  withStoreOfNewFactory,
} from "./_raw_storage.ts";
import { KillAudit } from "./_kill_audit.ts";
import { KILL_SPACES, killPayload, type Line, where } from "./_kill_protocol.ts";
import { absorb, newTracks } from "./_kill_tracks.ts";

const SPACE = KILL_SPACES[0];
/** The segment that is damaged. */
const SEGMENT = "a";
/** A second segment of the space, left whole (but for the inventory damage). */
const OTHER_SEGMENT = "ab";
/** Small chunks, so a few dozen records make several. */
const CHUNK_RECORDS = 10;
/** SEGMENT's one produce: chunks #1–10, #11–20, #21–30 and a shorter last one, #31–35. */
const SEGMENT_RECORDS = 35;
const LAST_CHUNK_FIRST = 31;
const OTHER_RECORDS = 7;
/**
 * An entry inside a chunk that is not the last: no fanout ever writes its rows again (on Azure a
 * reader repeats the fanout of a last chunk whose head the writer left marked pending).
 */
const INNER = 12;

/** A kind of damage to SEGMENT, and what the audit's failure message must say about it. */
interface Damage {
  name: string;
  /** Makes the damage, given SEGMENT's intact entries (#n at index n - 1). */
  make(storage: RawStorage, entries: readonly Entry[]): Promise<void>;
  expected: string;
}

/** Deletes `entries` from the segment index and the space index. */
async function deleteFromBothIndexes(
  storage: RawStorage,
  entries: readonly Entry[],
): Promise<void> {
  for (const entry of entries) {
    await storage.deleteFromSegmentIndex(entry);
    await storage.deleteFromSpaceIndex(entry);
  }
}

const DAMAGES: readonly Damage[] = [
  {
    name: "an acknowledged last chunk lost from both indexes",
    make: (storage, entries) => deleteFromBothIndexes(storage, entries.slice(LAST_CHUNK_FIRST - 1)),
    expected: `${where(SPACE, SEGMENT)}: acknowledged up to ${SEGMENT_RECORDS}, stored up to ${
      LAST_CHUNK_FIRST - 1
    }`,
  },
  {
    name: "a partial last chunk: its last two entries gone from both indexes",
    make: (storage, entries) => deleteFromBothIndexes(storage, entries.slice(-2)),
    // The last chunk is SEGMENT's fourth, so its trx number is 4.
    expected: `${
      where(SPACE, SEGMENT, LAST_CHUNK_FIRST)
    }: stored chunk of trx 4 has 3 entries, its produce's chunk 5 (partial chunk?)`,
  },
  {
    name: "an entry missing from the space index",
    make: (storage, entries) => storage.deleteFromSpaceIndex(entries[INNER - 1]),
    expected: `${
      where(SPACE, SEGMENT, INNER + 1)
    }: in the space index, but the segment index has #${INNER} next`,
  },
  {
    name: "an entry missing from the segment index",
    make: (storage, entries) => storage.deleteFromSegmentIndex(entries[INNER - 1]),
    expected: `${where(SPACE, SEGMENT, INNER + 1)}: gap or disorder after ${INNER - 1}`,
  },
  {
    name: "an entry's value in the segment index overwritten with its predecessor's",
    make: (storage, entries) => storage.putInSegmentIndex(entries[INNER - 2], INNER),
    // A value holds its entry's sequence: the overwritten entry reads as a second predecessor.
    expected: `${where(SPACE, SEGMENT, INNER - 1)}: gap or disorder after ${INNER - 1}`,
  },
  {
    name: "a segment missing from the segment inventory",
    make: (storage) => storage.deleteFromSegmentInventory(SPACE, OTHER_SEGMENT),
    expected: `getSegments(${JSON.stringify(SPACE)}) vs data`,
  },
];

/** Produces to SEGMENT and OTHER_SEGMENT as a kill test's child does; returns its output. */
async function produceLikeAChild(store: Store): Promise<Line[]> {
  const lines: Line[] = [];
  const produces = [[SEGMENT, SEGMENT_RECORDS], [OTHER_SEGMENT, OTHER_RECORDS]] as const;
  for (const [segment, count] of produces) {
    lines.push({ type: "intent", space: SPACE, segment, from: 1, count });
    const records = Array.from({ length: count }, (_, i) => ({
      sequence: i + 1,
      payload: killPayload(SPACE, segment, i + 1),
    }));
    for await (const status of store.produce({ space: SPACE, segment }, records)) {
      lines.push({ type: "ack", ...status });
    }
  }
  return lines;
}

/** A full audit of `store` against the child output `lines`, as a kill test runs it. */
async function audit(store: Store, lines: readonly Line[]): Promise<void> {
  // Fresh tracks for every audit: an audit uses up the acknowledged statuses it matches.
  const tracks = newTracks();
  absorb(lines, tracks, store.limits.maxChunkRecords);
  await new KillAudit([...tracks.values()]).run(store, true);
}

/**
 * Writes a new store, audits it (it must pass), makes `damage` in its storage while no factory
 * has it open, and audits it again: that audit must fail with an assertion that says what
 * `damage` expects. Every audit opens its own factory, as after a kill.
 */
async function assertAuditCatches(
  openFactory: () => StoreFactory,
  openStorage: (storeId: string) => Promise<RawStorage & AsyncDisposable>,
  damage: Damage,
): Promise<void> {
  const storeId = crypto.randomUUID();
  const lines = await withStoreOfNewFactory(openFactory, storeId, produceLikeAChild);
  // The intact audit's factory is not the writer's, so on Azure its head reads also complete the
  // fanouts the writer left marked pending and clear the marks: no later read repairs the damage.
  const entries = await withStoreOfNewFactory(openFactory, storeId, async (store) => {
    await audit(store, lines);
    return await collect(store.consumeSegment({ space: SPACE, segment: SEGMENT }));
  });
  assert.equal(entries.length, SEGMENT_RECORDS);
  {
    await using storage = await openStorage(storeId);
    await damage.make(storage, entries);
  }
  await assert.rejects(
    withStoreOfNewFactory(openFactory, storeId, (store) => audit(store, lines)),
    (error) => {
      assert.ok(error instanceof assert.AssertionError, `not an audit failure: ${error}`);
      assert.ok(
        error.message.includes(damage.expected),
        `the audit failed, but not on the damage: ${error.message}`,
      );
      return true;
    },
  );
}

for (
  const [driver, withTarget] of [["level", withLevelTarget], ["azure", withAzureTarget]] as const
) {
  Deno.test(
    `kill audit (${driver}): passes on an intact store, fails on each kind of damage`,
    (t) =>
      withTarget(CHUNK_RECORDS, async ({ openFactory, openStorage }) => {
        for (const damage of DAMAGES) {
          await t.step(damage.name, () => assertAuditCatches(openFactory, openStorage, damage));
        }
      }),
  );
}
