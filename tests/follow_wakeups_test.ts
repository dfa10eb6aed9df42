// Followers on drivers of one process (memory, level) are woken by commits, never by polling:
// while idle they make no backend call at all, and a commit wakes them at once. Shown by
// counting every call a follower's store makes to its backend.
import assert from "node:assert/strict";
import type { FollowEvent, Store, StoreId } from "../core/mod.ts";
import type { StoreBackend } from "../core/driver.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";
import { sleep } from "../core/_test_util.ts";

/** Counts the calls made to a backend, by method name. */
function counted(backend: StoreBackend, calls: Map<string, number>): StoreBackend {
  return new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        calls.set(property, (calls.get(property) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
}

class CountingMemoryFactory extends MemoryStoreFactory {
  readonly calls = new Map<string, number>();
  protected override async openBackend(storeId: StoreId): Promise<StoreBackend> {
    return counted(await super.openBackend(storeId), this.calls);
  }
}

class CountingLevelFactory extends LevelStoreFactory {
  readonly calls = new Map<string, number>();
  protected override async openBackend(storeId: StoreId): Promise<StoreBackend> {
    return counted(await super.openBackend(storeId), this.calls);
  }
}

const total = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);

async function produceOne(store: Store, segment: string, sequence: number): Promise<void> {
  const records = [{ sequence, payload: new Uint8Array([sequence]) }];
  for await (const _ of store.produce({ space: "orders", segment }, records));
}

/** Pulls events from a follow one at a time, so the test decides when the follower runs. */
function puller(events: AsyncIterable<FollowEvent>) {
  const iterator = events[Symbol.asyncIterator]();
  return {
    next: async () => (await iterator.next()).value as FollowEvent,
    stop: () => iterator.return?.(),
  };
}

async function idleFollowerMakesNoCalls(factory: CountingMemoryFactory | CountingLevelFactory) {
  await using store = await factory.newStore(crypto.randomUUID());
  await produceOne(store, "order-1", 1);
  for (const follow of ["space", "segment"] as const) {
    const events = follow === "space"
      ? store.follow({ spaces: { orders: undefined } })
      : store.followSegment({ space: "orders", segment: "order-1" });
    const follower = puller(events);
    let history = 0;
    while ((await follower.next()).type === "entry") history++;
    assert.ok(history > 0, "the history comes before caught-up");
    // The follower now waits for a commit. Give any poll timer every chance to fire.
    const waiting = follower.next();
    const before = total(factory.calls);
    await sleep(300);
    assert.equal(total(factory.calls), before, `an idle ${follow} follower made backend calls`);
    // A commit wakes it at once: the entry arrives without any other call or wait.
    const sequence = (await store.getSegmentStatus("orders", "order-1"))!.lastSequence + 1;
    await produceOne(store, "order-1", sequence);
    const woken = await waiting;
    assert.equal(woken.type === "entry" && woken.entry.sequence, sequence);
    await follower.stop();
  }
}

Deno.test("memory: an idle follower makes no backend call; a commit wakes it", async () => {
  await using factory = new CountingMemoryFactory();
  await idleFollowerMakesNoCalls(factory);
});

Deno.test("level: an idle follower makes no backend call; a commit wakes it", async () => {
  const path = await Deno.makeTempDir({ prefix: "streamkit-follow-wakeups-" });
  try {
    await using factory = new CountingLevelFactory({ path });
    await idleFollowerMakesNoCalls(factory);
  } finally {
    await Deno.remove(path, { recursive: true });
  }
});
