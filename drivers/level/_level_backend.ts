// The LevelDB driver's storage: the Go key layout in one classic-level database per store.

import type { ClassicLevel } from "classic-level";
import {
  type BackendLimits,
  type ChunkCommit,
  decodeEntry,
  encodeEntry,
  encodeFirst,
  type Entry,
  i64,
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
  StreamkitError,
} from "@streamkit/core";
import { decodeHead, encodeHead } from "./_head_codec.ts";

/** The database as this driver opens it: keys and values are byte views. */
export type LevelDatabase = ClassicLevel<Uint8Array, Uint8Array>;

/** What this driver uses of classic-level's key and value iterators. */
interface PagedIterator {
  nextv(size: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/** Entries fetched per `nextv` call: large enough to amortise the native call, small in memory. */
const PAGE_ENTRIES = 1_000;
const NO_VALUE = new Uint8Array(0);
const SEPARATOR = new Uint8Array([0x00]);
const TWO_POW_32 = 4294967296;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const SPACE_INVENTORY = encodeFirst("INV", "SPACES");

/** `prefix` followed by the 8 big-endian bytes of `value` (a u64 key part). */
function withU64(prefix: Uint8Array, value: number): Uint8Array {
  const key = new Uint8Array(prefix.length + 8);
  key.set(prefix);
  const high = Math.floor(value / TWO_POW_32);
  const low = value - high * TWO_POW_32;
  const at = prefix.length;
  key[at] = high >>> 24;
  key[at + 1] = (high >>> 16) & 0xff;
  key[at + 2] = (high >>> 8) & 0xff;
  key[at + 3] = high & 0xff;
  key[at + 4] = low >>> 24;
  key[at + 5] = (low >>> 16) & 0xff;
  key[at + 6] = (low >>> 8) & 0xff;
  key[at + 7] = low & 0xff;
  return key;
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
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

function nameOf(key: Uint8Array, prefix: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(key.subarray(prefix.length));
  } catch (error) {
    throw new StreamkitError("CorruptData", `${what} inventory key is not UTF-8`, { cause: error });
  }
}

/** A {@linkcode StoreBackend} over one open classic-level database. */
export class LevelBackend implements StoreBackend {
  readonly limits: BackendLimits;
  #db: LevelDatabase;

  constructor(db: LevelDatabase, limits: BackendLimits) {
    this.#db = db;
    this.limits = limits;
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
    // One chained batch, written with sync: a crash leaves all of the chunk or none of it.
    const batch = this.#db.batch();
    try {
      for (const entry of chunk.entries) {
        const value = encodeEntry(entry);
        batch.put(withU64(segmentPrefix, entry.sequence), value);
        batch.put(withU64(spacePrefix, entry.sequence), value);
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

  async *scanSegment(space: string, segment: string, range: SegmentRange): AsyncIterable<Entry> {
    const prefix = segmentIndexPrefix(space, segment);
    yield* this.#entries(this.#db.values({
      gte: withU64(prefix, range.minSequence),
      lte: withU64(prefix, range.maxSequence),
      limit: range.limit || -1,
    }));
  }

  async *scanSpace(_space: string, range: SpaceRange): AsyncIterable<Entry> {
    yield* this.#entries(this.#db.values({ gt: range.gt, lt: range.lt, limit: range.limit || -1 }));
  }

  async *#entries(iterator: PagedIterator): AsyncIterable<Entry> {
    for await (const value of pages(iterator)) yield decodeEntry(value);
  }

  async *listSpaces(): AsyncIterable<string> {
    yield* this.#names(SPACE_INVENTORY, "space");
  }

  async *listSegments(space: string): AsyncIterable<string> {
    yield* this.#names(encodeFirst("INV", "SEGMENTS", space), "segment");
  }

  async *#names(prefix: Uint8Array, what: string): AsyncIterable<string> {
    const iterator = this.#db.keys({ gt: prefix, lt: prefixEnd(prefix) });
    for await (const key of pages(iterator)) yield nameOf(key, prefix, what);
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
