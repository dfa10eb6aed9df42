// Streamed bodies of the server: responses of frames pulled from a store's iterator, request
// bodies of records and entries handed to a store's writes, and JSON bodies read under a cap.

import { StreamkitError } from "@streamkit/core";
import { Batch, BATCH_BYTES, jsonFrame, NOT_YET, parseJson, soon, withinStall } from "./_frames.ts";
import { FRAMES_TYPE, toWireError } from "./_wire.ts";

/** What a streamed response needs besides its items. */
export interface StreamOptions {
  /** Aborted when the response ends, however (the client went away): the store call stops. */
  stop: AbortController;
  /** A heartbeat frame this often while no item comes (follows only). */
  heartbeatMs?: number;
  /** Called once the response ended, however it ended. */
  onEnd?: () => void;
  /** Waits, before the item after the first `sent`, until the client asked for it (writes). */
  beforeNext?: (sent: number) => Promise<void>;
  /**
   * Makes the response before the first item when it resolves first (a write whose first chunk
   * needs more of the body than the client may send before it hears back).
   */
  startEarly?: Promise<void>;
  /** Called once with a function that sends a frame of its own (write credits). */
  onOpen?: (send: (frame: Uint8Array) => void) => void;
}

/**
 * A response of frames: the frame `encode` adds for each item of `iterable`, then an end frame (or an error
 * frame when the iteration fails half-way). The first item is pulled before the response is
 * made (unless `startEarly` comes first), so a call the store refuses at once is answered with
 * a 4xx rather than a failed body.
 */
export async function streamResponse<T>(
  iterable: AsyncIterable<T>,
  encode: (item: T, batch: Batch) => void,
  { stop, heartbeatMs, onEnd, beforeNext, startEarly, onOpen }: StreamOptions,
): Promise<Response> {
  const iterator = iterable[Symbol.asyncIterator]();
  const firstNext = iterator.next();
  let first: IteratorResult<T> | undefined;
  try {
    first = await (startEarly
      ? Promise.race([
        firstNext,
        startEarly.then(() => undefined),
      ])
      : firstNext);
  } catch (error) {
    stop.abort(new StreamkitError("Closed", "the call was refused"));
    onEnd?.();
    throw error;
  }
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  let sent = 0;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    // Whatever the call still reads (a write's body) stops with the response.
    stop.abort(new StreamkitError("Closed", "the response ended"));
    onEnd?.();
  };
  /** The next item's read, when it did not come at once and waits for the next pull. */
  let pending: Promise<IteratorResult<T>> | undefined;
  /**
   * Sends `next` (an item, or the end), with the items that follow it at once, up to
   * `BATCH_BYTES` in one chunk of the body: a chunk per frame would cost a write per entry.
   * Writes send each status alone (the client asks for each).
   */
  const deliver = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    next: IteratorResult<T>,
  ) => {
    const batch = new Batch();
    while (true) {
      if (next.done) {
        batch.add(jsonFrame({ type: "end" }));
        controller.enqueue(batch.bytes());
        controller.close();
        end();
        return;
      }
      sent++;
      encode(next.value, batch);
      if (beforeNext || batch.size >= BATCH_BYTES) break;
      const following = iterator.next();
      const ready = await soon(following);
      if (ready === NOT_YET) {
        pending = following;
        break;
      }
      next = ready;
    }
    controller.enqueue(batch.bytes());
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      onOpen?.((frame) => {
        if (!ended) controller.enqueue(frame);
      });
      if (first) {
        if (first.done) {
          controller.enqueue(jsonFrame({ type: "end" }));
          controller.close();
          end();
        } else {
          sent++;
          const batch = new Batch();
          encode(first.value, batch);
          controller.enqueue(batch.bytes());
        }
      }
      if (heartbeatMs !== undefined && !ended) {
        heartbeat = setInterval(() => {
          try {
            controller.enqueue(jsonFrame({ type: "heartbeat" }));
          } catch {
            clearInterval(heartbeat);
          }
        }, heartbeatMs);
      }
    },
    async pull(controller) {
      try {
        if (sent === 0 && !first) {
          await deliver(controller, await firstNext);
          return;
        }
        if (pending) {
          const next = pending;
          pending = undefined;
          await deliver(controller, await next);
          return;
        }
        await beforeNext?.(sent);
        await deliver(controller, await iterator.next());
      } catch (error) {
        if (stop.signal.aborted && ended) return;
        controller.enqueue(jsonFrame({ type: "error", error: toWireError(error) }));
        controller.close();
        end();
      }
    },
    async cancel() {
      // The client went away: stop the store call and release what it holds.
      stop.abort(new StreamkitError("Closed", "the client closed the response"));
      end();
      await iterator.return?.().catch(() => {});
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: { "content-type": FRAMES_TYPE } });
}

/**
 * A JSON body of at most `maxBytes`: `PayloadTooLarge` past it, `InvalidArgument` when it is
 * no JSON object or stalls for `stallMs`; the content type must be JSON.
 */
export async function readJsonBody(
  request: Request,
  maxBytes: number,
  stallMs: number,
): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new StreamkitError(
      "InvalidArgument",
      `content-type: expected application/json, got ${JSON.stringify(type)}`,
    );
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw bodyTooLarge(maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    while (true) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await withinStall(reader.read(), stallMs, () => reader.cancel().catch(() => {}));
      } catch (error) {
        if (error instanceof StreamkitError) throw error;
        throw new StreamkitError("InvalidArgument", "body: could not be read to its end", {
          cause: error,
        });
      }
      const { value, done } = next;
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw bodyTooLarge(maxBytes);
      }
      // A copy: the chunk may be a view of a much larger buffer the body would keep alive.
      chunks.push(value.slice());
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return parseJson(bytes);
}

function bodyTooLarge(maxBytes: number): StreamkitError {
  return new StreamkitError(
    "PayloadTooLarge",
    `body: larger than the limit of ${maxBytes} bytes for a JSON body`,
  );
}

/** Checks that a body is frames before any of it is read. */
export function requireFrames(request: Request): ReadableStream<Uint8Array> {
  const type = request.headers.get("content-type") ?? "";
  if (type.toLowerCase() !== FRAMES_TYPE) {
    throw new StreamkitError(
      "InvalidArgument",
      `content-type: expected ${FRAMES_TYPE}, got ${JSON.stringify(type)}`,
    );
  }
  if (!request.body) throw new StreamkitError("InvalidArgument", "body: missing");
  return request.body;
}
