// Reading a follow event by event, each wait bounded; checks on the events it received; a slow
// consumer and aborts of a follow.

import assert from "node:assert/strict";
import { sleep, withTimeout } from "../_async.ts";
import type { Entry, FollowArgs, FollowEvent, FollowSegmentArgs, Store } from "../types.ts";
import { expectReason } from "./_assertions.ts";
import { ConformanceAbortReason } from "./_fixtures.ts";
import { TIMEOUT_MS } from "./_timing.ts";
import type { Writers } from "./_writers.ts";

/** A follow event, short, for assertion messages. */
export function describeEvent(event: FollowEvent): string {
  if (event.type !== "entry") return event.type;
  const { space, segment, sequence } = event.entry;
  return `entry ${JSON.stringify(space)}/${JSON.stringify(segment)}#${sequence}`;
}

/** Asserts that `caught-up` never comes twice in a row. */
export function assertNoCaughtUpTwice(events: readonly FollowEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(
      events[i].type !== "caught-up" || events[i - 1].type !== "caught-up",
      `caught-up twice in a row at event ${i}: ${events.map(describeEvent).join(", ")}`,
    );
  }
}

/**
 * A follow read event by event, each wait bounded by {@linkcode TIMEOUT_MS}; keeps every event
 * for later checks. A wait that times out leaves the follow pending: closing the store ends it.
 */
export class FollowReader {
  /** Every event received, in order. */
  readonly events: FollowEvent[] = [];
  #iterator: AsyncIterator<FollowEvent>;

  constructor(follow: AsyncIterable<FollowEvent>) {
    this.#iterator = follow[Symbol.asyncIterator]();
  }

  async #next(what: string): Promise<FollowEvent> {
    const result = await this.#iterator.next();
    assert.ok(!result.done, `${what}: a follow ends only by abort or close`);
    this.events.push(result.value);
    return result.value;
  }

  /** The next event. */
  next(what: string): Promise<FollowEvent> {
    return withTimeout(this.#next(what), what, TIMEOUT_MS);
  }

  /** Asserts the next event is `caught-up`. */
  async caughtUp(what: string): Promise<void> {
    const event = await this.next(what);
    assert.equal(
      event.type,
      "caught-up",
      `${what}: expected caught-up, got ${describeEvent(event)}`,
    );
  }

  /** Asserts the next `count` events are entries (no `caught-up` between) and returns them. */
  nextEntries(count: number, what: string): Promise<Entry[]> {
    return withTimeout(
      (async () => {
        const entries: Entry[] = [];
        while (entries.length < count) {
          const event = await this.#next(what);
          assert.equal(
            event.type,
            "entry",
            `${what}: expected entry ${entries.length + 1} of ${count}, got caught-up`,
          );
          if (event.type === "entry") entries.push(event.entry);
        }
        return entries;
      })(),
      what,
      TIMEOUT_MS,
    );
  }

  /** The next `count` entries, whatever `caught-up` events come between. */
  collect(
    count: number,
    what: string,
    onEntry?: (entry: Entry) => Promise<void>,
  ): Promise<Entry[]> {
    return withTimeout(
      (async () => {
        const entries: Entry[] = [];
        while (entries.length < count) {
          const event = await this.#next(`${what} (${entries.length} of ${count} so far)`);
          if (event.type !== "entry") continue;
          entries.push(event.entry);
          await onEntry?.(event.entry);
        }
        return entries;
      })(),
      `${what} (${count} entries)`,
      TIMEOUT_MS,
    );
  }

  /** Ends the follow as `break` does. */
  async stop(): Promise<void> {
    await withTimeout(
      Promise.resolve(this.#iterator.return?.()),
      "ending a follow by break",
      TIMEOUT_MS,
    );
  }
}

/** A {@linkcode FollowReader} of `store.follow(args)`. */
export function followReader(store: Store, args: FollowArgs): FollowReader {
  return new FollowReader(store.follow(args));
}

/** A {@linkcode FollowReader} of `store.followSegment(args)`. */
export function followSegmentReader(store: Store, args: FollowSegmentArgs): FollowReader {
  return new FollowReader(store.followSegment(args));
}

/**
 * Reads the `writers.total` entries the writers write meanwhile, pausing every ten entries as a
 * slow consumer does, then asserts `caught-up`; returns the entries.
 */
export async function readBacklogSlowly(reader: FollowReader, writers: Writers): Promise<Entry[]> {
  let delivered = 0;
  const [seen] = await Promise.all([
    reader.collect(writers.total, "the backlog", async () => {
      if (++delivered % 10 === 0) await sleep(2);
    }),
    writers.done,
  ]);
  await reader.caughtUp("caught-up after the backlog");
  return seen;
}

/** Aborts with `reason` while `reader` waits for a commit; asserts the follow ends with it. */
export async function abortWhileWaiting(
  reader: FollowReader,
  controller: AbortController,
  reason: unknown,
  what: string,
): Promise<void> {
  // Awaited together, so the follow's end is handled whenever it comes.
  await Promise.all([
    expectReason(() => reader.next("the follow to end after the abort"), reason, what),
    sleep(5).then(() => controller.abort(reason)),
  ]);
}

/**
 * Starts `follow` with a signal it aborts once `entries` history entries came; asserts only
 * entries came and the follow ends with the abort's reason. Returns how many entries came.
 */
export async function abortDuringHistory(
  follow: (signal: AbortSignal) => AsyncIterable<FollowEvent>,
  entries: number,
  what: string,
): Promise<number> {
  const controller = new AbortController();
  const reason = new ConformanceAbortReason();
  let seen = 0;
  const reading = (async () => {
    for await (const event of follow(controller.signal)) {
      assert.equal(event.type, "entry", "the history comes before caught-up");
      if (++seen === entries) controller.abort(reason);
    }
  })();
  await expectReason(
    () => withTimeout(reading, `${what} to end after the abort`, TIMEOUT_MS),
    reason,
    `${what} aborted while reading`,
  );
  return seen;
}
