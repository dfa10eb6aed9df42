// The server's side of a write's body (README "Writes"): frames read as they come into a small
// queue the store's produce or restore reads from, `ack`s that let the next chunk commit, and
// `stop`, which ends the write as a local close would.

import { decodeEntry, type Entry, type ProduceRecord, StreamkitError } from "@streamkit/core";
import { decodeRecord, type Frame, FrameType, parseJson, readFrames } from "./_frames.ts";
import { argsFromJson } from "./_wire.ts";

/** Raised inside a write's source when the client's own source failed (it knows why). */
export class ClientSourceFailed extends StreamkitError {
  constructor() {
    super("InvalidArgument", "the client's source failed");
  }
}

/** Where in the items a failure of the body comes: the store reads the items before it first. */
class Failure {
  constructor(readonly error: unknown) {}
}

/** One write's body, read by a pump while the store reads its items. */
export class WriteChannel {
  readonly #queue: unknown[] = [];
  readonly #maxQueued: number;
  readonly #stop: AbortController;
  #ended = false;
  #failed = false;
  #acks = 0;
  readonly #waiters = new Set<() => void>();

  /**
   * Starts reading `body`: items of `itemType` (records or entries), at most `maxQueued` read
   * ahead of the store; `stop` is aborted when the client asks the write to stop.
   */
  constructor(
    body: ReadableStream<Uint8Array>,
    maxFrameBytes: number,
    itemType: typeof FrameType.Record | typeof FrameType.Entry,
    maxQueued: number,
    stop: AbortController,
  ) {
    this.#maxQueued = maxQueued;
    this.#stop = stop;
    stop.signal.addEventListener("abort", () => this.#wake(), { once: true });
    void this.#pump(readFrames(body, maxFrameBytes), itemType);
  }

  async #pump(frames: AsyncGenerator<Frame>, itemType: FrameType): Promise<void> {
    try {
      for await (const frame of frames) {
        if (frame.type === itemType) {
          this.#push(itemType === FrameType.Record ? decodeRecord(frame.payload) : entryOf(frame));
        } else if (frame.type === FrameType.Json) {
          this.#control(parseJson(frame.payload));
        } else {
          throw new StreamkitError("InvalidArgument", `frame: unexpected frame type ${frame.type}`);
        }
        // Read no further ahead of the store than the queue holds.
        while (this.#queue.length >= this.#maxQueued && !this.#stop.signal.aborted) {
          await this.#woken();
        }
      }
      if (!this.#ended) {
        // The client went away: no chunk may start (a local close), and the items end in error.
        const error = new StreamkitError("InvalidArgument", "body: ended before its end frame");
        this.#stop.abort(error);
        this.#fail(error);
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  #control(message: Record<string, unknown>): void {
    switch (message.type) {
      case "raw":
        return this.#push(argsFromJson(message.value));
      case "ack":
        this.#acks++;
        return this.#wake();
      case "end":
        this.#ended = true;
        return this.#wake();
      case "stop":
        this.#stop.abort(new StreamkitError("Closed", "the client stopped the write"));
        return this.#wake();
      case "source-failed":
        return this.#fail(new ClientSourceFailed());
      default:
        throw new StreamkitError(
          "InvalidArgument",
          `frame: unexpected control message ${JSON.stringify(String(message.type))}`,
        );
    }
  }

  #push(item: unknown): void {
    if (this.#ended || this.#failed) {
      throw new StreamkitError("InvalidArgument", "frame: an item after the end frame");
    }
    this.#queue.push(item);
    this.#wake();
  }

  /** Ends the items with `error`, after those read before it. */
  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue.push(new Failure(error));
    this.#wake();
  }

  #wake(): void {
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  #woken(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  /** The items for the store's write, as the pump reads them. */
  async *items(): AsyncGenerator<ProduceRecord | Entry> {
    while (true) {
      if (this.#queue.length > 0) {
        const item = this.#queue.shift();
        this.#wake();
        if (item instanceof Failure) throw item.error;
        yield item as ProduceRecord;
        continue;
      }
      if (this.#ended) return;
      await this.#woken();
    }
  }

  /** Resolves once the client asked for `count` statuses beyond the first (or stopped). */
  async acked(count: number): Promise<void> {
    while (this.#acks < count && !this.#stop.signal.aborted) {
      await this.#woken();
    }
  }
}

function entryOf(frame: Frame): Entry {
  try {
    return decodeEntry(frame.payload);
  } catch (error) {
    if (error instanceof StreamkitError && error.kind === "CorruptData") {
      throw new StreamkitError("InvalidArgument", `frame: an entry frame: ${error.message}`);
    }
    throw error;
  }
}
