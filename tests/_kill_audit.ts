// The audit of a kill test's store, through the store's API, against what the children were
// acknowledged: checks a to d of tests/KILL_TESTS.md, in full or from where the last audit
// stopped.

import assert from "node:assert/strict";
import { compareKeys, type Entry, spaceOffset, type Store } from "../core/mod.ts";
import { collect, equalBytes } from "../core/_test_util.ts";
import { KILL_SPACES, killPayload, where } from "./_kill_protocol.ts";
import { type Audited, freshAudited, type Track } from "./_kill_tracks.ts";

const NIL_NODE = "00000000-0000-0000-0000-000000000000";
const utf8 = new TextEncoder();

/** What one audit read. */
export interface AuditStats {
  entries: number;
  chunks: number;
  maxChunk: number;
}

/** A chunk as the audit reads it: consecutive entries of one trx. */
interface Group {
  start: number;
  size: number;
  trxId: string;
  trxNumber: number;
  timestamp: number;
}

/** `assert.ok` with a message built only on failure (the audit checks millions of entries). */
function expect(ok: boolean, message: () => string): asserts ok {
  if (!ok) assert.fail(message());
}

/** Reads one segment's index from its audited end and checks every entry as it comes (a, b). */
class SegmentAudit {
  readonly track: Track;
  #entries: AsyncIterator<Entry>;
  #state: Audited;
  #group: Group | undefined;
  #stats: AuditStats;

  constructor(store: Store, track: Track, stats: AuditStats) {
    this.track = track;
    this.#state = track.audited;
    this.#stats = stats;
    this.#entries = store.consumeSegment({
      space: track.space,
      segment: track.segment,
      minSequence: track.audited.end + 1,
    })[Symbol.asyncIterator]();
  }

  /** The segment index's next entry, checked; `undefined` at its end. */
  async next(): Promise<Entry | undefined> {
    const result = await this.#entries.next();
    if (result.done) return undefined;
    this.#check(result.value);
    return result.value;
  }

  #check(entry: Entry): void {
    const { space, segment } = this.track;
    const state = this.#state;
    const at = () => where(space, segment, entry.sequence);
    // Messages are built only on failure: this runs for every stored entry.
    expect(entry.space === space && entry.segment === segment, () => `${at()}: space/segment`);
    expect(entry.sequence === state.end + 1, () => `${at()}: gap or disorder after ${state.end}`);
    expect(
      equalBytes(entry.payload, killPayload(space, segment, entry.sequence)),
      () => `${at()}: payload differs from what was produced`,
    );
    expect(Object.keys(entry.metadata).length === 0, () => `${at()}: metadata`);
    expect(entry.trx.node === NIL_NODE, () => `${at()}: trx.node`);
    const group = this.#group;
    if (group !== undefined && entry.trx.id === group.trxId) {
      expect(entry.trx.number === group.trxNumber, () => `${at()}: trx.number within its chunk`);
      expect(entry.timestamp === group.timestamp, () => `${at()}: timestamp within its chunk`);
      group.size++;
    } else {
      if (group !== undefined) this.#closeGroup(group);
      expect(!state.trxIds.has(entry.trx.id), () => `${at()}: trx of an earlier chunk reused`);
      expect(
        entry.trx.number === state.trxNumber + 1,
        () => `${at()}: trx.number ${entry.trx.number} of a new chunk after ${state.trxNumber}`,
      );
      expect(entry.timestamp >= state.timestamp, () => `${at()}: timestamp went back`);
      state.trxIds.add(entry.trx.id);
      state.trxNumber = entry.trx.number;
      state.timestamp = entry.timestamp;
      this.#group = {
        start: entry.sequence,
        size: 1,
        trxId: entry.trx.id,
        trxNumber: entry.trx.number,
        timestamp: entry.timestamp,
      };
    }
    if (entry.sequence === 1) state.firstTimestamp = entry.timestamp;
    state.end = entry.sequence;
    state.last = entry;
    this.#stats.entries++;
  }

  /** A stored chunk must be one the announced produces are cut into, whole (b). */
  #closeGroup(group: Group): void {
    const { space, segment, predicted, acks } = this.track;
    const end = group.start + group.size - 1;
    const expected = predicted.get(group.start);
    assert.ok(
      expected !== undefined,
      `${
        where(space, segment, group.start)
      }: a stored chunk starts here, but no produce's chunk does`,
    );
    assert.equal(
      group.size,
      expected,
      `${
        where(space, segment, group.start)
      }: stored chunk of trx ${group.trxNumber} has ${group.size} entries, its produce's chunk ${expected} (partial chunk?)`,
    );
    const ack = acks.get(end);
    if (ack !== undefined) {
      assert.deepEqual(ack, {
        space,
        segment,
        firstSequence: 1,
        firstTimestamp: this.#state.firstTimestamp,
        lastSequence: end,
        lastTimestamp: group.timestamp,
      }, `${where(space, segment, end)}: acknowledged status vs stored chunk`);
      acks.delete(end);
    }
    this.#stats.chunks++;
    this.#stats.maxChunk = Math.max(this.#stats.maxChunk, group.size);
  }

  /** Ends the read: the last chunk is whole, acks are all stored, status and peek agree (a, d). */
  async finish(store: Store): Promise<void> {
    const { space, segment, acks } = this.track;
    if (this.#group !== undefined) this.#closeGroup(this.#group);
    this.#group = undefined;
    const state = this.#state;
    assert.ok(
      state.end >= this.track.maxAcked,
      `${
        where(space, segment)
      }: acknowledged up to ${this.track.maxAcked}, stored up to ${state.end}`,
    );
    assert.deepEqual(
      [...acks.keys()],
      [],
      `${where(space, segment)}: acknowledged statuses that end no stored chunk`,
    );
    const status = await store.getSegmentStatus(space, segment);
    const peeked = await store.peek(space, segment);
    if (state.end === 0) {
      assert.equal(status, undefined, `${where(space, segment)}: status of an empty segment`);
      assert.equal(peeked, undefined, `${where(space, segment)}: peek of an empty segment`);
      return;
    }
    assert.deepEqual(status, {
      space,
      segment,
      firstSequence: 1,
      firstTimestamp: state.firstTimestamp,
      lastSequence: state.end,
      lastTimestamp: state.timestamp,
    }, `${where(space, segment)}: getSegmentStatus vs data`);
    assert.deepEqual(peeked, state.last, `${where(space, segment)}: peek vs last entry`);
  }
}

/** Whether `a` comes strictly before `b` in space-offset byte order. */
function inSpaceOrder(a: Entry, b: Entry): boolean {
  // Within one segment the offsets differ only in the fixed-width timestamp and sequence parts;
  // across segments compare the offsets themselves (cheap enough: this is once per chunk).
  if (a.segment !== b.segment) return compareKeys(spaceOffset(a), spaceOffset(b)) < 0;
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.sequence < b.sequence);
}

/**
 * Audits one space: walks its space index (from `cursor`, or whole) and, entry by entry, the
 * segment indexes of its segments (from their audited ends) in lockstep, so both indexes must
 * hold the same entries in the same order (c). Returns the new cursor.
 */
async function auditSpace(
  store: Store,
  space: string,
  tracks: readonly Track[],
  cursor: Uint8Array | undefined,
  stats: AuditStats,
): Promise<Uint8Array | undefined> {
  const audits = new Map<string, SegmentAudit>();
  for (const track of tracks) audits.set(track.segment, new SegmentAudit(store, track, stats));
  let previous: Entry | undefined;
  for await (const entry of store.consumeSpace({ space, offset: cursor })) {
    const at = () => where(space, entry.segment, entry.sequence);
    expect(
      previous === undefined
        ? cursor === undefined || compareKeys(cursor, spaceOffset(entry)) < 0
        : inSpaceOrder(previous, entry),
      () => `${at()}: space index out of order`,
    );
    previous = entry;
    const audit = audits.get(entry.segment);
    expect(audit !== undefined, () => `${at()}: space index holds an entry of an unknown segment`);
    const twin = await audit.next();
    expect(twin !== undefined, () => `${at()}: in the space index but not in the segment index`);
    expect(
      entry.space === space && entry.sequence === twin.sequence,
      () => `${at()}: in the space index, but the segment index has #${twin.sequence} next`,
    );
    expect(
      entry.timestamp === twin.timestamp && entry.trx.id === twin.trx.id &&
        entry.trx.number === twin.trx.number && entry.trx.node === twin.trx.node &&
        equalBytes(entry.payload, twin.payload) && Object.keys(entry.metadata).length === 0,
      () =>
        `${at()}: space index and segment index differ: ${
          Deno.inspect({ space: entry, segment: twin })
        }`,
    );
  }
  for (const audit of audits.values()) {
    const extra = await audit.next();
    if (extra !== undefined) {
      assert.fail(
        `${
          where(space, extra.segment, extra.sequence)
        }: in the segment index but not in the space index`,
      );
    }
    await audit.finish(store);
  }
  return previous === undefined ? cursor : spaceOffset(previous);
}

function byUtf8(a: string, b: string): number {
  return compareKeys(utf8.encode(a), utf8.encode(b));
}

/** Checks the inventory: exactly the spaces and segments with data, in UTF-8 byte order (d). */
async function auditInventory(store: Store, tracks: readonly Track[]): Promise<void> {
  const withData = tracks.filter((track) => track.audited.end > 0);
  const spaces = [...new Set(withData.map((track) => track.space))].sort(byUtf8);
  assert.deepEqual(await collect(store.getSpaces()), spaces, "getSpaces vs data");
  for (const space of KILL_SPACES) {
    const segments = withData.filter((track) => track.space === space).map((track) => track.segment)
      .sort(byUtf8);
    assert.deepEqual(
      await collect(store.getSegments(space)),
      segments,
      `getSegments(${JSON.stringify(space)}) vs data`,
    );
  }
}

/** Audits a store again and again as the children add to it, each time from where it stopped. */
export class KillAudit {
  #tracks: readonly Track[];
  /** Per space, the offset of the last audited entry of its space index. */
  #cursors = new Map<string, Uint8Array | undefined>();

  constructor(tracks: readonly Track[]) {
    this.#tracks = tracks;
  }

  /** Checks what is new in `store` (a–d), or, when `full`, everything in it again. */
  async run(store: Store, full: boolean): Promise<AuditStats> {
    if (full) {
      for (const track of this.#tracks) track.audited = freshAudited();
      this.#cursors.clear();
    }
    const stats: AuditStats = { entries: 0, chunks: 0, maxChunk: 0 };
    for (const space of KILL_SPACES) {
      const ofSpace = this.#tracks.filter((track) => track.space === space);
      this.#cursors.set(
        space,
        await auditSpace(store, space, ofSpace, this.#cursors.get(space), stats),
      );
    }
    await auditInventory(store, this.#tracks);
    return stats;
  }
}
