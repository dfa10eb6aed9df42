// Conformance: close, await using, factories, handles and reopening.

import assert from "node:assert/strict";
import { collect, withTimeout } from "../_async.ts";
import { StreamkitError } from "../errors.ts";
import type { ProduceRecord, SegmentStatus, Store, StoreFactory } from "../types.ts";
import { assertSegment, describeValue, expectError } from "./_assertions.ts";
import { copyOfStatus, plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, range, records } from "./_fixtures.ts";
import { withFactory } from "./_instances.ts";
import { drain, produce, readSegment, readSpace } from "./_store_calls.ts";
import { deferred, TIMEOUT_MS } from "./_timing.ts";

type StoreCall = (store: Store) => Promise<unknown>;

const CLOSED_CALLS: ReadonlyArray<[string, StoreCall]> = [
  ["produce", (s) => drain(s.produce({ space: "s", segment: "g" }, records(2, 1)))],
  ["consumeSegment", (s) => drain(s.consumeSegment({ space: "s", segment: "g" }))],
  ["consumeSpace", (s) => drain(s.consumeSpace({ space: "s" }))],
  ["peek", (s) => s.peek("s", "g")],
  ["getSegmentStatus", (s) => s.getSegmentStatus("s", "g")],
  ["getSpaces", (s) => drain(s.getSpaces())],
  ["getSegments", (s) => drain(s.getSegments("s"))],
  ["getCheckpoints", (s) => drain(s.getCheckpoints())],
  ["getLeases", (s) => drain(s.getLeases())],
];

/** Opens a second handle of `storeId`, runs `fn`, closes it. */
async function withHandle(
  factory: StoreFactory,
  storeId: string,
  fn: (store: Store) => Promise<void>,
): Promise<void> {
  const store = await factory.newStore(storeId);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

export function registerLifecycle(ctx: Ctx): void {
  define(
    ctx,
    "close: closing a store twice (and concurrently) is fine",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(newId());
        await produce(store, "s", "g", records(1, 1));
        await store.close();
        await store.close();
        await Promise.all([store.close(), store.close()]);
        await expectError(() => store.peek("s", "g"), "Closed");
      }),
  );

  for (const [method, call] of CLOSED_CALLS) {
    define(
      ctx,
      `close: ${method} on a closed store fails with Closed`,
      () =>
        withFactory(ctx, async (factory) => {
          const storeId = newId();
          const store = await factory.newStore(storeId);
          await produce(store, "s", "g", records(1, 1));
          await store.close();
          await expectError(() => call(store), "Closed");
          await withHandle(factory, storeId, async (again) => {
            await assertSegment(again, "s", "g", [1]);
          });
        }),
    );
  }

  define(
    ctx,
    "close: a produce created before close and iterated after it fails with Closed",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const store = await factory.newStore(storeId);
        const pending = store.produce({ space: "s", segment: "g" }, records(1, 3));
        const reading = store.consumeSegment({ space: "s", segment: "g" });
        await store.close();
        await expectError(() => drain(pending), "Closed");
        await expectError(() => drain(reading), "Closed");
        await withHandle(factory, storeId, async (again) => {
          assert.deepEqual(await readSegment(again, "s", "g"), [], "nothing was written");
        });
      }),
  );

  define(
    ctx,
    "close: a produce in flight commits whole chunks only; close() waits for it",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const store = await factory.newStore(storeId);
        const max = store.limits.maxChunkRecords;
        const total = max + 10;
        const midway = deferred();
        const release = deferred();
        const firstStatus = deferred();
        async function* source(): AsyncGenerator<ProduceRecord> {
          yield* records(1, max + 5);
          midway.resolve();
          await release.promise;
          yield* records(max + 6, 5);
        }
        const statuses: SegmentStatus[] = [];
        let produceError: unknown;
        let produceFailed = false;
        const producing = (async () => {
          try {
            for await (const status of store.produce({ space: "s", segment: "g" }, source())) {
              statuses.push(status);
              firstStatus.resolve();
            }
          } catch (error) {
            produceFailed = true;
            produceError = error;
          }
        })();
        try {
          await withTimeout(
            Promise.all([midway.promise, firstStatus.promise]),
            "the first chunk of the produce",
            TIMEOUT_MS,
          );
          const closing = store.close();
          release.resolve();
          await withTimeout(closing, "close() with a produce in flight", TIMEOUT_MS);
          await withHandle(factory, storeId, async (again) => {
            const afterClose = (await readSegment(again, "s", "g")).length;
            await withTimeout(
              producing,
              "the in-flight produce to settle after close()",
              TIMEOUT_MS,
            );
            const afterSettle = await readSegment(again, "s", "g");
            assert.equal(
              afterSettle.length,
              afterClose,
              "nothing is written after close() resolved",
            );
            const committed = afterSettle.length;
            assert.deepEqual(afterSettle.map((e) => e.sequence), range(1, committed));
            const yielded = statuses.at(-1)!.lastSequence;
            assert.ok(
              committed === yielded || committed === total,
              `whole chunks only: stored ${committed}, yielded up to ${yielded}, total ${total}`,
            );
            if (!produceFailed) {
              assert.equal(committed, total, "a produce that ended normally committed every chunk");
            } else {
              assert.ok(
                produceError instanceof StreamkitError && produceError.kind === "Closed",
                `an interrupted produce fails with Closed, got ${describeValue(produceError)}`,
              );
            }
            for (const status of statuses) assert.ok(status.lastSequence <= committed);
            assert.equal((await readSpace(again, "s")).length, committed, "space index agrees");
            assert.equal((await again.getSegmentStatus("s", "g"))?.lastSequence, committed);
          });
        } finally {
          release.resolve();
          await store.close();
          await withTimeout(producing, "the in-flight produce to settle", TIMEOUT_MS);
        }
      }),
  );

  define(ctx, "close: a factory's close() closes its stores", () => {
    return (async () => {
      const factory = await ctx.factory();
      let stores: Store[] = [];
      try {
        stores = [await factory.newStore(newId()), await factory.newStore(newId())];
        await produce(stores[0], "s", "g", records(1, 1));
      } finally {
        await factory.close();
      }
      for (const store of stores) {
        await expectError(() => store.peek("s", "g"), "Closed");
        await expectError(() => drain(store.getSpaces()), "Closed");
        await expectError(
          () => drain(store.produce({ space: "s", segment: "g" }, records(2, 1))),
          "Closed",
        );
        await store.close();
      }
    })();
  });

  define(
    ctx,
    "close: a factory's close() is idempotent and newStore then fails with Closed",
    () => {
      return (async () => {
        const factory = await ctx.factory();
        try {
          const store = await factory.newStore(newId());
          await store.close();
        } finally {
          await factory.close();
        }
        await factory.close();
        await Promise.all([factory.close(), factory.close()]);
        await expectError(() => factory.newStore(newId()), "Closed");
      })();
    },
  );

  define(ctx, "close: await using closes a store", () =>
    withFactory(ctx, async (factory) => {
      const storeId = newId();
      let escaped: Store | undefined;
      {
        await using store = await factory.newStore(storeId);
        escaped = store;
        await produce(store, "s", "g", records(1, 2));
      }
      await expectError(() => escaped!.peek("s", "g"), "Closed");
      await withHandle(factory, storeId, async (again) => {
        await assertSegment(again, "s", "g", [1, 2]);
      });
    }));

  define(ctx, "close: await using closes a factory and its stores", async () => {
    let escapedFactory: StoreFactory | undefined;
    let escapedStore: Store | undefined;
    {
      await using factory = await ctx.factory();
      escapedFactory = factory;
      escapedStore = await factory.newStore(newId());
      await produce(escapedStore, "s", "g", records(1, 1));
    }
    await expectError(() => escapedStore!.getSegmentStatus("s", "g"), "Closed");
    await expectError(() => escapedFactory!.newStore(newId()), "Closed");
  });

  define(
    ctx,
    "handles: two newStore calls for one id see the same data",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        await withHandle(factory, storeId, async (a) => {
          await withHandle(factory, storeId, async (b) => {
            await produce(a, "s", "g", records(1, 2));
            await assertSegment(b, "s", "g", [1, 2]);
            await produce(b, "s", "g", records(3, 2));
            await assertSegment(a, "s", "g", [1, 2, 3, 4]);
            assert.deepEqual(
              copyOfStatus(await a.getSegmentStatus("s", "g")),
              copyOfStatus(await b.getSegmentStatus("s", "g")),
            );
            assert.deepEqual(await collect(b.getSpaces()), ["s"]);
            assert.deepEqual(
              (await readSpace(b, "s")).map(plainEntry),
              (await readSpace(a, "s")).map(plainEntry),
            );
            await expectError(() => produce(b, "s", "g", records(3, 1)), "SequenceMismatch");
          });
        });
      }),
  );

  define(
    ctx,
    "handles: closing one handle leaves another handle of the store usable",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const a = await factory.newStore(storeId);
        await withHandle(factory, storeId, async (b) => {
          await produce(a, "s", "g", records(1, 2));
          await a.close();
          await expectError(() => a.peek("s", "g"), "Closed");
          await assertSegment(b, "s", "g", [1, 2]);
          await produce(b, "s", "g", records(3, 1));
          assert.equal((await b.peek("s", "g"))?.sequence, 3);
        });
      }),
  );

  define(
    ctx,
    "handles: stores of different ids are isolated",
    () =>
      withFactory(ctx, async (factory) => {
        await withHandle(factory, newId(), async (a) => {
          await withHandle(factory, newId(), async (b) => {
            await produce(a, "s", "g", records(1, 3, "a"));
            await produce(b, "s", "g", records(1, 1, "b"));
            await produce(b, "t", "h", records(1, 1, "b"));
            await assertSegment(a, "s", "g", [1, 2, 3], "a");
            await assertSegment(b, "s", "g", [1], "b");
            assert.deepEqual(await collect(a.getSpaces()), ["s"]);
            assert.deepEqual(await collect(b.getSpaces()), ["s", "t"]);
            assert.equal((await readSpace(a, "s")).length, 3);
            assert.equal(await a.getSegmentStatus("t", "h"), undefined);
          });
        });
      }),
  );

  define(
    ctx,
    "reopen: a store closed and opened again through its factory keeps its data",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const first = await factory.newStore(storeId);
        let before: ReturnType<typeof plainEntry>[] = [];
        let status: SegmentStatus | undefined;
        try {
          await produce(first, "s", "g", records(1, 3));
          await produce(first, "s", "g", records(4, 2));
          await produce(first, "t", "h", records(1, 1));
          before = (await readSpace(first, "s")).map(plainEntry);
          status = copyOfStatus(await first.getSegmentStatus("s", "g"));
        } finally {
          await first.close();
        }
        await withHandle(factory, storeId, async (again) => {
          assert.deepEqual((await readSpace(again, "s")).map(plainEntry), before);
          assert.deepEqual(copyOfStatus(await again.getSegmentStatus("s", "g")), status);
          assert.deepEqual(await collect(again.getSpaces()), ["s", "t"]);
          assert.deepEqual(await collect(again.getSegments("s")), ["g"]);
          await expectError(() => produce(again, "s", "g", records(5, 1)), "SequenceMismatch");
          await produce(again, "s", "g", records(6, 1));
          const [entry] = await readSegment(again, "s", "g", { minSequence: 6 });
          assert.equal(entry.trx.number, 3, "trx numbering continues");
        });
      }),
  );
}
