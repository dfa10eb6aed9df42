// The body of a remote produce or restore (README "Writes"): the caller's records (or entries) as
// frames, no more than the server's read-ahead window beyond what it said it read (credits), an
// `ack` each time the caller asks for the next status, and `end` or `stop` at the end.

import {
  decodeEntry,
  encodeEntry,
  type Entry,
  entryDifferences,
  StreamkitError,
} from "@streamkit/core";
import {
  Batch,
  BATCH_BYTES,
  encodeRecord,
  frame,
  FrameType,
  jsonFrame,
  NOT_YET,
  soon,
} from "./_frames.ts";
import { argsToJson, type ReadAhead } from "./_wire.ts";

/** The request body of one write, and what the write tells it. */
export class WriteBody {
  /** The frames to send. */
  readonly stream: ReadableStream<Uint8Array>;
  /** The source's own error, when it threw one. */
  sourceError: { error: unknown } | undefined;
  readonly #iterator: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #encode: (item: unknown) => Uint8Array;
  readonly #window: ReadAhead;
  /** Sent and not yet credited by the server. */
  #inFlight = { items: 0, bytes: 0 };
  #acks = 0;
  #stop = false;
  #sourceDone = false;
  #closed = false;
  /** A read of the source in progress, kept when a wake-up came first. */
  #pending: Promise<IteratorResult<unknown>> | undefined;
  #wake: () => void = () => {};
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;

  /**
   * Checks `items` (`records` of a produce, `entries` of a restore) and sends no more of them
   * than `window` beyond what the server credited.
   */
  constructor(items: unknown, kind: "produce" | "restore", window: ReadAhead) {
    const argument = kind === "produce" ? "records" : "entries";
    if (items !== null && typeof items === "object" && Symbol.asyncIterator in items) {
      this.#iterator = (items as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    } else if (items !== null && typeof items === "object" && Symbol.iterator in items) {
      this.#iterator = (items as Iterable<unknown>)[Symbol.iterator]();
    } else {
      throw new StreamkitError(
        "InvalidArgument",
        `${argument}: must be an iterable or async iterable`,
      );
    }
    this.#encode = kind === "produce" ? recordFrame : entryFrame;
    this.#window = window;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: (controller) => this.#pull(controller),
      cancel: () => this.#finish(),
    }, { highWaterMark: 0 });
  }

  /** The caller asked for the next status: the server may commit the next chunk. */
  ack(): void {
    this.#acks++;
    this.#wake();
  }

  /** The server read `items` items of `bytes` bytes: as much more may be sent. */
  credit(items: number, bytes: number): void {
    this.#inFlight.items -= items;
    this.#inFlight.bytes -= bytes;
    this.#wake();
  }

  #windowFull(): boolean {
    const { items, bytes } = this.#inFlight;
    return items > 0 && (items >= this.#window.items || bytes >= this.#window.bytes);
  }

  /** Asks the server to stop the write as a local close or abort would (no new chunk). */
  stop(): void {
    this.#stop = true;
    this.#wake();
  }

  /** Stops reading the source. */
  #finish(): void {
    this.#closed = true;
    // Not awaited: an async source's return waits behind a read of it in progress.
    if (!this.#sourceDone) {
      this.#sourceDone = true;
      void Promise.resolve(this.#iterator.return?.(undefined)).catch(() => {});
    }
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (!this.#closed) {
      if (this.#stop) {
        controller.enqueue(jsonFrame({ type: "stop" }));
        this.#stop = false;
        return;
      }
      if (this.#acks > 0) {
        for (; this.#acks > 0; this.#acks--) controller.enqueue(jsonFrame({ type: "ack" }));
        return;
      }
      const woken = new Promise<"woken">((resolve) => this.#wake = () => resolve("woken"));
      if (this.#sourceDone || this.#windowFull()) {
        await woken;
        continue;
      }
      this.#pending ??= Promise.resolve(this.#iterator.next());
      let next: IteratorResult<unknown> | "woken";
      try {
        next = await Promise.race([this.#pending, woken]);
      } catch (error) {
        this.#pending = undefined;
        this.#sourceDone = true;
        this.sourceError = { error };
        controller.enqueue(jsonFrame({ type: "source-failed" }));
        return;
      }
      if (next === "woken") continue;
      this.#pending = undefined;
      if (next.done) {
        this.#sourceDone = true;
        controller.enqueue(jsonFrame({ type: "end" }));
        return;
      }
      controller.enqueue(await this.#batch(next.value));
      return;
    }
  }

  /**
   * `first`'s frame with the items that follow it at once (a sync source's, or an async one's
   * already at hand), up to 64 KiB and the window: a chunk per frame would cost a write each.
   */
  async #batch(first: unknown): Promise<Uint8Array> {
    const batch = new Batch();
    let item = first;
    while (true) {
      const frame = this.#encode(item);
      // The server counts the payloads of frames, without their 5-byte headers.
      this.#inFlight.items++;
      this.#inFlight.bytes += frame.byteLength - 5;
      batch.add(frame);
      if (batch.size >= BATCH_BYTES || this.#windowFull() || this.#stop || this.#acks > 0) break;
      let next: IteratorResult<unknown>;
      try {
        const read = this.#iterator.next();
        if (!(read instanceof Promise)) next = read;
        else {
          const ready = await soon(read);
          if (ready === NOT_YET) {
            this.#pending = read;
            break;
          }
          next = ready;
        }
      } catch (error) {
        // Sent with the next pull: what came before it goes first.
        this.#pending = Promise.reject(error);
        this.#pending.catch(() => {});
        break;
      }
      if (next.done) {
        this.#pending = Promise.resolve(next);
        break;
      }
      item = next.value;
    }
    return batch.bytes();
  }

  /** Ends the body (the response has ended): the upload ends, and the source is left. */
  close(): void {
    this.#finish();
    try {
      this.#controller?.close();
    } catch {
      // Closed or cancelled already.
    }
    this.#wake();
  }
}

function recordFrame(record: unknown): Uint8Array {
  if (typeof record === "object" && record !== null) {
    const { sequence, payload, metadata } = record as Record<string, unknown>;
    if (
      typeof sequence === "number" && payload instanceof Uint8Array &&
      (metadata === undefined || isStringMap(metadata))
    ) {
      return frame(
        FrameType.Record,
        encodeRecord(sequence, payload, metadata as Record<string, string> | undefined),
      );
    }
  }
  return rawFrame(record);
}

/** An entry's frame: in the codec when it carries the entry exactly, else as JSON. */
function entryFrame(entry: unknown): Uint8Array {
  const metadata = (entry as { metadata?: unknown } | null)?.metadata;
  if (isStringMap(metadata)) {
    try {
      const bytes = encodeEntry(entry as Entry);
      if (entryDifferences(entry as Entry, decodeEntry(bytes)).length === 0) {
        return frame(FrameType.Entry, bytes);
      }
    } catch {
      // Not an entry the codec can carry: the store refuses it, as JSON shows it.
    }
  }
  return rawFrame(entry);
}

/** An item the codec cannot carry, as JSON: the server's store checks it. */
function rawFrame(item: unknown): Uint8Array {
  let value: unknown;
  try {
    value = argsToJson(item);
  } catch {
    // Nested too deep for the wire (or a cycle): the store refuses what stands for it.
    value = { $unsupported: "object" };
  }
  return jsonFrame({ type: "raw", value });
}

function isStringMap(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === "string");
}
