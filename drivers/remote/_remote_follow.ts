// A follow over the wire: one streamed response at a time; when the connection drops, another
// from the last position delivered, so the caller sees no gap and no duplicate.

import {
  type Entry,
  type FollowArgs,
  type FollowEvent,
  type FollowSegmentArgs,
  isTransient,
  spaceOffset,
  StreamkitError,
} from "@streamkit/core";
import { abortableSleep, EntryDecoder } from "@streamkit/core/driver";
import { type Connection, ConnectionDropped } from "./_connection.ts";
import { FrameType, parseJson } from "./_frames.ts";
import { argsToJson } from "./_wire.ts";

/** The first wait before reconnecting, and the longest. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;

/**
 * The events of a follow (`follow` or `follow-segment` at `path`) from `args`, resumed from the
 * last entry delivered whenever its response ends early or the server is away for a while.
 * `caught-up` is never said twice in a row, also across a reconnection. `assertOpen` throws once
 * the store is closed.
 */
export async function* followRemote(
  connection: Connection,
  path: string,
  args: FollowArgs | FollowSegmentArgs,
  signal: AbortSignal,
  assertOpen: () => void,
): AsyncIterable<FollowEvent> {
  // Arguments that are no object go as they are: the server's store refuses them.
  const position = isPlainObject(args) ? { ...args } as Record<string, unknown> : args;
  if (isPlainObject(position) && isPlainObject(position.spaces)) {
    position.spaces = { ...position.spaces };
  }
  const decoder = new EntryDecoder();
  let lastWasCaughtUp = false;
  let retryMs = FIRST_RETRY_MS;
  while (true) {
    try {
      const frames = connection.frames(path, { json: { args: argsToJson(position) }, signal });
      for await (const frame of frames) {
        // What came before a close or an abort stays undelivered, as with a local store.
        assertOpen();
        signal.throwIfAborted();
        if (frame.type === FrameType.Entry) {
          const entry = decoder.decode(frame.payload);
          advance(position, entry);
          lastWasCaughtUp = false;
          retryMs = FIRST_RETRY_MS;
          yield { type: "entry", entry };
        } else if (parseJson(frame.payload).type === "caught-up" && !lastWasCaughtUp) {
          lastWasCaughtUp = true;
          yield { type: "caught-up" };
        }
      }
      return;
    } catch (error) {
      assertOpen();
      signal.throwIfAborted();
      if (!resumable(error)) throw error;
    }
    await abortableSleep(retryMs, signal);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }
}

/** Moves the follow's position past `entry`. */
function advance(position: unknown, entry: Entry): void {
  if (!isPlainObject(position)) return;
  if (isPlainObject(position.spaces)) {
    (position.spaces as Record<string, Uint8Array>)[entry.space] = spaceOffset(entry);
  } else {
    position.afterSequence = entry.sequence;
  }
}

/**
 * Whether a follow may resume after `error`: a dropped connection, or a server that is going
 * away or not there yet (its store closing, a restart).
 */
function resumable(error: unknown): boolean {
  if (error instanceof ConnectionDropped) return true;
  return error instanceof StreamkitError && (error.kind === "Closed" || isTransient(error));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}
