// The frames of the wire (README "Protocol"): a type byte, a 4-byte big-endian length and the
// payload, in streamed request and response bodies.

import { StreamkitError } from "@streamkit/core";

/** What a frame carries. */
export const FrameType = {
  /** A produce record: float64 sequence, uint32 metadata length, metadata JSON, payload. */
  Record: 1,
  /** An entry in the codec of the store's format (`encodeEntry`). */
  Entry: 2,
  /** A control message: UTF-8 JSON. */
  Json: 3,
} as const;

/** The type byte of a frame. */
export type FrameType = typeof FrameType[keyof typeof FrameType];

/** One frame read off a body. */
export interface Frame {
  type: FrameType;
  payload: Uint8Array;
}

const HEADER_BYTES = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** How many bytes of frames one chunk of a streamed body gathers at most. */
export const BATCH_BYTES = 64 * 1024;

/** What {@linkcode soon} resolves with when `promise` has not settled. */
export const NOT_YET: unique symbol = Symbol("not yet");

/**
 * `promise`'s outcome if it settles within a few microtasks (what a read of data at hand
 * takes, not a wait for I/O), else `NOT_YET`; the caller then still holds `promise`.
 */
export async function soon<T>(promise: Promise<T>): Promise<T | typeof NOT_YET> {
  let settled = false;
  const settle = () => settled = true;
  promise.then(settle, settle);
  for (let i = 0; i < 16 && !settled; i++) await null;
  return settled ? await promise : NOT_YET;
}

/** Frames written one after another into one chunk of a body (a copy per frame, no more). */
export class Batch {
  #bytes = new Uint8Array(1024);
  #view = new DataView(this.#bytes.buffer);
  #size = 0;

  /** The bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds a frame's bytes (as {@linkcode frame} makes them). */
  add(frameBytes: Uint8Array): void {
    this.#reserve(frameBytes.byteLength);
    this.#bytes.set(frameBytes, this.#size);
    this.#size += frameBytes.byteLength;
  }

  /** Adds a frame of `type` around `payload`. */
  addFrame(type: FrameType, payload: Uint8Array): void {
    this.#reserve(HEADER_BYTES + payload.byteLength);
    this.#view.setUint8(this.#size, type);
    this.#view.setUint32(this.#size + 1, payload.byteLength);
    this.#bytes.set(payload, this.#size + HEADER_BYTES);
    this.#size += HEADER_BYTES + payload.byteLength;
  }

  /** The frames written, for the body; the batch is not written to after. */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#size);
  }

  #reserve(bytes: number): void {
    if (this.#size + bytes <= this.#bytes.byteLength) return;
    const grown = new Uint8Array(Math.max(this.#bytes.byteLength * 2, this.#size + bytes));
    grown.set(this.#bytes.subarray(0, this.#size));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}

/** One frame's bytes. */
export function frame(type: FrameType, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(1, payload.byteLength);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/** A control message's frame. */
export function jsonFrame(message: unknown): Uint8Array {
  return frame(FrameType.Json, encoder.encode(JSON.stringify(message)));
}

/** The control message a JSON frame holds; `InvalidArgument` if it is no JSON object. */
export function parseJson(payload: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    throw new StreamkitError("InvalidArgument", "frame: a JSON frame holds no valid UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StreamkitError("InvalidArgument", "frame: a JSON frame must hold an object");
  }
  return value as Record<string, unknown>;
}

/**
 * Reads the frames of `body` one at a time (pull: nothing is read ahead of the caller), each
 * at most `maxFrameBytes`; a body cut inside a frame, an unknown type or a length past the
 * limit fails with `InvalidArgument` naming what is wrong, and so does a body that cannot be
 * read (the other side went away). With `stallMs`, a frame begun must go on arriving: no bytes
 * for that long inside a frame fail it too (between frames a body may wait as long as it likes).
 */
export async function* readFrames(
  body: ReadableStream<Uint8Array>,
  maxFrameBytes: number,
  signal?: AbortSignal,
  stallMs?: number,
): AsyncGenerator<Frame> {
  const buffer = new PartsBuffer(body);
  // A read in progress ends at once when `signal` aborts (a fetch's own abort does not always
  // end a pending read of its body): the body is cancelled and the reason thrown.
  const cancel = () => void buffer.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    signal?.throwIfAborted();
    while (true) {
      // Frames already buffered are read without waiting: most of a body's frames are.
      if (buffer.size === 0) {
        await buffer.fill(1);
        signal?.throwIfAborted();
        if (buffer.size === 0) return;
      }
      if (buffer.size < HEADER_BYTES) {
        const header = await buffer.fill(HEADER_BYTES, stallMs);
        signal?.throwIfAborted();
        if (!header) throw truncated("its header");
      }
      const type = buffer.byteAt(0);
      const length = buffer.uint32At(1);
      if (type !== FrameType.Record && type !== FrameType.Entry && type !== FrameType.Json) {
        throw new StreamkitError("InvalidArgument", `frame: unknown frame type ${type}`);
      }
      if (length > maxFrameBytes) {
        throw new StreamkitError(
          "PayloadTooLarge",
          `frame: ${length} bytes exceeds the limit of ${maxFrameBytes} bytes per frame`,
        );
      }
      if (buffer.size < HEADER_BYTES + length) {
        const whole = await buffer.fill(HEADER_BYTES + length, stallMs);
        signal?.throwIfAborted();
        if (!whole) throw truncated(`its ${length} bytes`);
      }
      buffer.skip(HEADER_BYTES);
      yield { type, payload: buffer.take(length) };
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    // Stops the body when the caller stopped early (or failed): nothing more is read.
    await buffer.cancel();
  }
}

/** The smallest and the largest buffer a body is read into (see {@linkcode BodyReader}). */
const MIN_READ_BYTES = 4 * 1024;
const MAX_READ_BYTES = 64 * 1024;

/**
 * Reads a body into a buffer of its own when the body lets it (a byte stream, as Deno's bodies
 * are): a runtime's own reads allocate a zeroed 64 KiB buffer each, whatever arrives, which is
 * most of the cost of a follow's small chunks. The buffer starts small and doubles while reads
 * fill it, so a bulk read takes big chunks and an idle follow holds 4 KiB.
 */
class BodyReader {
  readonly #byob: ReadableStreamBYOBReader | undefined;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #buffer: ArrayBuffer = new ArrayBuffer(MIN_READ_BYTES);

  constructor(body: ReadableStream<Uint8Array>) {
    try {
      this.#byob = body.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: the runtime's chunks, as they come.
      this.#reader = body.getReader();
    }
  }

  /** The next bytes of the body, in a buffer of their own; `undefined` at its end. */
  async read(): Promise<Uint8Array | undefined> {
    if (this.#reader) {
      const { value, done } = await this.#reader.read();
      return done ? undefined : value;
    }
    const { value, done } = await this.#byob!.read(new Uint8Array(this.#buffer));
    if (done || value === undefined) return undefined;
    // The read hands the buffer back (transferred); what it holds is copied out for the frames.
    const filled = value.byteLength === value.buffer.byteLength;
    this.#buffer = filled && value.buffer.byteLength < MAX_READ_BYTES
      ? new ArrayBuffer(value.buffer.byteLength * 2)
      : value.buffer as ArrayBuffer;
    return value.slice();
  }

  async cancel(): Promise<void> {
    await (this.#byob ?? this.#reader)!.cancel().catch(() => {});
  }
}

/** The bytes read off a body and not yet taken, as the parts they came in (copied once). */
class PartsBuffer {
  readonly #reader: BodyReader;
  #parts: Uint8Array[] = [];
  /** The index of the first part not wholly taken, and how much of it was taken. */
  #first = 0;
  #offset = 0;
  #size = 0;
  #done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = new BodyReader(body);
  }

  /** The bytes buffered. */
  get size(): number {
    return this.#size;
  }

  /**
   * Reads until `bytes` are buffered; false when the body ended first. With `stallMs`, a read
   * that brings nothing for that long cancels the body and fails.
   */
  async fill(bytes: number, stallMs?: number): Promise<boolean> {
    while (this.#size < bytes && !this.#done) {
      let next: Uint8Array | undefined;
      try {
        next = stallMs === undefined
          ? await this.#reader.read()
          : await withinStall(this.#reader.read(), stallMs, () => this.cancel());
      } catch (error) {
        if (error instanceof StreamkitError) throw error;
        throw new StreamkitError("InvalidArgument", "body: could not be read to its end", {
          cause: error,
        });
      }
      if (next === undefined) this.#done = true;
      else if (next.byteLength > 0) {
        this.#parts.push(next);
        this.#size += next.byteLength;
      }
    }
    return this.#size >= bytes;
  }

  /** The buffered byte at `index` (below `size`), left in the buffer. */
  byteAt(index: number): number {
    let part = this.#first;
    let at = this.#offset + index;
    while (at >= this.#parts[part].byteLength) at -= this.#parts[part++].byteLength;
    return this.#parts[part][at];
  }

  /** The big-endian uint32 of the buffered bytes at `index`, left in the buffer. */
  uint32At(index: number): number {
    return (this.byteAt(index) * 0x1000000) +
      ((this.byteAt(index + 1) << 16) | (this.byteAt(index + 2) << 8) | this.byteAt(index + 3));
  }

  /** Drops the next `bytes` buffered bytes. */
  skip(bytes: number): void {
    let left = bytes;
    while (left > 0) {
      const rest = this.#parts[this.#first].byteLength - this.#offset;
      if (rest > left) {
        this.#offset += left;
        break;
      }
      left -= rest;
      this.#first++;
      this.#offset = 0;
    }
    this.#size -= bytes;
    this.#compact();
  }

  /** The next `bytes` buffered bytes, in a buffer of their own. */
  take(bytes: number): Uint8Array {
    const taken = new Uint8Array(bytes);
    let at = 0;
    while (at < bytes) {
      const part = this.#parts[this.#first];
      const left = part.byteLength - this.#offset;
      const wanted = bytes - at;
      if (left <= wanted) {
        taken.set(this.#offset === 0 ? part : part.subarray(this.#offset), at);
        at += left;
        // The part is let go once wholly taken (no copy of its rest per frame).
        this.#first++;
        this.#offset = 0;
      } else {
        taken.set(part.subarray(this.#offset, this.#offset + wanted), at);
        this.#offset += wanted;
        at = bytes;
      }
    }
    this.#size -= bytes;
    this.#compact();
    return taken;
  }

  /** Lets go of the parts wholly taken, once they are half the list. */
  #compact(): void {
    if (this.#first > 64 && this.#first * 2 > this.#parts.length) {
      this.#parts = this.#parts.slice(this.#first);
      this.#first = 0;
    }
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

/**
 * `read`, or `InvalidArgument` once it brought nothing for `stallMs` (after `cancel`): what a
 * client owes in one piece (a frame begun, a JSON body) must keep arriving.
 */
export async function withinStall<T>(
  read: Promise<T>,
  stallMs: number,
  cancel: () => Promise<void>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new StreamkitError(
          "InvalidArgument",
          `body: no bytes came for ${stallMs} ms before the end of what was begun ` +
            "(limits.bodyStallMs)",
        ),
      );
      void cancel();
    }, stallMs);
  });
  try {
    return await Promise.race([read, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

function truncated(what: string): StreamkitError {
  return new StreamkitError("InvalidArgument", `frame: the body ended before ${what}`);
}

/** A produce record's frame payload (see {@linkcode FrameType.Record}). */
export function encodeRecord(
  sequence: number,
  payload: Uint8Array,
  metadata: Record<string, string> | undefined,
): Uint8Array {
  const meta = metadata === undefined
    ? new Uint8Array(0)
    : encoder.encode(JSON.stringify(metadata));
  const bytes = new Uint8Array(12 + meta.byteLength + payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, sequence);
  view.setUint32(8, meta.byteLength);
  bytes.set(meta, 12);
  bytes.set(payload, 12 + meta.byteLength);
  return bytes;
}

/** A produce record from its frame payload; `InvalidArgument` when it is malformed. */
export function decodeRecord(
  bytes: Uint8Array,
): { sequence: number; payload: Uint8Array; metadata?: Record<string, string> } {
  if (bytes.byteLength < 12) {
    throw new StreamkitError("InvalidArgument", "frame: a record frame is shorter than 12 bytes");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sequence = view.getFloat64(0);
  const metaBytes = view.getUint32(8);
  if (12 + metaBytes > bytes.byteLength) {
    throw new StreamkitError("InvalidArgument", "frame: a record's metadata runs past its frame");
  }
  // A frame's payload is a buffer of its own (`readFrames` copies it out of the body): a view.
  const payload = bytes.subarray(12 + metaBytes);
  if (metaBytes === 0) return { sequence, payload };
  return { sequence, payload, metadata: parseJson(bytes.subarray(12, 12 + metaBytes)) as never };
}
