// Conformance: statuses published to the bus after each committed chunk.

import assert from "node:assert/strict";
import { sleep, withTimeout } from "../_async.ts";
import { MemoryBus } from "../bus.ts";
import type { SegmentStatus, Store } from "../types.ts";
import { describeValue, expectError } from "./_assertions.ts";
import { copyOfStatus } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, records, utf8 } from "./_fixtures.ts";
import { withFactory } from "./_instances.ts";
import { produce, produceUntilError } from "./_store_calls.ts";
import { TIMEOUT_MS } from "./_timing.ts";

/** Collects the statuses of one subscription. */
class Listener {
  readonly received: SegmentStatus[] = [];
  readonly done: Promise<void>;
  error: unknown;

  constructor(subscription: AsyncIterable<SegmentStatus>, stop: AbortSignal) {
    this.done = (async () => {
      try {
        for await (const status of subscription) this.received.push(copyOfStatus(status)!);
      } catch (error) {
        if (error !== stop.reason) this.error = error;
      }
    })();
  }

  /** Statuses received for one segment. */
  of(segment: string): SegmentStatus[] {
    return this.received.filter((status) => status.segment === segment);
  }

  /** Waits until a status equal to `expected` has been received. */
  async waitFor(expected: SegmentStatus, what: string): Promise<void> {
    const wanted = copyOfStatus(expected);
    const deadline = Date.now() + TIMEOUT_MS;
    while (!this.received.some((status) => sameStatus(status, wanted!))) {
      if (this.error !== undefined) {
        assert.fail(`${what}: the subscription failed: ${describeValue(this.error)}`);
      }
      if (Date.now() > deadline) {
        assert.fail(
          `${what}: status ${JSON.stringify(wanted)} not received; got ${
            JSON.stringify(this.received)
          }`,
        );
      }
      await sleep(2);
    }
  }
}

function sameStatus(a: SegmentStatus, b: SegmentStatus): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Asserts `received` is `yielded` with possibly some intermediate statuses left out (a slow
 * subscriber gets the newest status of a segment), never one that was not yielded, and ends with
 * the last one. */
function assertSubsequence(
  received: SegmentStatus[],
  yielded: SegmentStatus[],
  what: string,
): void {
  const expected = yielded.map((status) => copyOfStatus(status)!);
  let at = 0;
  for (const status of received) {
    while (at < expected.length && !sameStatus(expected[at], status)) at++;
    assert.ok(
      at < expected.length,
      `${what}: unexpected or out-of-order status ${JSON.stringify(status)}`,
    );
    at++;
  }
  if (expected.length > 0) {
    assert.ok(received.length > 0, `${what}: nothing received`);
    assert.deepEqual(received.at(-1), expected.at(-1), `${what}: the last status`);
  }
}

/** Runs `fn` with a bus-connected store and subscriptions stopped afterwards. */
function withBus(
  ctx: Ctx,
  fn: (env: {
    store: Store;
    storeId: string;
    listen: (space: string, segment: string, storeId?: string) => Listener;
  }) => Promise<void>,
): Promise<void> {
  const bus = new MemoryBus();
  return withFactory(ctx, async (factory) => {
    const storeId = newId();
    const store = await factory.newStore(storeId);
    const stop = new AbortController();
    const listeners: Listener[] = [];
    const listen = (space: string, segment: string, id = storeId) => {
      const listener = new Listener(bus.subscribe(id, space, segment, stop.signal), stop.signal);
      listeners.push(listener);
      return listener;
    };
    try {
      await fn({ store, storeId, listen });
    } finally {
      stop.abort(new Error("conformance: stop listening"));
      await withTimeout(
        Promise.all(listeners.map((l) => l.done)),
        "subscriptions to stop",
        TIMEOUT_MS,
      );
      await store.close();
    }
  }, { bus });
}

export function registerNotifications(ctx: Ctx): void {
  define(
    ctx,
    "notifications: subscribers receive each committed chunk's status",
    () =>
      withBus(ctx, async ({ store, listen }) => {
        const all = listen("s", "*");
        const one = listen("s", "g");
        await sleep(1);
        const yielded: SegmentStatus[] = [];
        for (let round = 0; round < 3; round++) {
          const [status] = await produce(store, "s", "g", records(round * 2 + 1, 2));
          yielded.push(status);
          await all.waitFor(status, `"*" subscriber, chunk ${round + 1}`);
          await one.waitFor(status, `segment subscriber, chunk ${round + 1}`);
        }
        assert.deepEqual(all.of("g"), yielded.map(copyOfStatus), 'one status per chunk on "*"');
        assert.deepEqual(
          one.of("g"),
          yielded.map(copyOfStatus),
          "one status per chunk on the segment",
        );

        const [other] = await produce(store, "s", "h", records(1, 1));
        await all.waitFor(other, `"*" subscriber, another segment`);

        const many = await produce(store, "s", "g", records(7, store.limits.maxChunkRecords + 5));
        assert.ok(many.length >= 2);
        await all.waitFor(many.at(-1)!, `"*" subscriber, last chunk of a long produce`);
        await one.waitFor(many.at(-1)!, "segment subscriber, last chunk of a long produce");
        assertSubsequence(all.of("g"), [...yielded, ...many], `"*" subscriber`);
        assertSubsequence(one.of("g"), [...yielded, ...many], "segment subscriber");
        assert.deepEqual(all.of("h"), [copyOfStatus(other)]);
        assert.deepEqual(one.of("h"), [], "a segment subscriber gets only its segment");
        for (const status of all.received) assert.equal(status.space, "s");
      }),
  );

  define(
    ctx,
    "notifications: a failed produce publishes nothing",
    () =>
      withBus(ctx, async ({ store, listen }) => {
        const all = listen("s", "*");
        const one = listen("s", "g");
        await sleep(1);
        const [first] = await produce(store, "s", "g", records(1, 2));
        await all.waitFor(first, "first chunk");
        await one.waitFor(first, "first chunk");
        await expectError(() => produce(store, "s", "g", records(5, 1)), "SequenceMismatch");
        await expectError(
          () => produce(store, "s", "g", [...records(3, 1), ...records(5, 1)]),
          "SequenceMismatch",
        );
        await expectError(
          () => produce(store, "s", "g", [{ sequence: 3, payload: "x" as unknown as Uint8Array }]),
          "InvalidArgument",
        );
        await expectError(
          () => produce(store, "s", "new", [{ sequence: 1, payload: utf8("x") }, ...records(3, 1)]),
          "SequenceMismatch",
        );
        // A later chunk failing: only the committed chunks are published.
        const max = store.limits.maxChunkRecords;
        const list = records(3, max + 3);
        list[max + 1] = { ...list[max + 1], sequence: 1 };
        const partial = await produceUntilError(store, "s", "g", list);
        assert.ok(partial.failed, "the long produce fails in a later chunk");
        // A sentinel commit in another segment proves the bus has delivered everything before it.
        const [sentinel] = await produce(store, "s", "sentinel", records(1, 1));
        await all.waitFor(sentinel, "sentinel");
        await sleep(10);
        assertSubsequence(all.of("g"), [first, ...partial.statuses], `"*" subscriber`);
        assertSubsequence(one.of("g"), [first, ...partial.statuses], "segment subscriber");
        assert.deepEqual(all.of("new"), [], "nothing for a segment whose only produce failed");
        assert.equal(
          all.of("g").length,
          1 + partial.statuses.length,
          "one status per committed chunk",
        );
      }),
  );

  define(
    ctx,
    "notifications: statuses go to the store's own subscribers only",
    () =>
      withBus(ctx, async ({ store, listen }) => {
        const mine = listen("s", "*");
        const otherStore = listen("s", "*", newId());
        const otherSpace = listen("t", "*");
        const prefixSpace = listen("sx", "*");
        await sleep(1);
        const [status] = await produce(store, "s", "g", records(1, 1));
        await mine.waitFor(status, "the store's subscriber");
        await sleep(20);
        assert.deepEqual(otherStore.received, [], "another store id");
        assert.deepEqual(otherSpace.received, [], "another space");
        assert.deepEqual(prefixSpace.received, [], "a space the name is a prefix of");
        assert.deepEqual(mine.received, [copyOfStatus(status)]);
      }),
  );
}
