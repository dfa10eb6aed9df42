/**
 * The public contracts of streamkit: records, entries, statuses, the store and its factory.
 *
 * @module
 */

/**
 * A store's identity: a UUID, accepted in any case and stored lower-case.
 *
 * @example
 * ```ts
 * import type { StoreId } from "@streamkit/core";
 * const storeId: StoreId = "0f8fad5b-d9cb-469f-a165-70867728950e";
 * ```
 */
export type StoreId = string;

/**
 * One record handed to {@linkcode Store.produce}: the sequence it must land at, its bytes
 * and optional string metadata.
 *
 * @example
 * ```ts
 * import type { ProduceRecord } from "@streamkit/core";
 * const record: ProduceRecord = {
 *   sequence: 1,
 *   payload: new TextEncoder().encode('{"placed":true}'),
 *   metadata: { "content-type": "application/json" },
 * };
 * ```
 */
export interface ProduceRecord {
  /** The sequence this record must take: the segment's last sequence + 1, then + 1 each. */
  sequence: number;
  /** The record's bytes; empty is allowed. */
  payload: Uint8Array;
  /** Optional string pairs stored with the entry. */
  metadata?: Record<string, string>;
}

/**
 * The transaction that committed an entry: one per committed chunk.
 *
 * @example
 * ```ts
 * import type { Trx } from "@streamkit/core";
 * const trx: Trx = {
 *   id: "550e8400-e29b-41d4-a716-446655440000",
 *   node: "00000000-0000-0000-0000-000000000000",
 *   number: 1,
 * };
 * ```
 */
export interface Trx {
  /** A fresh UUID v4 per committed chunk. */
  id: string;
  /** The writer's node UUID (all-zero when the factory was given none). */
  node: string;
  /** The chunk's number within its segment: 1, 2, 3, ... */
  number: number;
}

/**
 * A stored event, as consumers read it.
 *
 * @example
 * ```ts
 * import type { Entry } from "@streamkit/core";
 * function describe(entry: Entry): string {
 *   return `${entry.space}/${entry.segment}#${entry.sequence} at ${entry.timestamp}`;
 * }
 * ```
 */
export interface Entry {
  /** The space the entry belongs to. */
  space: string;
  /** The segment the entry belongs to. */
  segment: string;
  /** The entry's position in its segment, from 1. */
  sequence: number;
  /** Unix milliseconds stamped at commit; never decreases within a segment. */
  timestamp: number;
  /** The transaction that committed the entry's chunk. */
  trx: Trx;
  /** The entry's bytes. */
  payload: Uint8Array;
  /** The entry's metadata; `{}` when none. */
  metadata: Record<string, string>;
}

/**
 * The first and last sequence and timestamp of a segment.
 *
 * @example
 * ```ts
 * import type { SegmentStatus } from "@streamkit/core";
 * function nextSequence(status: SegmentStatus | undefined): number {
 *   return (status?.lastSequence ?? 0) + 1;
 * }
 * ```
 */
export interface SegmentStatus {
  /** The space of the segment. */
  space: string;
  /** The segment's name. */
  segment: string;
  /** The sequence of the segment's first entry ever. */
  firstSequence: number;
  /** The timestamp of the segment's first entry ever. */
  firstTimestamp: number;
  /** The sequence of the segment's last entry. */
  lastSequence: number;
  /** The timestamp of the segment's last entry. */
  lastTimestamp: number;
}

/**
 * Where {@linkcode Store.produce} writes.
 *
 * @example
 * ```ts
 * import type { ProduceArgs } from "@streamkit/core";
 * const args: ProduceArgs = { space: "orders", segment: "order-42" };
 * ```
 */
export interface ProduceArgs {
  /** The space to write to. */
  space: string;
  /** The segment to write to. */
  segment: string;
  /** Aborts the produce: committed chunks stay, the in-flight chunk commits wholly or not at all. */
  signal?: AbortSignal;
}

/**
 * Where {@linkcode Store.restore} writes.
 *
 * @example
 * ```ts
 * import type { RestoreArgs } from "@streamkit/core";
 * const args: RestoreArgs = { space: "orders", segment: "order-42" };
 * ```
 */
export interface RestoreArgs {
  /** The space to write to; every entry must name it. */
  space: string;
  /** The segment to write to; every entry must name it. */
  segment: string;
  /** Aborts the restore: committed chunks stay, the in-flight chunk commits wholly or not at all. */
  signal?: AbortSignal;
}

/**
 * What {@linkcode Store.consumeSegment} reads.
 *
 * @example
 * ```ts
 * import type { ConsumeSegmentArgs } from "@streamkit/core";
 * const args: ConsumeSegmentArgs = { space: "orders", segment: "order-42", minSequence: 10, limit: 100 };
 * ```
 */
export interface ConsumeSegmentArgs {
  /** The space of the segment. */
  space: string;
  /** The segment to read. */
  segment: string;
  /** Lowest sequence, inclusive; 0 or absent: unbounded. */
  minSequence?: number;
  /** Highest sequence, inclusive; 0 or absent: unbounded. */
  maxSequence?: number;
  /** Only entries with a timestamp strictly above this; 0 or absent: unbounded. */
  minTimestamp?: number;
  /** Only entries with a timestamp at or below this; 0, absent or in the future: now. */
  maxTimestamp?: number;
  /** At most this many entries; 0 or absent: no limit. */
  limit?: number;
  /** Aborts the read: iteration ends with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * What {@linkcode Store.consumeSpace} reads.
 *
 * @example
 * ```ts
 * import type { ConsumeSpaceArgs } from "@streamkit/core";
 * const args: ConsumeSpaceArgs = { space: "orders", limit: 500 };
 * ```
 */
export interface ConsumeSpaceArgs {
  /** The space to read as one timeline. */
  space: string;
  /** Resume strictly after this space offset (see `spaceOffset`). */
  offset?: Uint8Array;
  /** Only entries with a timestamp strictly above this; 0 or absent: unbounded. */
  minTimestamp?: number;
  /** Only entries with a timestamp at or below this; 0, absent or in the future: now. */
  maxTimestamp?: number;
  /** At most this many entries; 0 or absent: no limit. */
  limit?: number;
  /** Aborts the read: iteration ends with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * What {@linkcode Store.consume} reads: several spaces as one timeline.
 *
 * @example
 * ```ts
 * import type { ConsumeArgs } from "@streamkit/core";
 * declare const savedOrdersOffset: Uint8Array;
 * const args: ConsumeArgs = {
 *   spaces: { orders: savedOrdersOffset, payments: undefined }, // payments from the start
 *   limit: 500,
 * };
 * ```
 */
export interface ConsumeArgs {
  /** Space → the space offset to resume strictly after (`undefined`: from the start). */
  spaces: Record<string, Uint8Array | undefined>;
  /** Only entries with a timestamp strictly above this; 0 or absent: unbounded. */
  minTimestamp?: number;
  /** Only entries with a timestamp at or below this; 0, absent or in the future: now. */
  maxTimestamp?: number;
  /** At most this many entries; 0 or absent: no limit. */
  limit?: number;
  /** Aborts the read: iteration ends with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * What {@linkcode Store.follow} follows: spaces, from saved offsets, live.
 *
 * @example
 * ```ts
 * import type { FollowArgs } from "@streamkit/core";
 * const stop = new AbortController();
 * const args: FollowArgs = { spaces: { orders: undefined }, signal: stop.signal };
 * ```
 */
export interface FollowArgs {
  /** Space → the space offset to resume strictly after (`undefined`: from the start). */
  spaces: Record<string, Uint8Array | undefined>;
  /** Ends the follow: iteration ends with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Drivers shared across processes (azure): the longest wait between polls while idle, in
   * milliseconds (default 1,000). In-process commits wake a follower at once on every driver.
   */
  pollIntervalMs?: number;
}

/**
 * What {@linkcode Store.followSegment} follows: one segment, in sequence order, live.
 *
 * @example
 * ```ts
 * import type { FollowSegmentArgs } from "@streamkit/core";
 * const args: FollowSegmentArgs = { space: "orders", segment: "order-42", afterSequence: 7 };
 * ```
 */
export interface FollowSegmentArgs {
  /** The space of the segment. */
  space: string;
  /** The segment to follow. */
  segment: string;
  /** Resume strictly after this sequence; 0 or absent: from the first entry. */
  afterSequence?: number;
  /** Ends the follow: iteration ends with the signal's reason. */
  signal?: AbortSignal;
  /** As in {@linkcode FollowArgs.pollIntervalMs}. */
  pollIntervalMs?: number;
}

/**
 * What a follow yields: an entry, or the news that everything committed so far was delivered.
 * `caught-up` comes once at the start (after the history, or at once when there is none) and
 * then each time the follower reaches the live end again after delivering at least one entry;
 * never twice in a row.
 *
 * @example
 * ```ts
 * import type { FollowEvent } from "@streamkit/core";
 * function describe(event: FollowEvent): string {
 *   return event.type === "entry" ? `#${event.entry.sequence}` : "caught up";
 * }
 * ```
 */
export type FollowEvent = { type: "entry"; entry: Entry } | { type: "caught-up" };

/**
 * Options of the single-result reads and the inventory listings.
 *
 * @example
 * ```ts
 * import type { ReadOptions } from "@streamkit/core";
 * const options: ReadOptions = { signal: AbortSignal.timeout(5_000) };
 * ```
 */
export interface ReadOptions {
  /** Aborts the read. */
  signal?: AbortSignal;
}

/**
 * The sizes a store accepts.
 *
 * @example
 * ```ts
 * import type { StoreLimits } from "@streamkit/core";
 * function fits(limits: StoreLimits, payload: Uint8Array): boolean {
 *   return payload.byteLength <= limits.maxPayloadBytes;
 * }
 * ```
 */
export interface StoreLimits {
  /** The largest payload one record may carry, in bytes. */
  maxPayloadBytes: number;
  /** The most records one committed chunk holds. */
  maxChunkRecords: number;
}

/**
 * A small named value a store keeps beside its data (a processor's position, say).
 *
 * @example
 * ```ts
 * import type { Checkpoint } from "@streamkit/core";
 * function describe(checkpoint: Checkpoint): string {
 *   return `${checkpoint.name} v${checkpoint.version}, ${checkpoint.value.byteLength} bytes`;
 * }
 * ```
 */
export interface Checkpoint {
  /** Its name. */
  name: string;
  /** At most 64 KiB. */
  value: Uint8Array;
  /** 1 for the first write, one more with each. */
  version: number;
  /** Unix milliseconds of the last write, by the writer's clock. */
  updatedAt: number;
}

/**
 * The right to act for a name until `expiresAt`, unless renewed: at most one unexpired holder
 * per name. `token` grows with every acquisition of the name, ever (a fencing token).
 *
 * @example
 * ```ts
 * import type { Lease } from "@streamkit/core";
 * const stillMine = (lease: Lease, now: number) => now < lease.expiresAt;
 * ```
 */
export interface Lease {
  /** Its name. */
  name: string;
  /** Who holds it. */
  owner: string;
  /** Its fencing token: above every earlier acquisition's of the name. */
  token: number;
  /** Unix milliseconds, by the clock of the process that acquired or renewed it. */
  expiresAt: number;
}

/**
 * Options of {@linkcode Store.putCheckpoint}.
 *
 * @example
 * ```ts
 * import type { PutCheckpointOptions } from "@streamkit/core";
 * const onlyOverVersion3: PutCheckpointOptions = { expectedVersion: 3 };
 * ```
 */
export interface PutCheckpointOptions {
  /** Writes only if the checkpoint is at this version now (0: it must not exist); else `Conflict`. */
  expectedVersion?: number;
  /** Writes only while this lease is its name's current one; else `LeaseLost`. */
  lease?: Lease;
  /** Abandons the call (it may have written already). */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode Store.acquireLease}.
 *
 * @example
 * ```ts
 * import type { AcquireLeaseOptions } from "@streamkit/core";
 * const options: AcquireLeaseOptions = { owner: "worker-1", ttlMs: 30_000 };
 * ```
 */
export interface AcquireLeaseOptions {
  /** Who holds it (1 to 256 characters); the same owner re-acquires its own lease. */
  owner: string;
  /** How long it lasts unless renewed, in ms (1 to 86,400,000). */
  ttlMs: number;
  /** Abandons the call (it may have written already). */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode Store.renewLease}.
 *
 * @example
 * ```ts
 * import type { RenewLeaseOptions } from "@streamkit/core";
 * const options: RenewLeaseOptions = { ttlMs: 10_000 };
 * ```
 */
export interface RenewLeaseOptions {
  /** The new lifetime from now, in ms; the lease's last one when absent. */
  ttlMs?: number;
  /** Abandons the call (it may have written already). */
  signal?: AbortSignal;
}

/**
 * One store: spaces of segments of entries, read and written through one handle.
 *
 * @example
 * ```ts
 * import type { Store } from "@streamkit/core";
 * async function appendOne(store: Store, payload: Uint8Array): Promise<number> {
 *   const head = await store.getSegmentStatus("orders", "order-42");
 *   const sequence = (head?.lastSequence ?? 0) + 1;
 *   for await (const _status of store.produce({ space: "orders", segment: "order-42" }, [{ sequence, payload }])) {
 *     // one status per committed chunk
 *   }
 *   return sequence;
 * }
 * ```
 */
export interface Store extends AsyncDisposable {
  /** The sizes this store accepts. */
  readonly limits: StoreLimits;
  /** Every space, once each, in ascending UTF-8 byte order. */
  getSpaces(options?: ReadOptions): AsyncIterable<string>;
  /** Every segment of a space, once each, in ascending UTF-8 byte order. */
  getSegments(space: string, options?: ReadOptions): AsyncIterable<string>;
  /** A segment's entries in ascending sequence, within the given bounds. */
  consumeSegment(args: ConsumeSegmentArgs): AsyncIterable<Entry>;
  /** A space's entries as one timeline ordered by (timestamp, segment, sequence). */
  consumeSpace(args: ConsumeSpaceArgs): AsyncIterable<Entry>;
  /**
   * Several spaces as one timeline ordered by (timestamp, space, segment, sequence), each
   * resumable from its own offset, and ordered across calls: one call reads every space up to
   * one common bound, so resuming never yields an entry that sorts before one already read.
   */
  consume(args: ConsumeArgs): AsyncIterable<Entry>;
  /**
   * Every entry committed to the spaces, once each, in `consume`'s order: the history after the
   * offsets, then each new chunk as it commits, with `caught-up` events at the live end. Ends
   * only when `signal` aborts (with its reason) or the store closes (`Closed`).
   */
  follow(args: FollowArgs): AsyncIterable<FollowEvent>;
  /** {@linkcode Store.follow} for one segment, in sequence order. */
  followSegment(args: FollowSegmentArgs): AsyncIterable<FollowEvent>;
  /** The segment's last entry, or `undefined` when the segment has none. */
  peek(space: string, segment: string, options?: ReadOptions): Promise<Entry | undefined>;
  /** The segment's first and last sequence and timestamp, or `undefined` when it has none. */
  getSegmentStatus(
    space: string,
    segment: string,
    options?: ReadOptions,
  ): Promise<SegmentStatus | undefined>;
  /**
   * Appends records to a segment, lazily: iterating the result reads the records in chunks,
   * commits each chunk atomically and yields the segment's status after it.
   */
  produce(
    args: ProduceArgs,
    records: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  ): AsyncIterable<SegmentStatus>;
  /**
   * Appends entries exactly as given (sequence, timestamp, trx, payload, metadata), continuing
   * the segment: sequences follow the head (else `SequenceMismatch`), timestamps and trx numbers
   * never decrease and are not below the head's (else `InvalidArgument`). The entries of one
   * trx commit together, split into several atomic chunks only where the store's chunk limit
   * forces it. Lazy like `produce`: yields the segment's status after each committed chunk. For
   * moving, backing up and copying stores: restored entries keep their old timestamps, so they
   * may land behind a follower's offset; restore into empty or quiet spaces.
   */
  restore(
    args: RestoreArgs,
    entries: Iterable<Entry> | AsyncIterable<Entry>,
  ): AsyncIterable<SegmentStatus>;
  /** The checkpoint `name`, or `undefined` when none was written. */
  getCheckpoint(name: string, options?: ReadOptions): Promise<Checkpoint | undefined>;
  /** Every checkpoint, once each, by name in ascending UTF-8 byte order. */
  getCheckpoints(options?: ReadOptions): AsyncIterable<Checkpoint>;
  /**
   * Writes checkpoint `name` (its version one more): a compare-and-set with `expectedVersion`
   * (`Conflict` on a mismatch), fenced with `lease` (`LeaseLost`, nothing written, once the
   * lease is not its name's current one).
   */
  putCheckpoint(
    name: string,
    value: Uint8Array,
    options?: PutCheckpointOptions,
  ): Promise<Checkpoint>;
  /**
   * Takes lease `name` for `owner`, with a fencing token above every earlier one of the name;
   * `undefined` while another owner holds it unexpired.
   */
  acquireLease(name: string, options: AcquireLeaseOptions): Promise<Lease | undefined>;
  /** Extends `lease`; `LeaseLost` when it expired or is no longer its name's current one. */
  renewLease(lease: Lease, options?: RenewLeaseOptions): Promise<Lease>;
  /** Gives `lease` up (its name free at once); nothing when it is no longer current. */
  releaseLease(lease: Lease, options?: ReadOptions): Promise<void>;
  /**
   * Every lease ever acquired, once each, by name in ascending UTF-8 byte order, as its record
   * says now: held, expired, or released (`expiresAt` 0).
   */
  getLeases(options?: ReadOptions): AsyncIterable<Lease>;
  /** Closes the handle; idempotent. Every later call fails with kind `Closed`. */
  close(): Promise<void>;
}

/**
 * Opens stores of one backend.
 *
 * @example
 * ```ts
 * import type { StoreFactory } from "@streamkit/core";
 * async function printSpaces(factory: StoreFactory, storeId: string): Promise<void> {
 *   await using store = await factory.newStore(storeId);
 *   for await (const space of store.getSpaces()) console.log(space);
 * }
 * async function printStores(factory: StoreFactory): Promise<void> {
 *   for (const storeId of await factory.listStores?.() ?? []) console.log(storeId);
 * }
 * ```
 */
export interface StoreFactory extends AsyncDisposable {
  /** Opens (creating if needed) the store with this UUID. */
  newStore(storeId: StoreId): Promise<Store>;
  /**
   * The ids of the stores the factory's database holds, in ascending order. Optional: drivers
   * whose stores outlive the process (level, azure) have it; memory does not.
   */
  listStores?(options?: ReadOptions): Promise<StoreId[]>;
  /** Closes every store this factory opened; idempotent. */
  close(): Promise<void>;
}
