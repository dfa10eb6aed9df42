/**
 * What a driver implements: the storage primitives under the shared store engine.
 *
 * Core turns a {@linkcode StoreBackend} into a full {@linkcode Store} (validation, chunking,
 * sequence checks, the per-segment lock, the space watermark, notifications, abort and close),
 * so every driver gets the same semantics and a new backend is one folder.
 *
 * @module
 */

import { StreamkitError } from "./errors.ts";
import type { Clock } from "./clock.ts";
import type { Entry, SegmentStatus, StoreLimits, Trx } from "./types.ts";

/**
 * A segment's head: its status and the number of its last committed chunk.
 *
 * @example
 * ```ts
 * import type { SegmentHead } from "@streamkit/core/driver";
 * const head: SegmentHead = {
 *   status: {
 *     space: "orders", segment: "order-1",
 *     firstSequence: 1, firstTimestamp: 1700000000000, lastSequence: 25, lastTimestamp: 1700000000100,
 *   },
 *   trxNumber: 3,
 * };
 * ```
 */
export interface SegmentHead {
  /** First and last sequence and timestamp. */
  status: SegmentStatus;
  /** The `trx.number` of the last committed chunk. */
  trxNumber: number;
  /** Driver-private version of the head (an ETag, say) for a conditional commit. */
  version?: unknown;
}

/**
 * One validated chunk, ready to be written atomically to both indexes.
 *
 * @example
 * ```ts
 * import type { ChunkCommit } from "@streamkit/core/driver";
 * function describe(chunk: ChunkCommit): string {
 *   return `${chunk.entries.length} entries as trx ${chunk.trx.number}`;
 * }
 * ```
 */
export interface ChunkCommit {
  /** The space written to. */
  space: string;
  /** The segment written to. */
  segment: string;
  /** The head the chunk was validated against; `undefined` for a new segment. */
  head: SegmentHead | undefined;
  /** The chunk's transaction. */
  trx: Trx;
  /** The chunk's timestamp, shared by its entries. */
  timestamp: number;
  /** The entries, in ascending sequence, continuing the head. */
  entries: Entry[];
  /** The segment's status once the chunk is committed. */
  status: SegmentStatus;
}

/**
 * The sizes a backend accepts: the store's limits plus the byte cap of one chunk.
 *
 * @example
 * ```ts
 * import type { BackendLimits } from "@streamkit/core/driver";
 * const limits: BackendLimits = {
 *   maxPayloadBytes: 16 * 1024 * 1024,
 *   maxChunkRecords: 10_000,
 *   maxChunkBytes: 64 * 1024 * 1024,
 * };
 * ```
 */
export interface BackendLimits extends StoreLimits {
  /** The most payload and metadata bytes one chunk holds. */
  maxChunkBytes: number;
}

/**
 * A driver's limits: `defaults` with a user's `overrides`, each a positive safe integer (else
 * `InvalidArgument` naming `limits.<name>`).
 *
 * @example
 * ```ts
 * import { resolveLimits } from "@streamkit/core/driver";
 * const limits = resolveLimits(
 *   { maxPayloadBytes: 1024, maxChunkRecords: 100, maxChunkBytes: 65_536 },
 *   { maxChunkRecords: 10 },
 * );
 * console.log(limits.maxChunkRecords); // 10
 * ```
 */
export function resolveLimits(
  defaults: BackendLimits,
  overrides: Partial<BackendLimits> = {},
): BackendLimits {
  const limits = { ...defaults, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new StreamkitError(
        "InvalidArgument",
        `limits.${name}: must be a positive safe integer, got ${String(value)}`,
      );
    }
  }
  return limits;
}

/**
 * A range of a segment's index: sequences from `minSequence` to `maxSequence`, inclusive.
 *
 * @example
 * ```ts
 * import type { SegmentRange } from "@streamkit/core/driver";
 * const range: SegmentRange = { minSequence: 1, maxSequence: Number.MAX_SAFE_INTEGER, limit: 0 };
 * ```
 */
export interface SegmentRange {
  /** Lowest sequence, inclusive (at least 1). */
  minSequence: number;
  /** Highest sequence, inclusive. */
  maxSequence: number;
  /** A hint: the caller stops after this many entries; 0 means no limit. */
  limit: number;
}

/**
 * A range of a space's index in space-offset bytes: keys strictly above `gt` and strictly
 * below `lt`, both within the space's prefix.
 *
 * @example
 * ```ts
 * import { prefixEnd, spaceIndexPrefix, type SpaceRange } from "@streamkit/core/driver";
 * const gt = spaceIndexPrefix("orders");
 * const range: SpaceRange = { gt, lt: prefixEnd(gt), limit: 0 };
 * ```
 */
export interface SpaceRange {
  /** Exclusive lower bound (a space offset, or a prefix of one). */
  gt: Uint8Array;
  /** Exclusive upper bound. */
  lt: Uint8Array;
  /** A hint: the caller stops after this many entries; 0 means no limit. */
  limit: number;
}

/**
 * The storage primitives a driver provides for one opened store. Core calls `commit` for a
 * segment only while holding that segment's lock, after reading its head, and never after
 * `close`.
 *
 * @example
 * ```ts
 * import type { StoreBackend } from "@streamkit/core/driver";
 * async function countSpaces(backend: StoreBackend): Promise<number> {
 *   let count = 0;
 *   for await (const _space of backend.listSpaces()) count++;
 *   return count;
 * }
 * ```
 */
export interface StoreBackend {
  /** The sizes this backend accepts. */
  readonly limits: BackendLimits;
  /**
   * Present when other processes may commit to this store too: what the engine then needs of
   * the backend (see {@linkcode SharedBackend}). Declared, never probed method by method.
   */
  readonly shared?: SharedBackend;
  /** The segment's head, or `undefined` when it has no entries. */
  readHead(space: string, segment: string, signal?: AbortSignal): Promise<SegmentHead | undefined>;
  /**
   * Writes the chunk to both indexes, the inventory and the head, atomically: after a crash
   * all of it or none of it is visible. A backend shared across processes must fail with
   * `SequenceMismatch` or a transient `Conflict` when the head changed since `chunk.head`.
   * A shared backend may resolve at the commit point and finish the space index behind (see
   * {@linkcode SharedBackend.finishWrites}).
   */
  commit(chunk: ChunkCommit): Promise<void>;
  /** The segment's entries in ascending sequence within `range`. */
  scanSegment(
    space: string,
    segment: string,
    range: SegmentRange,
    signal?: AbortSignal,
  ): AsyncIterable<Entry>;
  /** The space's entries in ascending space-offset order within `range`. */
  scanSpace(space: string, range: SpaceRange, signal?: AbortSignal): AsyncIterable<Entry>;
  /** Every space, in ascending UTF-8 byte order. */
  listSpaces(signal?: AbortSignal): AsyncIterable<string>;
  /** Every segment of `space`, in ascending UTF-8 byte order. */
  listSegments(space: string, signal?: AbortSignal): AsyncIterable<string>;
  /** The record `name` of `kind` (a checkpoint, a lease), or `undefined` when there is none. */
  getMeta(kind: MetaKind, name: string, signal?: AbortSignal): Promise<MetaRecord | undefined>;
  /**
   * Writes every one of `writes`, all or none, if each record is at its `expected` version
   * (absent when `expected` is `undefined`) when written; `false`, having written nothing,
   * when one is not. A backend shared across processes makes this atomic across them.
   */
  putMeta(writes: readonly MetaWrite[], signal?: AbortSignal): Promise<boolean>;
  /** The names of every record of `kind`, in ascending UTF-8 byte order. */
  listMeta(kind: MetaKind, signal?: AbortSignal): AsyncIterable<string>;
  /** Releases the backend; called once, when the last store handle on it closes. */
  close(): Promise<void>;
}

/**
 * The kinds of small records a store keeps beside its data, never seen by its reads.
 *
 * @example
 * ```ts
 * import type { MetaKind } from "@streamkit/core/driver";
 * const kinds: MetaKind[] = ["checkpoint", "lease"];
 * ```
 */
export type MetaKind = "checkpoint" | "lease";

/**
 * A small record beside the data, as {@linkcode StoreBackend.getMeta} gives it.
 *
 * @example
 * ```ts
 * import type { MetaRecord } from "@streamkit/core/driver";
 * const record: MetaRecord = { value: new Uint8Array([1]), version: "1" };
 * ```
 */
export interface MetaRecord {
  /** What core keeps in it (at most a checkpoint's 64 KiB and a little more). */
  value: Uint8Array;
  /** Changes with every write of the record: what {@linkcode MetaWrite.expected} names. */
  version: string;
}

/**
 * One write of {@linkcode StoreBackend.putMeta}.
 *
 * @example
 * ```ts
 * import type { MetaWrite } from "@streamkit/core/driver";
 * const create: MetaWrite = { kind: "lease", name: "projector", expected: undefined, value: new Uint8Array() };
 * ```
 */
export interface MetaWrite {
  /** The record's kind. */
  kind: MetaKind;
  /** The record's name. */
  name: string;
  /** The version the record has now, or `undefined` when it must not exist yet. */
  expected: string | undefined;
  /** What the record holds once written. */
  value: Uint8Array;
}

/**
 * A chunk about to be stamped, as {@linkcode SharedBackend.coverChunk} gets it.
 *
 * @example
 * ```ts
 * import type { ChunkCover } from "@streamkit/core/driver";
 * const cover: ChunkCover = {
 *   space: "orders",
 *   segment: "order-1",
 *   head: undefined,
 *   trx: { id: crypto.randomUUID(), node: "00000000-0000-0000-0000-000000000000", number: 1 },
 *   firstSequence: 1,
 *   lastSequence: 5,
 *   lowest: 1700000000200,
 * };
 * ```
 */
export interface ChunkCover {
  /** The space written to. */
  space: string;
  /** The segment written to. */
  segment: string;
  /** The head the chunk continues; `undefined` for a new segment. */
  head: SegmentHead | undefined;
  /** The chunk's transaction. */
  trx: Trx;
  /** The sequence of its first entry. */
  firstSequence: number;
  /** The sequence of its last entry. */
  lastSequence: number;
  /** The lowest timestamp the chunk may take (its segment's last; a restored chunk's own). */
  lowest: number;
  /**
   * This process's clock, checked against the backend's time; absent when the chunk's timestamp
   * is given (a restore).
   */
  clock?: Clock;
}

/**
 * What a backend that other processes also commit to (Azure, say) adds to
 * {@linkcode StoreBackend}, as its `shared` property. Followers then poll as well (backing off
 * while idle), since commits of other processes wake no one here.
 *
 * @example
 * ```ts
 * import type { SharedBackend, StoreBackend } from "@streamkit/core/driver";
 * function describe(backend: StoreBackend): string {
 *   return backend.shared ? "shared across processes" : "one process";
 * }
 * const alone: SharedBackend = {
 *   coverChunk: (chunk) => Promise.resolve(chunk.lowest),
 *   spaceReadBound: () => Promise.resolve(undefined),
 *   readHeadForWrite: () => Promise.resolve(undefined),
 *   finishWrites: () => Promise.resolve(),
 * };
 * console.log(typeof alone.finishWrites);
 * ```
 */
export interface SharedBackend {
  /**
   * Called under the segment's lock before a chunk is stamped: from now until the chunk is
   * committed and readable, or can no longer commit, readers in every process stay below its
   * timestamp (a pending marker in the table, say). Resolves with the timestamp to stamp it at,
   * no lower than `chunk.lowest`: the backend's own time, which stamps the chunks of a shared
   * backend (a restored chunk, which has no `clock`, keeps its own timestamp). Rejects with
   * `ClockSkew` when `chunk.clock` is further from that time than the backend allows. If
   * `commit` later fails with a transient `Conflict`, nothing of the chunk was written: core
   * reads the head again, covers and stamps the chunk anew, and tries again.
   */
  coverChunk(chunk: ChunkCover): Promise<number>;
  /**
   * The highest timestamp of `space` that readers may read up to as far as other processes'
   * commits are concerned (below the oldest chunk another process may still be making visible
   * in the space index), or `undefined` when nothing holds reads back. Called before every
   * space read; reads of this process are held back by core's own watermark. A bound once
   * resolved stays good: every chunk at or below it is readable by any read that begins later,
   * or never commits; so core reads up to the last one at once, beside asking for the next.
   */
  spaceReadBound(space: string, signal?: AbortSignal): Promise<number | undefined>;
  /**
   * The head to validate a chunk against, possibly as this backend's last commit left it
   * (saving a read). If another process moved the head since, `commit` must fail with
   * `SequenceMismatch` or `Conflict`; a chunk that does not continue this head is checked again
   * against `readHead` before it is refused.
   */
  readHeadForWrite(space: string, segment: string): Promise<SegmentHead | undefined>;
  /**
   * Resolves once every chunk this backend committed to the segment is written everywhere;
   * rejects when finishing one failed (it stays committed, and recovery finishes it). `commit`
   * may resolve at the commit point, once the chunk is durable, and finish the space index
   * behind (so the segment's next chunk commits meanwhile), provided `spaceReadBound` keeps
   * readers below what it has not finished and waits for what it committed before the read
   * began. Core waits for it at the end of each produce and restore.
   */
  finishWrites(space: string, segment: string): Promise<void>;
}
