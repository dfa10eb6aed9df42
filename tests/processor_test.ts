// runProcessor in one process, on memory and level: batches in order, positions saved and
// resumed from, one instance at a time with takeover on stop, retries then a failure naming the
// position, and an application's own checkpoint.

import assert from "node:assert/strict";
import {
  type Entry,
  type ProcessorBatch,
  ProcessorHandleError,
  runProcessor,
  type Store,
  type StoreFactory,
  StreamkitError,
  toHex,
} from "../core/mod.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";

const STORE = "7d4f6c1a-2b3e-4f5a-8b9c-0d1e2f3a4b5c";

const drivers: [string, () => Promise<{ factory: StoreFactory; cleanup(): Promise<void> }>][] = [
  [
    "memory",
    () => Promise.resolve({ factory: new MemoryStoreFactory(), cleanup: () => Promise.resolve() }),
  ],
  ["level", async () => {
    const dir = await Deno.makeTempDir({ prefix: "streamkit-processor-" });
    return {
      factory: new LevelStoreFactory({ path: dir }),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  }],
];

async function produce(store: Store, segment: string, from: number, count: number) {
  const records = Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    payload: new TextEncoder().encode(`${segment}:${from + i}`),
  }));
  for await (const _ of store.produce({ space: "orders", segment }, records)) {
    // statuses
  }
}

const label = (entry: Entry) => new TextDecoder().decode(entry.payload);

/** Runs a processor until `until` says stop (checked after each batch), then aborts it. */
async function runUntil(
  store: Store,
  name: string,
  until: (handled: string[], batch: ProcessorBatch) => boolean,
  extra: Partial<Parameters<typeof runProcessor>[1]> = {},
): Promise<{ handled: string[]; batches: ProcessorBatch[] }> {
  const handled: string[] = [];
  const batches: ProcessorBatch[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("timed out")), 15_000);
  try {
    await runProcessor(store, {
      name,
      spaces: ["orders"],
      batch: { maxEntries: 4 },
      handle: (batch) => {
        batches.push(batch);
        handled.push(...batch.entries.map(label));
        if (until(handled, batch)) controller.abort();
      },
      ...extra,
      signal: controller.signal,
    });
  } finally {
    clearTimeout(timer);
  }
  assert.notEqual(String(controller.signal.reason), "Error: timed out", "the processor timed out");
  return { handled, batches };
}

for (const [driver, open] of drivers) {
  Deno.test(`processor (${driver}): batches in order, cut at maxEntries and caught-up; a restart resumes after the saved position`, async () => {
    const { factory, cleanup } = await open();
    try {
      const store = await factory.newStore(STORE);
      await produce(store, "a", 1, 6);
      await produce(store, "b", 1, 3);
      const first = await runUntil(store, "proj", (handled) => handled.length >= 9);
      assert.deepEqual(first.handled, [
        ...["a:1", "a:2", "a:3", "a:4", "a:5", "a:6"],
        ...["b:1", "b:2", "b:3"],
      ]);
      assert.deepEqual(first.batches.map((batch) => batch.entries.length), [4, 4, 1]);
      assert.deepEqual(first.batches.map((batch) => batch.caughtUp), [false, false, true]);
      assert.ok((await store.getCheckpoint("proj"))?.version ?? 0 >= 2);
      await produce(store, "a", 7, 2);
      // The stop came inside the last batch's handle: the batch was saved before it stopped.
      const second = await runUntil(store, "proj", (handled) => handled.includes("a:8"));
      assert.deepEqual(second.handled, ["a:7", "a:8"]);
      await store.close();
    } finally {
      await factory.close();
      await cleanup();
    }
  });

  Deno.test(`processor (${driver}): one instance at a time; when it stops the other takes over where it left`, async () => {
    const { factory, cleanup } = await open();
    try {
      const store = await factory.newStore(STORE);
      await produce(store, "a", 1, 4);
      const inside = { count: 0, most: 0 };
      const handledBy: Record<string, string[]> = { one: [], two: [] };
      const stopOne = new AbortController();
      const stopTwo = new AbortController();
      const instance = (who: "one" | "two", stop: AbortController) =>
        runProcessor(store, {
          name: "shared",
          spaces: ["orders"],
          lease: { ttlMs: 2_000 },
          handle: async ({ entries }) => {
            inside.most = Math.max(inside.most, ++inside.count);
            await new Promise((resolve) => setTimeout(resolve, 5));
            handledBy[who].push(...entries.map(label));
            inside.count--;
          },
          signal: stop.signal,
        });
      const one = instance("one", stopOne);
      while (handledBy.one.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
      const two = instance("two", stopTwo);
      await produce(store, "a", 5, 2);
      while (handledBy.one.length < 6) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(handledBy.two, [], "the second waits while the first holds the lease");
      // Its second batch saved (a stop before the save would hand it again: at least once).
      while (((await store.getCheckpoint("shared"))?.version ?? 0) < 2) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      stopOne.abort();
      await one;
      await produce(store, "a", 7, 2);
      const deadline = Date.now() + 10_000;
      while (handledBy.two.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      stopTwo.abort();
      await two;
      assert.deepEqual(handledBy.one, ["a:1", "a:2", "a:3", "a:4", "a:5", "a:6"]);
      assert.deepEqual(handledBy.two, ["a:7", "a:8"], "released at once, resumed after the save");
      assert.equal(inside.most, 1, "never two inside handle");
      await store.close();
    } finally {
      await factory.close();
      await cleanup();
    }
  });

  Deno.test(`processor (${driver}): a failing handle is retried, then rejects with the batch's position; nothing is skipped`, async () => {
    const { factory, cleanup } = await open();
    try {
      const store = await factory.newStore(STORE);
      await produce(store, "a", 1, 6);
      let calls = 0;
      const handled: string[] = [];
      const failure = await runProcessor(store, {
        name: "fails",
        spaces: ["orders"],
        batch: { maxEntries: 4 },
        retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 2 },
        handle: ({ entries }) => {
          if (entries.some((entry) => label(entry) === "a:6")) {
            calls++;
            throw new Error("cannot handle a:6");
          }
          handled.push(...entries.map(label));
        },
        signal: AbortSignal.timeout(10_000),
      }).then(() => undefined, (error) => error);
      assert.ok(failure instanceof ProcessorHandleError, String(failure));
      assert.match(failure.message, /handle failed 3 times.*cannot handle a:6/);
      assert.equal(calls, 3);
      assert.deepEqual(handled, ["a:1", "a:2", "a:3", "a:4"]);
      const saved = JSON.parse(
        new TextDecoder().decode((await store.getCheckpoint("fails"))!.value),
      );
      assert.deepEqual({ orders: toHex(failure.position.orders) }, saved, "the saved position");
      // Run again with a handler that works: it starts at the failed batch.
      const again = await runUntil(store, "fails", (done) => done.includes("a:6"));
      assert.deepEqual(again.handled, ["a:5", "a:6"]);
      // The lease was released on the failure: the rerun did not wait out a ttl.
      await store.close();
    } finally {
      await factory.close();
      await cleanup();
    }
  });

  Deno.test(`processor (${driver}): an application's own checkpoint is loaded and saved instead of the store's`, async () => {
    const { factory, cleanup } = await open();
    try {
      const store = await factory.newStore(STORE);
      await produce(store, "a", 1, 5);
      let kept: Record<string, Uint8Array> | undefined;
      const checkpoint = {
        load: () => Promise.resolve(kept),
        save: (position: Record<string, Uint8Array>) => {
          kept = position;
          return Promise.resolve();
        },
      };
      const first = await runUntil(store, "own", (handled) => handled.length >= 5, { checkpoint });
      assert.deepEqual(first.handled, ["a:1", "a:2", "a:3", "a:4", "a:5"]);
      assert.equal(await store.getCheckpoint("own"), undefined, "the store's checkpoint is unused");
      assert.ok(kept?.orders instanceof Uint8Array);
      await produce(store, "a", 6, 1);
      const second = await runUntil(store, "own", (handled) => handled.includes("a:6"), {
        checkpoint,
      });
      assert.ok(second.handled.at(-1) === "a:6" && !second.handled.includes("a:4"));
      await store.close();
    } finally {
      await factory.close();
      await cleanup();
    }
  });

  Deno.test(`processor (${driver}): a batch is handed once the save before it is done; a stop waits for the save in hand`, async () => {
    const { factory, cleanup } = await open();
    try {
      const store = await factory.newStore(STORE);
      await produce(store, "a", 1, 10);
      const events: string[] = [];
      let kept: Record<string, Uint8Array> | undefined;
      let batch = 0;
      // Saves that take a while: the next batch is read meanwhile, never handed before.
      const checkpoint = {
        load: () => Promise.resolve(kept),
        save: async (position: Record<string, Uint8Array>) => {
          events.push(`save ${batch}`);
          await new Promise((resolve) => setTimeout(resolve, 30));
          kept = position;
          events.push(`saved ${batch}`);
        },
      };
      const run = await runUntil(store, "slow-saves", (handled) => {
        events.push(`handle ${++batch}`);
        return handled.length >= 6;
      }, { checkpoint, batch: { maxEntries: 2 } });
      events.push("resolved");
      assert.deepEqual(run.handled, ["a:1", "a:2", "a:3", "a:4", "a:5", "a:6"]);
      assert.deepEqual(events, [
        "handle 1",
        "save 1",
        "saved 1",
        "handle 2",
        "save 2",
        "saved 2",
        "handle 3",
        "save 3",
        "saved 3",
        "resolved",
      ]);
      assert.deepEqual(kept, run.batches[2].position, "the batch in hand at the stop is saved");
      const lease = (await Array.fromAsync(store.getLeases())).find((l) => l.name === "slow-saves");
      assert.equal(lease?.expiresAt, 0, "the lease is released once the save is done");
      await store.close();
    } finally {
      await factory.close();
      await cleanup();
    }
  });

  Deno.test(`processor (${driver}): a save that fails rejects, and no batch is handed after it`, async () => {
    const { factory, cleanup } = await open();
    try {
      const store = await factory.newStore(STORE);
      await produce(store, "a", 1, 10);
      let saves = 0;
      const handled: number[] = [];
      const checkpoint = {
        load: () => Promise.resolve(undefined),
        save: () => ++saves === 2 ? Promise.reject(new Error("disk full")) : Promise.resolve(),
      };
      await assert.rejects(
        runProcessor(store, {
          name: "failing-save",
          spaces: ["orders"],
          batch: { maxEntries: 2 },
          checkpoint,
          handle: ({ entries }) => void handled.push(entries.length),
          signal: AbortSignal.timeout(15_000),
        }),
        /disk full/,
      );
      assert.deepEqual(
        handled,
        [2, 2],
        "the third batch waits for the second's save, which failed",
      );
      await store.close();
    } finally {
      await factory.close();
      await cleanup();
    }
  });
}

/** `store` whose renewals all fail as an unreachable backend's would. */
function withFailingRenewals(store: Store): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === "renewLease") {
        return () =>
          Promise.reject(new StreamkitError("Unavailable", "renewal refused by the test"));
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("processor: no batch is handed with less than a third of the lease's ttl left; it takes the lease again", async () => {
  const factory = new MemoryStoreFactory();
  try {
    const store = await factory.newStore(STORE);
    await produce(store, "a", 1, 24);
    const ttlMs = 600;
    const remaining: number[] = [];
    const tokens: number[] = [];
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("timed out")), 15_000);
    let handled = 0;
    try {
      await runProcessor(withFailingRenewals(store), {
        name: "margin",
        spaces: ["orders"],
        batch: { maxEntries: 1 },
        lease: { ttlMs },
        handle: async ({ entries, lease }) => {
          remaining.push(lease!.expiresAt - Date.now());
          tokens.push(lease!.token);
          // 50 ms a batch: a lease never renewed runs low after some 8 batches.
          await new Promise((resolve) => setTimeout(resolve, 50));
          handled += entries.length;
          if (handled >= 24) controller.abort();
        },
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
    assert.equal(handled, 24);
    assert.ok(
      remaining.every((ms) => ms >= ttlMs / 3 - 5),
      `a batch was handed with ${Math.min(...remaining)} ms of the lease left (ttl ${ttlMs})`,
    );
    assert.ok(new Set(tokens).size >= 2, `the lease was taken again: tokens ${tokens}`);
    assert.deepEqual(tokens, [...tokens].sort((a, b) => a - b), "tokens only rise");
  } finally {
    await factory.close();
  }
});

Deno.test("processor: catching up with nothing new since the last batch hands an empty caught-up batch", async () => {
  const factory = new MemoryStoreFactory();
  try {
    const store = await factory.newStore(STORE);
    // Nothing at all: one empty batch, caught up.
    const empty = await runUntil(store, "empty", (_, batch) => batch.caughtUp);
    assert.deepEqual(empty.batches.map((b) => [b.entries.length, b.caughtUp]), [[0, true]]);
    // 8 entries in batches of 4: the second batch is cut before the caught-up.
    await produce(store, "a", 1, 8);
    const exact = await runUntil(store, "exact", (_, batch) => batch.caughtUp);
    assert.deepEqual(
      exact.batches.map((b) => [b.entries.length, b.caughtUp]),
      [[4, false], [4, false], [0, true]],
    );
    assert.equal((await store.getCheckpoint("exact"))?.version, 2, "an empty batch saves nothing");
  } finally {
    await factory.close();
  }
});

Deno.test("processor: bad options are InvalidArgument, before anything runs", async () => {
  const factory = new MemoryStoreFactory();
  const store = await factory.newStore(STORE);
  const handle = () => {};
  for (
    const [options, word] of [
      [{ name: "", spaces: ["s"], handle }, "name"],
      [{ name: "p", spaces: [], handle }, "spaces"],
      [{ name: "p", spaces: ["s"], handle: 5 }, "handle"],
      [{ name: "p", spaces: ["s"], handle, batch: { maxEntries: 0 } }, "batch.maxEntries"],
      [{ name: "p", spaces: ["s"], handle, lease: { ttlMs: -1 } }, "lease.ttlMs"],
    ] as const
  ) {
    await assert.rejects(
      runProcessor(store, options as never),
      (error: Error) => error.message.includes(word),
    );
  }
  await factory.close();
});
