// The one implementation of the Store semantics (validation, chunking, sequence checks, single
// winner, timestamps, watermarks, notifications, lifecycle) over a driver's backend.

import { concatBytes } from "./bytes.ts";
import type { StoreBackend } from "./backend.ts";
import type { StatusBus } from "./bus.ts";
import type { Clock } from "./clock.ts";
import { SequenceMismatchError, StreamkitError } from "./errors.ts";
import { i64 } from "./lexkey.ts";
import type { KeyedLock } from "./_lock.ts";
import { validateName } from "./names.ts";
import { spaceIndexPrefix } from "./keys.ts";
import { parseSpaceOffset } from "./offsets.ts";
import { ChunkReader } from "./_records.ts";
import type {
  ConsumeSegmentArgs,
  ConsumeSpaceArgs,
  Entry,
  ProduceArgs,
  ProduceRecord,
  ReadOptions,
  SegmentStatus,
  Store,
  StoreLimits,
} from "./types.ts";
import type { SpaceWatermark } from "./_watermark.ts";

/** What every handle on one opened store shares. */
export interface SharedStore {
  storeId: string;
  backend: StoreBackend;
  /** Serialises head read and commit per segment, across handles. */
  lock: KeyedLock;
  watermark: SpaceWatermark;
  clock: Clock;
  nodeId: string;
  bus: StatusBus | undefined;
}

function optionalCount(argument: string, value: unknown): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be a non-negative safe integer (0 for unbounded), got ${String(value)}`,
    );
  }
  return value as number;
}

function maxBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] > b[i] ? a : b;
  }
  return a.length >= b.length ? a : b;
}

/**
 * The chunk's timestamp: the clock, or the segment's last timestamp if later; when a reader of
 * the space already read through that millisecond, the next one (waiting for it, at most 1 ms).
 */
async function stampChunk(
  watermark: SpaceWatermark,
  clock: Clock,
  space: string,
  lastTimestamp: number,
): Promise<number> {
  while (true) {
    const timestamp = watermark.tryStamp(space, Math.max(clock.now(), lastTimestamp));
    if (timestamp !== undefined) return timestamp;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function copyStatus(status: SegmentStatus): SegmentStatus {
  return { ...status };
}

/** One handle on an opened store. */
export class EngineStore implements Store {
  #shared: SharedStore;
  #onClose: () => Promise<void>;
  #closing = new AbortController();
  #closed: Promise<void> | undefined;
  #commits = new Set<Promise<unknown>>();

  constructor(shared: SharedStore, onClose: () => Promise<void>) {
    this.#shared = shared;
    this.#onClose = onClose;
  }

  get limits(): StoreLimits {
    const { maxPayloadBytes, maxChunkRecords } = this.#shared.backend.limits;
    return { maxPayloadBytes, maxChunkRecords };
  }

  #closedError(): StreamkitError {
    return new StreamkitError("Closed", `store ${this.#shared.storeId} is closed`);
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closedError();
  }

  /** Checked before every item a read yields: closing or aborting ends the read. */
  #assertReadable(signal: AbortSignal | undefined): void {
    this.#assertOpen();
    signal?.throwIfAborted();
  }

  async *getSpaces(options: ReadOptions = {}): AsyncIterable<string> {
    this.#assertReadable(options.signal);
    for await (const space of this.#shared.backend.listSpaces(options.signal)) {
      this.#assertReadable(options.signal);
      yield space;
    }
  }

  async *getSegments(space: string, options: ReadOptions = {}): AsyncIterable<string> {
    validateName("space", space);
    this.#assertReadable(options.signal);
    for await (const segment of this.#shared.backend.listSegments(space, options.signal)) {
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
    const { watermark } = this.#shared;
    let observed = -Infinity;
    for await (
      const entry of this.#shared.backend.scanSegment(space, segment, range, args.signal)
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

    const prefix = spaceIndexPrefix(space);
    let gt = prefix;
    if (minTimestamp > 0) gt = concatBytes(prefix, i64(minTimestamp + 1).bytes);
    if (args.offset !== undefined) gt = maxBytes(gt, args.offset);
    const { watermark, clock } = this.#shared;
    // Never read where a chunk of this store could still land (gap-free tailing).
    const readable = watermark.readBound(space, clock.now());
    const upper = maxTimestamp > 0 ? Math.min(maxTimestamp, readable) : readable;
    const lt = concatBytes(prefix, i64(upper + 1).bytes);

    let count = 0;
    const range = { gt, lt, limit };
    for await (const entry of this.#shared.backend.scanSpace(space, range, args.signal)) {
      this.#assertReadable(args.signal);
      yield entry;
      if (++count === limit) return;
    }
  }

  async peek(
    space: string,
    segment: string,
    options: ReadOptions = {},
  ): Promise<Entry | undefined> {
    validateName("space", space);
    validateName("segment", segment);
    this.#assertReadable(options.signal);
    const head = await this.#shared.backend.readHead(space, segment, options.signal);
    if (!head) return undefined;
    const last = head.status.lastSequence;
    const range = { minSequence: last, maxSequence: last, limit: 1 };
    for await (
      const entry of this.#shared.backend.scanSegment(space, segment, range, options.signal)
    ) {
      this.#assertReadable(options.signal);
      this.#shared.watermark.observe(space, entry.timestamp);
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
    validateName("space", space);
    validateName("segment", segment);
    this.#assertReadable(options.signal);
    const head = await this.#shared.backend.readHead(space, segment, options.signal);
    this.#assertReadable(options.signal);
    return head && copyStatus(head.status);
  }

  async *produce(
    args: ProduceArgs,
    records: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  ): AsyncIterable<SegmentStatus> {
    const space = validateName("space", args?.space);
    const segment = validateName("segment", args.segment);
    this.#assertOpen();
    args.signal?.throwIfAborted();
    const stop = args.signal
      ? AbortSignal.any([args.signal, this.#closing.signal])
      : this.#closing.signal;
    const reader = new ChunkReader(records, this.#shared.backend.limits, space, segment);
    try {
      while (true) {
        const chunk = await reader.next(stop);
        if (chunk.length === 0) return;
        const commit = this.#commitChunk(space, segment, chunk, stop);
        this.#commits.add(commit);
        try {
          yield await commit;
        } finally {
          this.#commits.delete(commit);
        }
      }
    } finally {
      reader.close();
    }
  }

  #commitChunk(
    space: string,
    segment: string,
    records: ProduceRecord[],
    stop: AbortSignal,
  ): Promise<SegmentStatus> {
    const { lock, backend, watermark, clock, nodeId, bus, storeId } = this.#shared;
    return lock.run(`${space}\u0000${segment}`, async () => {
      stop.throwIfAborted();
      let head =
        await (backend.readHeadForWrite?.(space, segment) ?? backend.readHead(space, segment));
      if (
        records[0].sequence !== (head?.status.lastSequence ?? 0) + 1 && backend.readHeadForWrite
      ) {
        // A remembered head may be stale: refuse only what the stored head refuses.
        head = await backend.readHead(space, segment);
      }
      const expected = (head?.status.lastSequence ?? 0) + 1;
      if (records[0].sequence !== expected) {
        throw new SequenceMismatchError(space, segment, expected, records[0].sequence);
      }
      // Past this point the chunk commits whole, whatever the signal does.
      stop.throwIfAborted();
      const timestamp = await stampChunk(
        watermark,
        clock,
        space,
        head?.status.lastTimestamp ?? -Infinity,
      );
      try {
        const trx = { id: crypto.randomUUID(), node: nodeId, number: (head?.trxNumber ?? 0) + 1 };
        const entries: Entry[] = records.map((record) => ({
          space,
          segment,
          sequence: record.sequence,
          timestamp,
          trx,
          payload: record.payload,
          metadata: record.metadata ?? {},
        }));
        const status: SegmentStatus = {
          space,
          segment,
          firstSequence: head?.status.firstSequence ?? records[0].sequence,
          firstTimestamp: head?.status.firstTimestamp ?? timestamp,
          lastSequence: records[records.length - 1].sequence,
          lastTimestamp: timestamp,
        };
        await backend.commit({ space, segment, head, trx, timestamp, entries, status });
        bus?.publish(storeId, copyStatus(status));
        return status;
      } finally {
        watermark.release(space, timestamp);
      }
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closing.abort(this.#closedError());
      this.#closed = (async () => {
        await Promise.allSettled([...this.#commits]);
        await this.#onClose();
      })();
    }
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
