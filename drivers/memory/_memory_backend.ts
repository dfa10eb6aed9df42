// The memory driver's storage: sorted in-memory indexes of encoded entries.

import { compareKeys, encodeEntry, type Entry } from "@streamkit/core";
import {
  type BackendLimits,
  type ChunkCommit,
  EntryDecoder,
  type MetaKind,
  type MetaRecord,
  type MetaWrite,
  type SegmentHead,
  type SegmentRange,
  spaceEntryKey,
  type SpaceRange,
  type StoreBackend,
} from "@streamkit/core/driver";
import { insertRow, type Row, rowsBetween } from "./_sorted.ts";

const utf8 = new TextEncoder();
const BEFORE_ALL = new Uint8Array(0);

interface MemorySegment {
  head: SegmentHead;
  /** Encoded entries; sequences start at 1 and have no gaps, so entry n sits at n - 1. */
  entries: Uint8Array[];
}

interface MemorySpace {
  segments: Map<string, MemorySegment>;
  /** Segment names keyed by their UTF-8 bytes. */
  segmentNames: Row<string>[];
  /** The space index: space offsets to encoded entries. */
  timeline: Row<Uint8Array>[];
}

/** Everything one memory store holds; it outlives the backends opened on it. */
export class MemoryStoreData {
  spaces: Map<string, MemorySpace> = new Map();
  /** Space names keyed by their UTF-8 bytes. */
  spaceNames: Row<string>[] = [];
  /** Checkpoints and leases, by kind and name; versions count every write of the store's. */
  meta: Map<MetaKind, Map<string, { value: Uint8Array; version: number }>> = new Map();
  metaWrites = 0;
}

/** Decodes a stored entry; its payload is copied so callers cannot change what is stored. */
function readEntry(encoded: Uint8Array, decoder: EntryDecoder): Entry {
  const entry = decoder.decode(encoded);
  entry.payload = entry.payload.slice();
  return entry;
}

function copyHead(head: SegmentHead): SegmentHead {
  return { status: { ...head.status }, trxNumber: head.trxNumber };
}

/** A {@linkcode StoreBackend} over one {@linkcode MemoryStoreData}. */
export class MemoryBackend implements StoreBackend {
  readonly limits: BackendLimits;
  #data: MemoryStoreData;

  constructor(data: MemoryStoreData, limits: BackendLimits) {
    this.#data = data;
    this.limits = limits;
  }

  readHead(space: string, segment: string): Promise<SegmentHead | undefined> {
    const stored = this.#data.spaces.get(space)?.segments.get(segment);
    return Promise.resolve(stored && copyHead(stored.head));
  }

  commit(chunk: ChunkCommit): Promise<void> {
    // Encode everything first: a failure leaves the store untouched, and nothing is awaited
    // below, so readers see all of the chunk or none of it.
    const rows = chunk.entries.map((entry) => ({
      key: spaceEntryKey(entry.space, entry.timestamp, entry.segment, entry.sequence),
      value: encodeEntry(entry),
    }));
    let space = this.#data.spaces.get(chunk.space);
    if (!space) {
      space = { segments: new Map(), segmentNames: [], timeline: [] };
      this.#data.spaces.set(chunk.space, space);
      insertRow(this.#data.spaceNames, { key: utf8.encode(chunk.space), value: chunk.space });
    }
    let segment = space.segments.get(chunk.segment);
    if (!segment) {
      segment = { head: { status: chunk.status, trxNumber: 0 }, entries: [] };
      space.segments.set(chunk.segment, segment);
      insertRow(space.segmentNames, { key: utf8.encode(chunk.segment), value: chunk.segment });
    }
    for (const row of rows) {
      segment.entries.push(row.value);
      insertRow(space.timeline, row);
    }
    segment.head = { status: { ...chunk.status }, trxNumber: chunk.trx.number };
    return Promise.resolve();
  }

  async *scanSegment(space: string, segment: string, range: SegmentRange): AsyncIterable<Entry> {
    const entries = this.#data.spaces.get(space)?.segments.get(segment)?.entries;
    if (!entries) return;
    const decoder = new EntryDecoder();
    for (let sequence = range.minSequence; sequence <= range.maxSequence; sequence++) {
      const encoded = entries[sequence - 1];
      if (encoded === undefined) return;
      yield readEntry(encoded, decoder);
    }
  }

  async *scanSpace(space: string, range: SpaceRange): AsyncIterable<Entry> {
    const timeline = this.#data.spaces.get(space)?.timeline;
    if (!timeline) return;
    const decoder = new EntryDecoder();
    for (const row of rowsBetween(timeline, range.gt, range.lt)) {
      yield readEntry(row.value, decoder);
    }
  }

  async *listSpaces(): AsyncIterable<string> {
    for (const row of rowsBetween(this.#data.spaceNames, BEFORE_ALL, undefined)) yield row.value;
  }

  async *listSegments(space: string): AsyncIterable<string> {
    const names = this.#data.spaces.get(space)?.segmentNames;
    if (!names) return;
    for (const row of rowsBetween(names, BEFORE_ALL, undefined)) yield row.value;
  }

  getMeta(kind: MetaKind, name: string): Promise<MetaRecord | undefined> {
    const stored = this.#data.meta.get(kind)?.get(name);
    return Promise.resolve(
      stored && { value: stored.value.slice(), version: String(stored.version) },
    );
  }

  putMeta(writes: readonly MetaWrite[]): Promise<boolean> {
    // Checked whole before anything is written, with nothing awaited: all or none.
    for (const { kind, name, expected } of writes) {
      const stored = this.#data.meta.get(kind)?.get(name);
      if (expected !== (stored && String(stored.version))) return Promise.resolve(false);
    }
    for (const { kind, name, value } of writes) {
      let records = this.#data.meta.get(kind);
      if (!records) this.#data.meta.set(kind, records = new Map());
      records.set(name, { value: value.slice(), version: ++this.#data.metaWrites });
    }
    return Promise.resolve(true);
  }

  async *listMeta(kind: MetaKind): AsyncIterable<string> {
    const names = [...this.#data.meta.get(kind)?.keys() ?? []].map((name) => ({
      name,
      key: utf8.encode(name),
    }));
    names.sort((a, b) => compareKeys(a.key, b.key));
    for (const { name } of names) yield name;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
