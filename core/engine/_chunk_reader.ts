// Reads produce records (and restored entries) in chunks: validation, continuity, payload and
// chunk size caps.

import { SequenceMismatchError, StreamkitError } from "../errors.ts";
import type { BackendLimits } from "../backend.ts";
import type { ProduceRecord } from "../types.ts";

/** What `#pull` returns once the source is done. */
const EXHAUSTED: unique symbol = Symbol("exhausted");

/** What `#carried` holds when no item is carried over (an item may be `undefined`). */
const NOTHING_CARRIED: unique symbol = Symbol("nothing carried");

/**
 * Ends the pull of an async source under way with `signal.reason` once `signal` aborts, with one
 * listener for as long as it is needed (a whole chunk): racing each pull against a promise of
 * the abort would leave a reaction on that promise per item. `release` removes the listener.
 */
class AbortablePulls {
  #rejectPull: ((reason: unknown) => void) | undefined;
  readonly #signal: AbortSignal;
  readonly #onAbort = () => this.#rejectPull?.(this.#signal.reason);

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** `next`'s result, or the signal's reason as soon as it aborts, whatever `next` does. */
  pull<R>(next: Promise<R>): Promise<R> {
    this.#signal.throwIfAborted();
    return new Promise<R>((resolve, reject) => {
      this.#rejectPull = reject;
      next.then(resolve, reject);
    });
  }

  release(): void {
    this.#rejectPull = undefined;
    this.#signal.removeEventListener("abort", this.#onAbort);
  }
}

function invalidItem(argument: string, index: number, why: string): StreamkitError {
  return new StreamkitError("InvalidArgument", `${argument}[${index}]${why}`);
}

/** The bytes a record adds to its chunk: payload plus a UTF-8 upper bound of its metadata. */
function checkRecord(
  record: unknown,
  argument: string,
  index: number,
  limits: BackendLimits,
): number {
  if (typeof record !== "object" || record === null) {
    throw invalidItem(argument, index, ": must be an object { sequence, payload, metadata? }");
  }
  const { sequence, payload, metadata } = record as ProduceRecord;
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw invalidItem(
      argument,
      index,
      `.sequence: must be a safe integer >= 1, got ${String(sequence)}`,
    );
  }
  if (!(payload instanceof Uint8Array)) {
    throw invalidItem(argument, index, ".payload: must be a Uint8Array");
  }
  if (payload.byteLength > limits.maxPayloadBytes) {
    throw new StreamkitError(
      "PayloadTooLarge",
      `${argument}[${index}].payload: ${payload.byteLength} bytes exceeds limits.maxPayloadBytes (${limits.maxPayloadBytes})`,
    );
  }
  let bytes = payload.byteLength;
  if (metadata !== undefined) {
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      throw invalidItem(argument, index, ".metadata: must be an object of strings");
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw invalidItem(argument, index, `.metadata[${JSON.stringify(key)}]: must be a string`);
      }
      bytes += (key.length + value.length) * 3;
    }
  }
  return bytes;
}

/** What a {@linkcode ChunkReader} checks beyond a record's own fields. */
export interface ChunkRules<T extends ProduceRecord> {
  /** The argument the items came in, for error messages (`records`, `entries`). */
  argument: string;
  /** Checks what is particular to the items (their index in the source given). */
  check?(item: T, index: number): void;
  /**
   * Whether `next` must start a new chunk after `previous`, whatever the limits allow. Asked
   * before `next` is checked (it may be anything the source yielded), so that a bad item fails
   * its own chunk, never the one before it.
   */
  startsChunk?(previous: T, next: unknown): boolean;
}

/**
 * Pulls records from a sync or async source and cuts them into chunks of at most
 * `maxChunkRecords` records and `maxChunkBytes` bytes (a single record always makes a chunk).
 * Every record is checked before its chunk is handed out, so a bad record fails its chunk whole.
 */
export class ChunkReader<T extends ProduceRecord = ProduceRecord> {
  #source: Iterator<T> | AsyncIterator<T>;
  #isAsync: boolean;
  #limits: BackendLimits;
  #space: string;
  #segment: string;
  #rules: ChunkRules<T>;
  /** An item read but left for the next chunk: unchecked when `startsChunk` cut before it. */
  #carried: unknown = NOTHING_CARRIED;
  #index = 0;
  #previousSequence: number | undefined;
  #done = false;

  constructor(
    records: Iterable<T> | AsyncIterable<T>,
    limits: BackendLimits,
    space: string,
    segment: string,
    rules: ChunkRules<T> = { argument: "records" },
  ) {
    if (records !== null && typeof records === "object" && Symbol.asyncIterator in records) {
      this.#source = records[Symbol.asyncIterator]();
      this.#isAsync = true;
    } else if (records !== null && typeof records === "object" && Symbol.iterator in records) {
      this.#source = (records as Iterable<T>)[Symbol.iterator]();
      this.#isAsync = false;
    } else {
      throw new StreamkitError(
        "InvalidArgument",
        `${rules.argument}: must be an iterable or async iterable`,
      );
    }
    this.#limits = limits;
    this.#space = space;
    this.#segment = segment;
    this.#rules = rules;
  }

  /** The next item of the source (`undefined` is an item too), or `EXHAUSTED`. */
  async #pull(
    signal: AbortSignal,
    pulls: AbortablePulls | undefined,
  ): Promise<unknown> {
    if (this.#done) return EXHAUSTED;
    let result: IteratorResult<T>;
    if (pulls) {
      result = await pulls.pull((this.#source as AsyncIterator<T>).next());
    } else {
      signal.throwIfAborted();
      result = (this.#source as Iterator<T>).next();
    }
    if (result.done) {
      this.#done = true;
      return EXHAUSTED;
    }
    return result.value;
  }

  /** The next chunk, or an empty array when the source is exhausted. */
  async next(signal: AbortSignal): Promise<T[]> {
    const pulls = this.#isAsync ? new AbortablePulls(signal) : undefined;
    try {
      return await this.#nextChunk(signal, pulls);
    } finally {
      pulls?.release();
    }
  }

  async #nextChunk(signal: AbortSignal, pulls: AbortablePulls | undefined): Promise<T[]> {
    const chunk: T[] = [];
    let chunkBytes = 0;
    while (chunk.length < this.#limits.maxChunkRecords) {
      const item = this.#carried !== NOTHING_CARRIED
        ? this.#carried
        : await this.#pull(signal, pulls);
      this.#carried = NOTHING_CARRIED;
      if (item === EXHAUSTED) break;
      if (chunk.length > 0 && this.#rules.startsChunk?.(chunk[chunk.length - 1], item)) {
        this.#carried = item;
        break;
      }
      const index = this.#index;
      const bytes = checkRecord(item, this.#rules.argument, index, this.#limits);
      const record = item as T;
      this.#rules.check?.(record, index);
      if (chunk.length > 0 && chunkBytes + bytes > this.#limits.maxChunkBytes) {
        this.#carried = record;
        break;
      }
      if (this.#previousSequence !== undefined && record.sequence !== this.#previousSequence + 1) {
        throw new SequenceMismatchError(
          this.#space,
          this.#segment,
          this.#previousSequence + 1,
          record.sequence,
        );
      }
      this.#index++;
      this.#previousSequence = record.sequence;
      chunk.push(record);
      chunkBytes += bytes;
    }
    return chunk;
  }

  /** Lets the source release its resources; never waits on a source stuck in `next()`. */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      const returned = this.#source.return?.();
      if (returned instanceof Promise) returned.catch(() => {});
    } catch {
      // A source that fails while closing has nothing left for us to release.
    }
  }
}
