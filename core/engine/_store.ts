/**
 * The one implementation of `Store` over a driver's backend: argument checks and reads here;
 * follows in `_follow.ts`, writes in `_writes.ts`, space read bounds in `_space_reads.ts`.
 *
 * @module
 */

import type { SegmentHead } from "../backend.ts";
import { StreamkitError } from "../errors.ts";
import { validateName } from "../names.ts";
import { parseSpaceOffset } from "../offsets.ts";
import type {
  AcquireLeaseOptions,
  Checkpoint,
  ConsumeArgs,
  ConsumeSegmentArgs,
  ConsumeSpaceArgs,
  Entry,
  FollowArgs,
  FollowEvent,
  FollowSegmentArgs,
  Lease,
  ProduceArgs,
  ProduceRecord,
  PutCheckpointOptions,
  ReadOptions,
  RenewLeaseOptions,
  RestoreArgs,
  SegmentStatus,
  Store,
  StoreLimits,
} from "../types.ts";
import { optionalCount, type SpaceCursor, spaceCursors } from "./_arguments.ts";
import { followSegment, followSpaces } from "./_follow.ts";
import type { OpenedStore, StoreHandle } from "./_opened_store.ts";
import { boundedTimeline, earlierBound, mergedTimeline, readBound } from "./_space_reads.ts";
import { produceChunks, restoreChunks } from "./_writes.ts";
import {
  acquireLease,
  getCheckpoint,
  listCheckpoints,
  listLeases,
  putCheckpoint,
  releaseLease,
  renewLease,
} from "./_meta.ts";

/** One handle on an opened store. */
export class EngineStore implements Store {
  #opened: OpenedStore;
  #handle: StoreHandle;
  #onClose: () => Promise<void>;
  #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(opened: OpenedStore, onClose: () => Promise<void>) {
    this.#opened = opened;
    this.#onClose = onClose;
    this.#handle = {
      opened,
      commitsInFlight: new Set(),
      assertReadable: (signal) => this.#assertReadable(signal),
      stopSignal: (signal) =>
        signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal,
    };
  }

  get limits(): StoreLimits {
    const { maxPayloadBytes, maxChunkRecords } = this.#opened.backend.limits;
    return { maxPayloadBytes, maxChunkRecords };
  }

  #closedError(): StreamkitError {
    return new StreamkitError("Closed", `store ${this.#opened.storeId} is closed`);
  }

  /** Checked before every item a read yields: closing or aborting ends the read. */
  #assertReadable(signal: AbortSignal | undefined): void {
    if (this.#closed) throw this.#closedError();
    signal?.throwIfAborted();
  }

  async *getSpaces(options: ReadOptions = {}): AsyncIterable<string> {
    this.#assertReadable(options.signal);
    for await (const space of this.#opened.backend.listSpaces(options.signal)) {
      this.#assertReadable(options.signal);
      yield space;
    }
  }

  async *getSegments(space: string, options: ReadOptions = {}): AsyncIterable<string> {
    validateName("space", space);
    this.#assertReadable(options.signal);
    for await (const segment of this.#opened.backend.listSegments(space, options.signal)) {
      this.#assertReadable(options.signal);
      yield segment;
    }
  }

  async *consumeSegment(args: ConsumeSegmentArgs): AsyncIterable<Entry> {
    const space = validateName("space", args?.space);
    const segment = validateName("segment", args.segment);
    const minSequence = optionalCount("minSequence", args.minSequence) || 1;
    const maxSequence = optionalCount("maxSequence", args.maxSequence) || Number.MAX_SAFE_INTEGER;
    const minTimestamp = optionalCount("minTimestamp", args.minTimestamp);
    const maxTimestamp = optionalCount("maxTimestamp", args.maxTimestamp);
    const limit = optionalCount("limit", args.limit);
    this.#assertReadable(args.signal);
    if (maxSequence < minSequence) return;
    const filtered = minTimestamp > 0 || maxTimestamp > 0;
    const range = { minSequence, maxSequence, limit: filtered ? 0 : limit };
    let count = 0;
    const { watermark } = this.#opened;
    let observed = -Infinity;
    for await (
      const entry of this.#opened.backend.scanSegment(space, segment, range, args.signal)
    ) {
      this.#assertReadable(args.signal);
      const timestamp = entry.timestamp;
      if (minTimestamp > 0 && timestamp <= minTimestamp) continue;
      // Timestamps never decrease within a segment: past the bound nothing more can match.
      if (maxTimestamp > 0 && timestamp > maxTimestamp) return;
      // Its space offset may be resumed from: later chunks must be stamped above it. The
      // watermark only rises, so a timestamp already observed (a chunk's entries share one)
      // need not be observed again.
      if (timestamp !== observed) {
        watermark.observe(space, timestamp);
        observed = timestamp;
      }
      yield entry;
      if (++count === limit) return;
    }
  }

  async *consumeSpace(args: ConsumeSpaceArgs): AsyncIterable<Entry> {
    const space = validateName("space", args?.space);
    const minTimestamp = optionalCount("minTimestamp", args.minTimestamp);
    const maxTimestamp = optionalCount("maxTimestamp", args.maxTimestamp);
    const limit = optionalCount("limit", args.limit);
    if (args.offset !== undefined) parseSpaceOffset(space, args.offset);
    this.#assertReadable(args.signal);
    const cursors = [{ space, offset: args.offset }];
    const timeline = await this.#timeline(cursors, minTimestamp, maxTimestamp, limit, args.signal);
    let count = 0;
    for await (const entry of timeline) {
      this.#assertReadable(args.signal);
      yield entry;
      if (++count === limit) return;
    }
  }

  async *consume(args: ConsumeArgs): AsyncIterable<Entry> {
    const cursors = spaceCursors(args?.spaces);
    const minTimestamp = optionalCount("minTimestamp", args.minTimestamp);
    const maxTimestamp = optionalCount("maxTimestamp", args.maxTimestamp);
    const limit = optionalCount("limit", args.limit);
    this.#assertReadable(args.signal);
    const timeline = await this.#timeline(cursors, minTimestamp, maxTimestamp, limit, args.signal);
    let count = 0;
    for await (const entry of timeline) {
      this.#assertReadable(args.signal);
      yield entry;
      if (++count === limit) return;
    }
  }

  /** The spaces' timeline up to their read bound (see `readBound` and `boundedTimeline`). */
  async #timeline(
    cursors: readonly SpaceCursor[],
    minTimestamp: number,
    maxTimestamp: number,
    limit: number,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<Entry>> {
    const opened = this.#opened;
    const early = earlierBound(opened, cursors, minTimestamp, maxTimestamp);
    if (early !== undefined) {
      return boundedTimeline(opened, cursors, minTimestamp, maxTimestamp, early, limit, signal);
    }
    const upper = await readBound(opened, cursors, maxTimestamp, signal);
    return mergedTimeline(opened, cursors, minTimestamp, upper, limit, signal);
  }

  follow(args: FollowArgs): AsyncIterable<FollowEvent> {
    return followSpaces(this.#handle, args);
  }

  followSegment(args: FollowSegmentArgs): AsyncIterable<FollowEvent> {
    return followSegment(this.#handle, args);
  }

  async peek(
    space: string,
    segment: string,
    options: ReadOptions = {},
  ): Promise<Entry | undefined> {
    const head = await this.#readHead(space, segment, options.signal);
    if (!head) return undefined;
    const last = head.status.lastSequence;
    const range = { minSequence: last, maxSequence: last, limit: 1 };
    for await (
      const entry of this.#opened.backend.scanSegment(space, segment, range, options.signal)
    ) {
      this.#assertReadable(options.signal);
      this.#opened.watermark.observe(space, entry.timestamp);
      return entry;
    }
    throw new StreamkitError(
      "CorruptData",
      `segment ${JSON.stringify(segment)} of space ${
        JSON.stringify(space)
      }: head names sequence ${last} but no such entry is stored`,
    );
  }

  async getSegmentStatus(
    space: string,
    segment: string,
    options: ReadOptions = {},
  ): Promise<SegmentStatus | undefined> {
    const head = await this.#readHead(space, segment, options.signal);
    this.#assertReadable(options.signal);
    return head && { ...head.status };
  }

  /** The segment's head, once its names and this handle's state are checked. */
  #readHead(
    space: string,
    segment: string,
    signal: AbortSignal | undefined,
  ): Promise<SegmentHead | undefined> {
    validateName("space", space);
    validateName("segment", segment);
    this.#assertReadable(signal);
    return this.#opened.backend.readHead(space, segment, signal);
  }

  produce(
    args: ProduceArgs,
    records: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  ): AsyncIterable<SegmentStatus> {
    return produceChunks(this.#handle, args, records);
  }

  restore(
    args: RestoreArgs,
    entries: Iterable<Entry> | AsyncIterable<Entry>,
  ): AsyncIterable<SegmentStatus> {
    return restoreChunks(this.#handle, args, entries);
  }

  getCheckpoint(name: string, options: ReadOptions = {}): Promise<Checkpoint | undefined> {
    return getCheckpoint(this.#handle, name, options?.signal);
  }

  getCheckpoints(options: ReadOptions = {}): AsyncIterable<Checkpoint> {
    return listCheckpoints(this.#handle, options?.signal);
  }

  putCheckpoint(
    name: string,
    value: Uint8Array,
    options: PutCheckpointOptions = {},
  ): Promise<Checkpoint> {
    return putCheckpoint(this.#handle, name, value, options ?? {});
  }

  acquireLease(name: string, options: AcquireLeaseOptions): Promise<Lease | undefined> {
    return acquireLease(this.#handle, name, options);
  }

  renewLease(lease: Lease, options: RenewLeaseOptions = {}): Promise<Lease> {
    return renewLease(this.#handle, lease, options ?? {});
  }

  releaseLease(lease: Lease, options: ReadOptions = {}): Promise<void> {
    return releaseLease(this.#handle, lease, options?.signal);
  }

  getLeases(options: ReadOptions = {}): AsyncIterable<Lease> {
    return listLeases(this.#handle, options?.signal);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closing.abort(this.#closedError());
      this.#closed = (async () => {
        await Promise.allSettled([...this.#handle.commitsInFlight]);
        await this.#onClose();
      })();
    }
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
