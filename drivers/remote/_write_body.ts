// The body of a remote produce or restore (README "Writes"): the caller's records (or entries) as
// frames, no more than a window ahead of the statuses the caller asked for, an `ack` each time it
// asks for the next one, and `end` or `stop` at the end.

import {
  decodeEntry,
  encodeEntry,
  type Entry,
  entryDifferences,
  type SegmentStatus,
  StreamkitError,
} from "@streamkit/core";
import { encodeRecord, frame, FrameType, jsonFrame } from "./_frames.ts";
import { argsToJson } from "./_wire.ts";

/** The request body of one write, and what the write tells it. */
export class WriteBody {
  /** The frames to send. */
  readonly stream: ReadableStream<Uint8Array>;
  /** The source's own error, when it threw one. */
  sourceError: { error: unknown } | undefined;
  readonly #iterator: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #encode: (item: unknown) => Uint8Array;
  readonly #window: number;
  #sent = 0;
  #covered = 0;
  #firstSequence: number | undefined;
  #lastCovered: number | undefined;
  #acks = 0;
  #stop = false;
  #sourceDone = false;
  #closed = false;
  /** A read of the source in progress, kept when a wake-up came first. */
  #pending: Promise<IteratorResult<unknown>> | undefined;
  #wake: () => void = () => {};
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;

  /**
   * Checks `items` (`records` of a produce, `entries` of a restore) and sends at most `window`
   * of them beyond those the statuses asked for so far cover.
   */
  constructor(items: unknown, kind: "produce" | "restore", window: number) {
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

  /** The caller asked for the status after `status`: the server may commit the next chunk. */
  ack(status: SegmentStatus): void {
    if (this.#lastCovered === undefined) {
      this.#covered += status.lastSequence - (this.#firstSequence ?? status.lastSequence) + 1;
    } else {
      this.#covered += status.lastSequence - this.#lastCovered;
    }
    this.#lastCovered = status.lastSequence;
    this.#acks++;
    this.#wake();
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
      if (this.#sourceDone || this.#sent - this.#covered >= this.#window) {
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
      if (this.#sent === 0) {
        const sequence = (next.value as { sequence?: unknown } | null)?.sequence;
        if (typeof sequence === "number") this.#firstSequence = sequence;
      }
      this.#sent++;
      controller.enqueue(this.#encode(next.value));
      return;
    }
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
  return jsonFrame({ type: "raw", value: argsToJson(item) });
}

function isStringMap(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === "string");
}
