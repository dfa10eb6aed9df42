// The one implementation of the Store semantics (validation, chunking, sequence checks, single
// winner, timestamps, watermarks, notifications, lifecycle) over a driver's backend.

import { concatBytes } from "../codec/bytes.ts";
import type { SegmentHead, StoreBackend } from "../backend.ts";
import type { StatusBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import { SequenceMismatchError, StreamkitError } from "../errors.ts";
import { compareKeys, i64 } from "../codec/lexkey.ts";
import type { KeyedLock } from "./_lock.ts";
import { validateName } from "../names.ts";
import { prefixEnd, spaceIndexPrefix } from "../codec/keys.ts";
import { parseSpaceOffset, spaceOffset } from "../offsets.ts";
import { ChunkReader } from "./_chunk_reader.ts";
import type { ChangeFeed } from "./_change_feed.ts";
import { mergeTimelines } from "./_merge.ts";
import type {
  ConsumeArgs,
  ConsumeSegmentArgs,
  ConsumeSpaceArgs,
  Entry,
  FollowArgs,
  FollowEvent,
  FollowSegmentArgs,
  ProduceArgs,
  ProduceRecord,
  ReadOptions,
  RestoreArgs,
  SegmentStatus,
  Store,
  StoreLimits,
  Trx,
} from "../types.ts";
import type { SpaceWatermark } from "./_watermark.ts";

/** What every handle on one opened store shares. */
export interface SharedStore {
  storeId: string;
  backend: StoreBackend;
  /** Serialises head read and commit per segment, across handles. */
  lock: KeyedLock;
  watermark: SpaceWatermark;
  /** Wakes followers when a chunk commits. */
  feed: ChangeFeed;
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

/** Where a read of several spaces starts: each space and the offset it resumes after. */
interface SpacePosition {
  space: string;
  offset: Uint8Array | undefined;
}

const utf8 = new TextEncoder();

/** The `spaces` of `consume` and `follow`, checked, in UTF-8 byte order of their names. */
function spacePositions(spaces: unknown): SpacePosition[] {
  if (typeof spaces !== "object" || spaces === null || Array.isArray(spaces)) {
    throw new StreamkitError(
      "InvalidArgument",
      "spaces: must be an object of space names to offsets (or undefined)",
    );
  }
  const positions = Object.entries(spaces as Record<string, unknown>).map(([space, offset]) => {
    validateName("spaces (a space name)", space);
    if (offset !== undefined) parseSpaceOffset(space, offset as Uint8Array);
    return { space, offset: offset as Uint8Array | undefined, key: utf8.encode(space) };
  });
  if (positions.length === 0) {
    throw new StreamkitError("InvalidArgument", "spaces: must name at least one space");
  }
  positions.sort((a, b) => compareKeys(a.key, b.key));
  return positions.map(({ space, offset }) => ({ space, offset }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What `restore` requires of each entry beyond what `produce` requires of a record. */
function checkRestoredEntry(entry: Entry, index: number, space: string, segment: string): void {
  const invalid = (why: string) =>
    new StreamkitError("InvalidArgument", `entries[${index}].${why}`);
  if (entry.space !== space) {
    throw invalid(
      `space: must be ${JSON.stringify(space)} (the restore's), got ${JSON.stringify(entry.space)}`,
    );
  }
  if (entry.segment !== segment) {
    throw invalid(
      `segment: must be ${JSON.stringify(segment)} (the restore's), got ${
        JSON.stringify(entry.segment)
      }`,
    );
  }
  if (!Number.isSafeInteger(entry.timestamp) || entry.timestamp < 0) {
    throw invalid(
      `timestamp: must be a non-negative safe integer (Unix ms), got ${String(entry.timestamp)}`,
    );
  }
  const trx = entry.trx;
  if (typeof trx !== "object" || trx === null) {
    throw invalid("trx: must be an object { id, node, number }");
  }
  if (typeof trx.id !== "string" || !UUID.test(trx.id)) {
    throw invalid(`trx.id: must be a UUID, got ${JSON.stringify(trx.id)}`);
  }
  if (typeof trx.node !== "string" || !UUID.test(trx.node)) {
    throw invalid(`trx.node: must be a UUID, got ${JSON.stringify(trx.node)}`);
  }
  if (!Number.isSafeInteger(trx.number) || trx.number < 1) {
    throw invalid(`trx.number: must be a safe integer >= 1, got ${String(trx.number)}`);
  }
}

/** What `#follow` needs to know of what it follows. */
interface FollowPlan {
  /** The change-feed keys whose commits wake the follower. */
  keys: string[];
  pollIntervalMs: number;
  /** Everything committed so far, after what was delivered. */
  read(stop: AbortSignal): Promise<AsyncIterable<Entry>>;
  /** An entry is handed to the caller. */
  delivered(entry: Entry): void;
  /** A read ended, however: the next one resumes after what was delivered. */
  ended(): void;
  /** Whether a full read may find anything (one cheap read per space), for idle polls. */
  probe?(stop: AbortSignal): Promise<boolean>;
}

/** Followers of a store shared across processes poll no sooner than this after an empty read. */
const FIRST_POLL_MS = 25;
const DEFAULT_POLL_INTERVAL_MS = 1_000;

function pollInterval(value: unknown): number {
  if (value === undefined) return DEFAULT_POLL_INTERVAL_MS;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new StreamkitError(
      "InvalidArgument",
      `pollIntervalMs: must be a positive safe integer (milliseconds), got ${String(value)}`,
    );
  }
  return value as number;
}

/** The change-feed key of a segment: names hold no U+0000, so it never equals a space. */
function segmentFeedKey(space: string, segment: string): string {
  return `${space}\u0000${segment}`;
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
    const positions = [{ space, offset: args.offset }];
    const upper = await this.#readBound(positions, maxTimestamp, args.signal);
    let count = 0;
    const timeline = this.#spaceTimeline(positions[0], minTimestamp, upper, limit, args.signal);
    for await (const entry of timeline) {
      this.#assertReadable(args.signal);
      yield entry;
      if (++count === limit) return;
    }
  }

  async *consume(args: ConsumeArgs): AsyncIterable<Entry> {
    const positions = spacePositions(args?.spaces);
    const minTimestamp = optionalCount("minTimestamp", args.minTimestamp);
    const maxTimestamp = optionalCount("maxTimestamp", args.maxTimestamp);
    const limit = optionalCount("limit", args.limit);
    this.#assertReadable(args.signal);
    const upper = await this.#readBound(positions, maxTimestamp, args.signal);
    let count = 0;
    for await (const entry of this.#timelines(positions, minTimestamp, upper, limit, args.signal)) {
      this.#assertReadable(args.signal);
      yield entry;
      if (++count === limit) return;
    }
  }

  follow(args: FollowArgs): AsyncIterable<FollowEvent> {
    return this.#follow(args?.signal, () => {
      const positions = spacePositions(args?.spaces);
      // Offsets are encoded once a read ends, from the last entry delivered of each space.
      const lastDelivered = new Map<string, Entry>();
      return {
        keys: positions.map((position) => position.space),
        pollIntervalMs: pollInterval(args.pollIntervalMs),
        read: async (stop) => {
          const upper = await this.#readBound(positions, 0, stop);
          return this.#timelines(positions, 0, upper, 0, stop);
        },
        delivered: (entry) => lastDelivered.set(entry.space, entry),
        ended: () => {
          for (const position of positions) {
            const last = lastDelivered.get(position.space);
            if (last) position.offset = spaceOffset(last);
          }
          lastDelivered.clear();
        },
        probe: (stop) => this.#anyEntryPast(positions, stop),
      };
    });
  }

  followSegment(args: FollowSegmentArgs): AsyncIterable<FollowEvent> {
    return this.#follow(args?.signal, () => {
      const space = validateName("space", args?.space);
      const segment = validateName("segment", args.segment);
      let after = optionalCount("afterSequence", args.afterSequence);
      const { backend, watermark } = this.#shared;
      return {
        keys: [segmentFeedKey(space, segment)],
        pollIntervalMs: pollInterval(args.pollIntervalMs),
        read: (stop) => {
          const range = { minSequence: after + 1, maxSequence: Number.MAX_SAFE_INTEGER, limit: 0 };
          return Promise.resolve(backend.scanSegment(space, segment, range, stop));
        },
        delivered: (entry) => {
          // Its space offset may be resumed from: later chunks must be stamped above it.
          watermark.observe(space, entry.timestamp);
          after = entry.sequence;
        },
        ended: () => {},
      };
    });
  }

  /** The caller's signal or this handle's close, whichever comes first. */
  #stopSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
  }

  /**
   * The loop of `follow` and `followSegment`, over the plan `plan()` returns (called on the
   * first `next()`, so bad arguments fail there like every read's): read everything committed
   * so far (`read`; `delivered` sees each entry handed out, `ended` the end of the read, so the
   * next read resumes after them), say `caught-up`, wait for a commit of this process to the
   * plan's `keys` (and, on a store shared across processes, poll: at once after a read that
   * found entries, then backing off to `pollIntervalMs`, asking `probe` first when there is
   * one), and again.
   */
  async *#follow(
    signal: AbortSignal | undefined,
    plan: () => FollowPlan,
  ): AsyncIterable<FollowEvent> {
    const rounds = plan();
    const { keys, pollIntervalMs } = rounds;
    this.#assertReadable(signal);
    const stop = this.#stopSignal(signal);
    const { feed, backend } = this.#shared;
    const polls = backend.shared !== undefined;
    const firstPollMs = Math.min(FIRST_POLL_MS, pollIntervalMs);
    let waitMs = firstPollMs;
    let caughtUpSaid = false;
    let deliveredSinceCaughtUp = false;
    while (true) {
      // Taken before reading: a commit that lands during the read is waited for by no one.
      const versions = feed.versions(keys);
      let delivered = 0;
      const timeline = await rounds.read(stop);
      try {
        for await (const entry of timeline) {
          this.#assertReadable(signal);
          rounds.delivered(entry);
          delivered++;
          deliveredSinceCaughtUp = true;
          yield { type: "entry", entry };
        }
      } finally {
        rounds.ended();
      }
      this.#assertReadable(signal);
      if (!caughtUpSaid || deliveredSinceCaughtUp) {
        caughtUpSaid = true;
        deliveredSinceCaughtUp = false;
        yield { type: "caught-up" };
      }
      if (!polls) {
        await feed.wait(keys, versions, stop);
        continue;
      }
      if (delivered > 0) {
        waitMs = firstPollMs;
        continue;
      }
      // Nothing new, or entries there but held back (another process's chunk still pending):
      // back off either way until a read delivers again or this process commits.
      while (true) {
        await feed.wait(keys, versions, stop, waitMs);
        if (feed.changedSince(keys, versions)) {
          waitMs = firstPollMs;
          break;
        }
        waitMs = Math.min(2 * waitMs, pollIntervalMs);
        if (!rounds.probe || await rounds.probe(stop)) break;
      }
    }
  }

  /**
   * How far a read of `positions` may go: the lowest of their readable bounds (chunks this
   * process is still committing, and what the backend holds back for other processes), and
   * `maxTimestamp` when given. One bound for all the spaces keeps reads ordered across calls.
   */
  async #readBound(
    positions: readonly SpacePosition[],
    maxTimestamp: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const { watermark, clock, backend } = this.#shared;
    const now = clock.now();
    let bound = now;
    for (const { space } of positions) bound = Math.min(bound, watermark.boundOf(space, now));
    const shared = backend.shared;
    if (shared) {
      const held = await Promise.all(
        positions.map(({ space }) => shared.spaceReadBound(space, signal)),
      );
      for (const limit of held) if (limit !== undefined) bound = Math.min(bound, limit);
    }
    // Never read where a chunk of this store could still land (gap-free tailing).
    for (const { space } of positions) watermark.observe(space, bound);
    return maxTimestamp > 0 ? Math.min(maxTimestamp, bound) : bound;
  }

  /** The entries of one space after its offset, above `minTimestamp`, up to `upper`. */
  #spaceTimeline(
    position: SpacePosition,
    minTimestamp: number,
    upper: number,
    limit: number,
    signal: AbortSignal | undefined,
  ): AsyncIterable<Entry> {
    const prefix = spaceIndexPrefix(position.space);
    let gt = prefix;
    if (minTimestamp > 0) gt = concatBytes(prefix, i64(minTimestamp + 1).bytes);
    if (position.offset !== undefined) gt = maxBytes(gt, position.offset);
    const lt = concatBytes(prefix, i64(upper + 1).bytes);
    return this.#shared.backend.scanSpace(position.space, { gt, lt, limit }, signal);
  }

  /** The spaces' timelines merged by (timestamp, space, segment, sequence). */
  #timelines(
    positions: readonly SpacePosition[],
    minTimestamp: number,
    upper: number,
    limit: number,
    signal: AbortSignal | undefined,
  ): AsyncIterable<Entry> {
    const timelines = positions.map((position) =>
      this.#spaceTimeline(position, minTimestamp, upper, limit, signal)
    );
    return timelines.length === 1 ? timelines[0] : mergeTimelines(timelines);
  }

  /**
   * Whether any of the spaces holds an entry after its offset, at any timestamp: one cheap read
   * per space for an idle follower of a shared store, before a full read with its bounds.
   */
  async #anyEntryPast(positions: readonly SpacePosition[], signal: AbortSignal): Promise<boolean> {
    const found = await Promise.all(positions.map(async ({ space, offset }) => {
      const prefix = spaceIndexPrefix(space);
      const range = { gt: offset ?? prefix, lt: prefixEnd(prefix), limit: 1 };
      for await (const _ of this.#shared.backend.scanSpace(space, range, signal)) return true;
      return false;
    }));
    return found.includes(true);
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
    const { space, segment, stop } = this.#startWrite(args);
    const reader = new ChunkReader(records, this.#shared.backend.limits, space, segment);
    yield* this.#commitChunks(
      space,
      segment,
      reader,
      stop,
      (chunk) => this.#produceChunk(space, segment, chunk, stop),
    );
  }

  async *restore(
    args: RestoreArgs,
    entries: Iterable<Entry> | AsyncIterable<Entry>,
  ): AsyncIterable<SegmentStatus> {
    const { space, segment, stop } = this.#startWrite(args);
    const reader = new ChunkReader(entries, this.#shared.backend.limits, space, segment, {
      argument: "entries",
      check: (entry, index) => checkRestoredEntry(entry, index, space, segment),
      // One trx commits together: a chunk holds entries of one trx (more only when it is cut).
      // `next` is not checked yet: anything without this trx's id is another chunk's problem.
      startsChunk: (previous, next) =>
        previous.trx.id !== (next as { trx?: { id?: unknown } } | null)?.trx?.id,
    });
    // A trx cut by the chunk limit goes on in the next chunk, which must agree with its start.
    let lastRestored: Entry | undefined;
    yield* this.#commitChunks(space, segment, reader, stop, (chunk) => {
      const trxStart = lastRestored?.trx.id === chunk[0].trx.id ? lastRestored : chunk[0];
      lastRestored = chunk[chunk.length - 1];
      return this.#restoreChunk(space, segment, chunk, trxStart, stop);
    });
  }

  /** Checks a write's names and the store's state; the signal that stops the write. */
  #startWrite(args: ProduceArgs | RestoreArgs): {
    space: string;
    segment: string;
    stop: AbortSignal;
  } {
    const space = validateName("space", args?.space);
    const segment = validateName("segment", args.segment);
    this.#assertOpen();
    args.signal?.throwIfAborted();
    return { space, segment, stop: this.#stopSignal(args.signal) };
  }

  /**
   * Commits the chunks `reader` cuts, one at a time, yielding the status after each; ends once
   * the backend has finished writing them (see `SharedBackend.finishWrites`).
   */
  async *#commitChunks<T extends ProduceRecord>(
    space: string,
    segment: string,
    reader: ChunkReader<T>,
    stop: AbortSignal,
    commitChunk: (chunk: T[]) => Promise<SegmentStatus>,
  ): AsyncIterable<SegmentStatus> {
    let committed = false;
    try {
      while (true) {
        const chunk = await reader.next(stop);
        if (chunk.length === 0) break;
        const commit = commitChunk(chunk);
        this.#commits.add(commit);
        try {
          const status = await commit;
          committed = true;
          yield status;
        } finally {
          this.#commits.delete(commit);
        }
      }
    } finally {
      reader.close();
    }
    if (committed) await this.#shared.backend.shared?.finishWrites(space, segment);
  }

  /**
   * Commits one chunk under the segment's lock: reads the head, checks that the chunk continues
   * it, lets `prepare` build the chunk against that head (it marks the chunk's timestamp in
   * flight in the watermark), commits, releases the watermark, wakes followers, notifies.
   */
  #commitChunk(
    space: string,
    segment: string,
    firstSequence: number,
    stop: AbortSignal,
    prepare: (head: SegmentHead | undefined) => Promise<{ trx: Trx; entries: Entry[] }>,
  ): Promise<SegmentStatus> {
    const { lock, backend, watermark, bus, storeId, feed } = this.#shared;
    return lock.run(`${space}\u0000${segment}`, async () => {
      stop.throwIfAborted();
      const shared = backend.shared;
      let head =
        await (shared?.readHeadForWrite(space, segment) ?? backend.readHead(space, segment));
      if (firstSequence !== (head?.status.lastSequence ?? 0) + 1 && shared) {
        // A remembered head may be stale: refuse only what the stored head refuses.
        head = await backend.readHead(space, segment);
      }
      const expected = (head?.status.lastSequence ?? 0) + 1;
      if (firstSequence !== expected) {
        throw new SequenceMismatchError(space, segment, expected, firstSequence);
      }
      // Past this point the chunk commits whole, whatever the signal does.
      stop.throwIfAborted();
      const { trx, entries } = await prepare(head);
      const timestamp = entries[0].timestamp;
      const status: SegmentStatus = {
        space,
        segment,
        firstSequence: head?.status.firstSequence ?? firstSequence,
        firstTimestamp: head?.status.firstTimestamp ?? timestamp,
        lastSequence: entries[entries.length - 1].sequence,
        lastTimestamp: timestamp,
      };
      try {
        await backend.commit({ space, segment, head, trx, timestamp, entries, status });
      } finally {
        watermark.release(space, timestamp);
      }
      // After the release: a woken follower's read bound already lets the chunk through.
      feed.committed(space, segmentFeedKey(space, segment));
      bus?.publish(storeId, copyStatus(status));
      return status;
    });
  }

  /** A produce chunk: stamped now (see `stampChunk`), under a new trx. */
  #produceChunk(
    space: string,
    segment: string,
    records: ProduceRecord[],
    stop: AbortSignal,
  ): Promise<SegmentStatus> {
    const { watermark, clock, nodeId } = this.#shared;
    return this.#commitChunk(space, segment, records[0].sequence, stop, async (head) => {
      const timestamp = await stampChunk(
        watermark,
        clock,
        space,
        head?.status.lastTimestamp ?? -Infinity,
      );
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
      return { trx, entries };
    });
  }

  /**
   * A restore chunk: entries of one trx, exactly as given, checked against the head and against
   * `trxStart`, the trx's first entry (of an earlier chunk when the trx was cut).
   */
  #restoreChunk(
    space: string,
    segment: string,
    chunk: Entry[],
    trxStart: Entry,
    stop: AbortSignal,
  ): Promise<SegmentStatus> {
    const { trx, timestamp } = trxStart;
    for (const entry of chunk) {
      if (
        entry.timestamp !== timestamp || entry.trx.node !== trx.node ||
        entry.trx.number !== trx.number
      ) {
        throw new StreamkitError(
          "InvalidArgument",
          `entries: sequence ${entry.sequence} is of trx ${trx.id} but differs from its first entry in timestamp, trx node or trx number`,
        );
      }
    }
    return this.#commitChunk(space, segment, chunk[0].sequence, stop, (head) => {
      if (head && timestamp < head.status.lastTimestamp) {
        throw new StreamkitError(
          "InvalidArgument",
          `entries: sequence ${
            chunk[0].sequence
          } has timestamp ${timestamp}, below the segment's last (${head.status.lastTimestamp})`,
        );
      }
      if (head && trx.number < head.trxNumber) {
        throw new StreamkitError(
          "InvalidArgument",
          `entries: sequence ${
            chunk[0].sequence
          } has trx number ${trx.number}, below the segment's last (${head.trxNumber})`,
        );
      }
      this.#shared.watermark.hold(space, timestamp);
      const entries = chunk.map((entry) => ({ ...entry, metadata: entry.metadata ?? {} }));
      return Promise.resolve({ trx: { ...trx }, entries });
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
