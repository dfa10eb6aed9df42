// The server's side of a write's body (README "Writes"): frames read as they come into a small
// queue the store's produce or restore reads from, `ack`s that let the next chunk commit, and
// `stop`, which ends the write as a local close would.

import { decodeEntry, type Entry, type ProduceRecord, StreamkitError } from "@streamkit/core";
import {
  decodeRecord,
  type Frame,
  FrameType,
  jsonFrame,
  parseJson,
  readFrames,
} from "./_frames.ts";
import { Fifo } from "./_fifo.ts";
import { argsFromJson, type ReadAhead } from "./_wire.ts";

/** Raised inside a write's source when the client's own source failed (it knows why). */
class ClientSourceFailed extends StreamkitError {
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
  readonly #queue = new Fifo<{ item: unknown; bytes: number }>();
  readonly #readAhead: ReadAhead;
  readonly #stop: AbortController;
  /** The client sent its end frame: no more items. */
  #ended = false;
  /** The body is read to its end or failed: no more acks can come. */
  #bodyDone = false;
  #failed = false;
  #acks = 0;
  readonly #waiters = new Set<() => void>();
  /** What the store read and the client has not yet been told of (a credit frame). */
  #uncredited = { items: 0, bytes: 0 };
  /** What the store read in all. */
  #consumed = { items: 0, bytes: 0 };
  /** What the body brought in all, and what the client was told the store read. */
  #received = { items: 0, bytes: 0 };
  #credited = { items: 0, bytes: 0 };
  #send: ((frame: Uint8Array) => void) | undefined;
  #needsCredit: () => void = () => {};
  /**
   * Resolves once the store has read a whole window before its first chunk committed: the
   * response must start, so that credits reach the client and it sends the rest.
   */
  readonly creditNeeded: Promise<void>;

  /**
   * Starts reading `body`: frames of at most `maxFrameBytes`, items of `itemType` (records or
   * entries), no further than `readAhead` ahead of the store, none stalled inside for `stallMs`;
   * `stop` is aborted when the client asks the write to stop, when the body fails or the client
   * goes away, and by the response once it has ended.
   */
  constructor(
    body: ReadableStream<Uint8Array>,
    { maxFrameBytes, itemType, readAhead, stallMs }: {
      maxFrameBytes: number;
      itemType: typeof FrameType.Record | typeof FrameType.Entry;
      readAhead: ReadAhead;
      stallMs: number;
    },
    stop: AbortController,
  ) {
    this.#readAhead = readAhead;
    this.#stop = stop;
    this.creditNeeded = new Promise((resolve) => this.#needsCredit = resolve);
    stop.signal.addEventListener("abort", () => this.#wake(), { once: true });
    // The body is cancelled once the write stops: a pending read of it ends, and so does the pump.
    void this.#pump(readFrames(body, maxFrameBytes, stop.signal, stallMs), itemType);
  }

  async #pump(frames: AsyncGenerator<Frame>, itemType: FrameType): Promise<void> {
    try {
      for await (const frame of frames) {
        if (frame.type === itemType) {
          const item = itemType === FrameType.Record ? decodeRecord(frame.payload) : entryOf(frame);
          this.#push(item, frame.payload.byteLength);
        } else if (frame.type === FrameType.Json) {
          this.#control(parseJson(frame.payload), frame.payload.byteLength);
        } else {
          throw new StreamkitError("InvalidArgument", `frame: unexpected frame type ${frame.type}`);
        }
        if (this.#stop.signal.aborted) return;
      }
      if (!this.#ended) {
        throw new StreamkitError("InvalidArgument", "body: ended before its end frame");
      }
    } catch (error) {
      // A bad frame, a cut body or a client gone: the items end in the error, at its place.
      this.#fail(error);
    } finally {
      this.#bodyDone = true;
      this.#wake();
    }
  }

  #control(message: Record<string, unknown>, bytes: number): void {
    switch (message.type) {
      case "raw":
        return this.#push(argsFromJson(message.value), bytes);
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

  /**
   * Queues an item. The pump never pauses (an ack or a stop may come behind any item); what
   * bounds the queue is the window: a client may send an item only while what it sent beyond
   * the credits it heard of is under the window (or nothing), so an item sent past it fails
   * the write.
   */
  #push(item: unknown, bytes: number): void {
    if (this.#ended || this.#failed) {
      throw new StreamkitError("InvalidArgument", "frame: an item after the end frame");
    }
    const ahead = {
      items: this.#received.items - this.#credited.items,
      bytes: this.#received.bytes - this.#credited.bytes,
    };
    if (
      ahead.items > 0 &&
      (ahead.items >= this.#readAhead.items || ahead.bytes >= this.#readAhead.bytes)
    ) {
      throw new StreamkitError(
        "PayloadTooLarge",
        `body: an item sent past the read-ahead window (${this.#readAhead.items} items, ` +
          `${this.#readAhead.bytes} bytes beyond the credits sent)`,
      );
    }
    this.#received.items++;
    this.#received.bytes += bytes;
    this.#queue.push({ item, bytes });
    this.#wake();
  }

  /** Ends the items with `error`, after those read before it. */
  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue.push({ item: new Failure(error), bytes: 0 });
    this.#wake();
  }

  #wake(): void {
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  #woken(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  /** Sends credit frames from now on (the response has started). */
  open(send: (frame: Uint8Array) => void): void {
    this.#send = send;
    this.#credit(true);
  }

  /** Tells the client what the store read, a quarter window at a time, or all when asked. */
  #credit(all: boolean): void {
    const { items, bytes } = this.#uncredited;
    if (items === 0) return;
    const quarter = items * 4 >= this.#readAhead.items || bytes * 4 >= this.#readAhead.bytes;
    if (!all && !quarter) return;
    if (!this.#send) {
      if (
        this.#consumed.items >= this.#readAhead.items ||
        this.#consumed.bytes >= this.#readAhead.bytes
      ) {
        this.#needsCredit();
      }
      return;
    }
    this.#send(jsonFrame({ type: "credit", items, bytes }));
    this.#credited.items += items;
    this.#credited.bytes += bytes;
    this.#uncredited = { items: 0, bytes: 0 };
  }

  /** The items for the store's write, as the pump reads them. */
  async *items(): AsyncGenerator<ProduceRecord | Entry> {
    while (true) {
      const next = this.#queue.shift();
      if (next) {
        this.#uncredited.items++;
        this.#uncredited.bytes += next.bytes;
        this.#consumed.items++;
        this.#consumed.bytes += next.bytes;
        // A quarter window at a time: a client whose window is full has a whole one to credit.
        this.#credit(false);
        this.#wake();
        if (next.item instanceof Failure) throw next.item.error;
        yield next.item as ProduceRecord;
        continue;
      }
      if (this.#ended) return;
      await this.#woken();
    }
  }

  /**
   * Resolves once the client asked for `count` statuses beyond the first, or stopped. When no
   * ack can come any more (the body ended or failed), items still waiting for one never commit:
   * the body's failure, or a failure saying so, is thrown instead.
   */
  async acked(count: number): Promise<void> {
    while (this.#acks < count && !this.#stop.signal.aborted) {
      if (this.#bodyDone) {
        const waiting = this.#queue.find(({ item }) => !(item instanceof Failure));
        if (!waiting) return;
        const failure = this.#queue.find(({ item }) => item instanceof Failure);
        if (failure) throw (failure.item as Failure).error;
        throw new StreamkitError(
          "InvalidArgument",
          "body: ended while records waited for the client to ask for their chunk (ack)",
        );
      }
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
