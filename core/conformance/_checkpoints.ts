// Conformance: checkpoints (versions, compare-and-set, races, sizes, names, outside the data)
// and their persistence (supports.persistence) and sharing (supports.multiInstance).

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { StreamkitError } from "../errors.ts";
import type { Store } from "../types.ts";
import { expectError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { fromStart, newId, records } from "./_fixtures.ts";
import { withFreshStore, withTwoInstances } from "./_instances.ts";
import { produce } from "./_store_calls.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

/** What a checkpoint's version is now (0: none). */
async function versionOf(store: Store, name: string): Promise<number> {
  return (await store.getCheckpoint(name))?.version ?? 0;
}

export function registerCheckpoints(ctx: Ctx): void {
  define(
    ctx,
    "checkpoints: none, then version 1, 2, ... with the value written last",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.equal(await store.getCheckpoint("projector"), undefined);
        const before = Date.now();
        const first = await store.putCheckpoint("projector", bytes(1, 2, 3));
        assert.equal(first.name, "projector");
        assert.equal(first.version, 1);
        assert.deepEqual([...first.value], [1, 2, 3]);
        assert.ok(first.updatedAt >= before - 5_000 && first.updatedAt <= Date.now() + 5_000);
        const read = await store.getCheckpoint("projector");
        assert.deepEqual({ ...read, value: [...read!.value] }, { ...first, value: [1, 2, 3] });
        const second = await store.putCheckpoint("projector", new Uint8Array(0));
        assert.equal(second.version, 2);
        assert.equal((await store.getCheckpoint("projector"))?.value.byteLength, 0);
        // Another name is another checkpoint.
        assert.equal(await store.getCheckpoint("projector-2"), undefined);
      }),
  );

  define(
    ctx,
    "checkpoints: expectedVersion is a compare-and-set; a mismatch is a Conflict that writes nothing",
    () =>
      withFreshStore(ctx, async (store) => {
        const created = await store.putCheckpoint("p", bytes(1), { expectedVersion: 0 });
        assert.equal(created.version, 1);
        const error = await expectError(
          () => store.putCheckpoint("p", bytes(2), { expectedVersion: 0 }),
          "Conflict",
          /version 1, not 0/,
        );
        assert.equal(error.transient, false, "a version mismatch is not retried");
        await expectError(
          () => store.putCheckpoint("p", bytes(2), { expectedVersion: 5 }),
          "Conflict",
        );
        const kept = await store.getCheckpoint("p");
        assert.equal(kept?.version, 1);
        assert.deepEqual([...kept!.value], [1]);
        assert.equal((await store.putCheckpoint("p", bytes(3), { expectedVersion: 1 })).version, 2);
      }),
  );

  define(
    ctx,
    "checkpoints: racing compare-and-sets, one winner per version",
    () =>
      withFreshStore(ctx, async (store) => {
        for (let version = 0; version < 5; version++) {
          const results = await Promise.allSettled(
            Array.from(
              { length: 6 },
              (_, i) =>
                store.putCheckpoint("race", bytes(version, i), { expectedVersion: version }),
            ),
          );
          const won = results.filter((result) => result.status === "fulfilled");
          assert.equal(won.length, 1, `version ${version}: ${won.length} winners`);
          for (const result of results) {
            if (result.status === "rejected") {
              assert.ok(
                result.reason instanceof StreamkitError && result.reason.kind === "Conflict",
                `a loser fails with Conflict, got ${result.reason}`,
              );
            }
          }
          assert.equal(await versionOf(store, "race"), version + 1);
        }
      }),
  );

  define(
    ctx,
    "checkpoints: a value of 64 KiB is kept; larger is PayloadTooLarge; bad arguments are InvalidArgument",
    () =>
      withFreshStore(ctx, async (store) => {
        const largest = new Uint8Array(64 * 1024).map((_, i) => i % 251);
        await store.putCheckpoint("big", largest);
        assert.deepEqual((await store.getCheckpoint("big"))?.value, largest);
        await expectError(
          () => store.putCheckpoint("big", new Uint8Array(64 * 1024 + 1)),
          "PayloadTooLarge",
          /65537 bytes exceeds the limit of 65536/,
        );
        await expectError(() => store.putCheckpoint("", bytes(1)), "InvalidArgument", "name");
        await expectError(
          () => store.putCheckpoint("a\u0000b", bytes(1)),
          "InvalidArgument",
          "name",
        );
        await expectError(() => store.getCheckpoint(7 as never), "InvalidArgument", "name");
        await expectError(
          () => store.putCheckpoint("p", "text" as never),
          "InvalidArgument",
          "value",
        );
        await expectError(
          () => store.putCheckpoint("p", bytes(1), { expectedVersion: -1 }),
          "InvalidArgument",
          "expectedVersion",
        );
        assert.equal((await store.getCheckpoint("big"))?.version, 1, "nothing else written");
        assert.equal(await store.getCheckpoint("p"), undefined);
      }),
  );

  define(
    ctx,
    "checkpoints: names of any characters; never seen as data by listings and reads",
    () =>
      withFreshStore(ctx, async (store) => {
        const names = ["a/b #1?", "🦊 \\ 100%", "x".repeat(200)];
        for (const name of names) await store.putCheckpoint(name, bytes(9));
        for (const name of names) {
          assert.deepEqual([...(await store.getCheckpoint(name))!.value], [9]);
        }
        await produce(store, "s", "g", records(1, 2));
        assert.deepEqual(await collect(store.getSpaces()), ["s"]);
        assert.deepEqual(await collect(store.getSegments("s")), ["g"]);
        assert.equal((await collect(store.consume({ spaces: fromStart(["s"]) }))).length, 2);
        await store.acquireLease("a/b #1?", { owner: "o", ttlMs: 60_000 });
        assert.deepEqual(await collect(store.getSpaces()), ["s"]);
      }),
  );

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "checkpoints: instances over one storage share them, one winner per version",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await a.putCheckpoint("shared", bytes(1));
          assert.deepEqual([...(await b.getCheckpoint("shared"))!.value], [1]);
          const results = await Promise.allSettled([
            a.putCheckpoint("shared", bytes(2), { expectedVersion: 1 }),
            b.putCheckpoint("shared", bytes(3), { expectedVersion: 1 }),
          ]);
          assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
          assert.equal(await versionOf(a, "shared"), 2);
        }),
    );
  }

  if (ctx.supports.persistence) {
    define(ctx, "checkpoints and lease tokens survive reopening", async () => {
      const storeId = newId();
      const first = await ctx.factory();
      let second: Awaited<ReturnType<Ctx["factory"]>> | undefined;
      try {
        const store = await first.newStore(storeId);
        let token: number;
        try {
          await store.putCheckpoint("p", bytes(4, 2));
          await store.putCheckpoint("p", bytes(4, 3));
          const lease = await store.acquireLease("p", { owner: "one", ttlMs: 60_000 });
          await store.releaseLease(lease!);
          token = lease!.token;
        } finally {
          await store.close();
        }
        await first.close();
        second = await ctx.factory({ sameStorageAs: first });
        const again = await second.newStore(storeId);
        try {
          const checkpoint = await again.getCheckpoint("p");
          assert.equal(checkpoint?.version, 2);
          assert.deepEqual([...checkpoint!.value], [4, 3]);
          const lease = await again.acquireLease("p", { owner: "two", ttlMs: 60_000 });
          assert.ok(lease && lease.token > token, "the token continues above the last one");
        } finally {
          await again.close();
        }
      } finally {
        await second?.close();
      }
    });
  }
}
