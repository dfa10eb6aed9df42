// The LevelDB driver's storage: the Go key layout in one classic-level database per store.

import type { ClassicLevel } from "classic-level";
import { encodeFirst, type Entry, i64, StreamkitError } from "@streamkit/core";
import {
  type BackendLimits,
  type ChunkCommit,
  concatBytes,
  decodeUtf8,
  EntryDecoder,
  EntryEncoder,
  type MetaKind,
  type MetaRecord,
  type MetaWrite,
  prefixEnd,
  type SegmentHead,
  segmentIndexPrefix,
  segmentInventoryKey,
  type SegmentRange,
  segmentStatusKey,
  spaceIndexPrefix,
  spaceInventoryKey,
  type SpaceRange,
  type StoreBackend,
  writeU64BE,
} from "@streamkit/core/driver";
import { decodeHead, encodeHead } from "./_head_codec.ts";
import { metaPrefix, MetaRecords } from "./_meta_records.ts";

/** The database as this driver opens it: keys and values are byte views. */
export type LevelDatabase = ClassicLevel<Uint8Array, Uint8Array>;

/** What this driver uses of classic-level's key and value iterators. */
interface PagedIterator {
  nextv(size: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/**
 * How this driver reads classic-level iterators: `nextv` pages of at most `pageEntries` entries
 * and, through classic-level's `highWaterMarkBytes`, about `highWaterMarkBytes` bytes (whichever
 * comes first; at least one entry). Large enough to amortise the native call (classic-level's
 * default of 16 KiB stops a page after some 45 entries of 256 bytes), small enough to keep a
 * read's memory bounded whatever the payload sizes. The benchmark's raw reference reads with the
 * same numbers.
 *
 * @example
 * ```ts ignore
 * import { LEVEL_READ_OPTIONS } from "./_level_backend.ts";
 * declare const db: LevelDatabase;
 * const values = db.values({ highWaterMarkBytes: LEVEL_READ_OPTIONS.highWaterMarkBytes });
 * const page = await values.nextv(LEVEL_READ_OPTIONS.pageEntries);
 * ```
 */
export const LEVEL_READ_OPTIONS: { pageEntries: number; highWaterMarkBytes: number } = {
  pageEntries: 1_000,
  highWaterMarkBytes: 1024 * 1024,
};
const PAGE_ENTRIES = LEVEL_READ_OPTIONS.pageEntries;
const ITERATOR_OPTIONS = { highWaterMarkBytes: LEVEL_READ_OPTIONS.highWaterMarkBytes };
const NO_VALUE = new Uint8Array(0);
const SEPARATOR = new Uint8Array([0x00]);
const utf8 = new TextEncoder();
const SPACE_INVENTORY = encodeFirst("INV", "SPACES");

/** `prefix` followed by the 8 big-endian bytes of `value` (a u64 key part). */
function withU64(prefix: Uint8Array, value: number): Uint8Array {
  const key = new Uint8Array(prefix.length + 8);
  key.set(prefix);
  writeU64BE(key, prefix.length, value);
  return key;
}

/** Every item of `iterator`, fetched a page at a time; closes it however the caller stops. */
async function* pages(iterator: PagedIterator): AsyncIterable<Uint8Array> {
  try {
    while (true) {
      const page = await iterator.nextv(PAGE_ENTRIES);
      if (page.length === 0) return;
      yield* page;
    }
  } finally {
    await iterator.close();
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const NO_PAGE: Uint8Array[] = [];

/**
 * The entries of a values iterator, decoded one by one from pages of `nextv`.
 *
 * Hand-written rather than stacked async generators: an entry of the current page costs one
 * resolved promise instead of a generator round trip per layer. And double-buffered: as soon as
 * a page arrives the next one is requested, so LevelDB reads it on classic-level's worker
 * thread while this thread decodes and hands out the current one (one `nextv` in flight at a
 * time, as classic-level requires; at most two pages in memory). Closes the native iterator at
 * the end, on an error, and when the caller stops early (`return`). Like an async generator, it
 * answers overlapping `next()` calls in order.
 */
class EntryIterator implements AsyncIterableIterator<Entry> {
  #iterator: PagedIterator;
  #page: Uint8Array[] = NO_PAGE;
  #index = 0;
  #prefetch: Promise<Uint8Array[]> | undefined;
  /** Set while a page is awaited: later `next()` calls queue behind it. */
  #turning: Promise<unknown> | undefined;
  #closed = false;
  #decoder = new EntryDecoder();

  constructor(iterator: PagedIterator) {
    this.#iterator = iterator;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Entry>> {
    if (this.#turning !== undefined) return this.#turning.then(() => this.next());
    if (this.#index < this.#page.length) {
      try {
        return Promise.resolve({
          done: false,
          value: this.#decoder.decode(this.#page[this.#index++]),
        });
      } catch (error) {
        return this.#fail(error);
      }
    }
    if (this.#closed) return Promise.resolve(DONE);
    const turning = this.#turnPage();
    this.#turning = turning;
    const done = () => {
      if (this.#turning === turning) this.#turning = undefined;
    };
    turning.then(done, done);
    return turning.then(() => this.next());
  }

  #fetch(): Promise<Uint8Array[]> {
    const fetching = this.#iterator.nextv(PAGE_ENTRIES);
    // Awaited by #turnPage, or dropped by #close: never an unhandled rejection.
    fetching.catch(() => {});
    return fetching;
  }

  /** Makes the next page current, or closes the iterator at the end or on an error. */
  async #turnPage(): Promise<void> {
    if (this.#closed) return;
    let page: Uint8Array[];
    try {
      page = await (this.#prefetch ?? this.#fetch());
    } catch (error) {
      await this.#fail(error);
      return;
    }
    this.#prefetch = undefined;
    if (this.#closed) return;
    // Only an empty page is the end: classic-level also cuts pages short by bytes.
    if (page.length === 0) {
      await this.#close();
      return;
    }
    this.#prefetch = this.#fetch();
    this.#page = page;
    this.#index = 0;
  }

  async #fail(error: unknown): Promise<never> {
    await this.#close().catch(() => {});
    throw error;
  }

  /** Closes the native iterator; classic-level defers that until a `nextv` in flight ends. */
  #close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#page = NO_PAGE;
    this.#index = 0;
    this.#prefetch = undefined;
    return this.#iterator.close();
  }

  async return(): Promise<IteratorResult<Entry>> {
    await this.#close();
    return DONE;
  }
}

function nameOf(key: Uint8Array, prefix: Uint8Array, what: string): string {
  try {
    return decodeUtf8(key.subarray(prefix.length));
  } catch (error) {
    throw new StreamkitError("CorruptData", `${what} inventory key is not UTF-8`, { cause: error });
  }
}

/** A {@linkcode StoreBackend} over one open classic-level database. */
export class LevelBackend implements StoreBackend {
  readonly limits: BackendLimits;
  #db: LevelDatabase;
  #encoder = new EntryEncoder();
  #meta: MetaRecords;

  constructor(db: LevelDatabase, limits: BackendLimits) {
    this.#db = db;
    this.limits = limits;
    this.#meta = new MetaRecords(db);
  }

  async readHead(space: string, segment: string): Promise<SegmentHead | undefined> {
    const stored = await this.#db.get(segmentStatusKey(space, segment));
    return stored === undefined ? undefined : decodeHead(space, segment, stored);
  }

  async commit(chunk: ChunkCommit): Promise<void> {
    const { space, segment } = chunk;
    const segmentPrefix = segmentIndexPrefix(space, segment);
    // Every entry of a chunk shares its timestamp, so its space keys differ only in sequence.
    const spacePrefix = concatBytes(
      spaceIndexPrefix(space),
      i64(chunk.timestamp).bytes,
      SEPARATOR,
      utf8.encode(segment),
      SEPARATOR,
    );
    // One key buffer per index for the whole chunk, only its sequence rewritten per entry, and
    // one reused value encoding: the batch copies key and value bytes when they are added
    // (classic-level's `batch_put`; this database has no write listeners or hooks that would
    // keep them), so nothing needs allocating per entry. The loop never awaits, so concurrent
    // commits cannot share the encoder's buffer.
    const segmentKey = withU64(segmentPrefix, 0);
    const spaceKey = withU64(spacePrefix, 0);
    const encoder = this.#encoder;
    // One chained batch, written with sync: a crash leaves all of the chunk or none of it.
    const batch = this.#db.batch();
    try {
      for (const entry of chunk.entries) {
        const value = encoder.encode(entry);
        writeU64BE(segmentKey, segmentPrefix.length, entry.sequence);
        batch.put(segmentKey, value);
        writeU64BE(spaceKey, spacePrefix.length, entry.sequence);
        batch.put(spaceKey, value);
      }
      batch.put(
        segmentStatusKey(space, segment),
        encodeHead({ status: chunk.status, trxNumber: chunk.trx.number }),
      );
      if (chunk.head === undefined) {
        batch.put(spaceInventoryKey(space), NO_VALUE);
        batch.put(segmentInventoryKey(space, segment), NO_VALUE);
      }
    } catch (error) {
      await batch.close();
      throw error;
    }
    await batch.write({ sync: true });
  }

  scanSegment(space: string, segment: string, range: SegmentRange): AsyncIterable<Entry> {
    const prefix = segmentIndexPrefix(space, segment);
    return new EntryIterator(this.#db.values({
      gte: withU64(prefix, range.minSequence),
      lte: withU64(prefix, range.maxSequence),
      limit: range.limit || -1,
      ...ITERATOR_OPTIONS,
    }));
  }

  scanSpace(_space: string, range: SpaceRange): AsyncIterable<Entry> {
    return new EntryIterator(
      this.#db.values({
        gt: range.gt,
        lt: range.lt,
        limit: range.limit || -1,
        ...ITERATOR_OPTIONS,
      }),
    );
  }

  async *listSpaces(): AsyncIterable<string> {
    yield* this.#names(SPACE_INVENTORY, "space");
  }

  async *listSegments(space: string): AsyncIterable<string> {
    yield* this.#names(encodeFirst("INV", "SEGMENTS", space), "segment");
  }

  getMeta(kind: MetaKind, name: string): Promise<MetaRecord | undefined> {
    return this.#meta.get(kind, name);
  }

  putMeta(writes: readonly MetaWrite[]): Promise<boolean> {
    return this.#meta.put(writes);
  }

  async *listMeta(kind: MetaKind): AsyncIterable<string> {
    yield* this.#names(metaPrefix(kind), kind);
  }

  async *#names(prefix: Uint8Array, what: string): AsyncIterable<string> {
    const iterator = this.#db.keys({ gt: prefix, lt: prefixEnd(prefix) });
    for await (const key of pages(iterator)) yield nameOf(key, prefix, what);
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
