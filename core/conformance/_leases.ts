// Conformance: leases (one holder, racing acquirers, expiry and takeover, fencing of checkpoint
// writes, renewal, release, arguments) and, with supports.multiInstance, across instances.

import assert from "node:assert/strict";
import { sleep } from "../_async.ts";
import { StreamkitError } from "../errors.ts";
import type { Lease, Store } from "../types.ts";
import { expectError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { withFreshStore, withTwoInstances } from "./_instances.ts";

const MINUTE = 60_000;

/** Waits until `lease` has expired by this process's clock (and a little more). */
async function outlive(lease: Lease): Promise<void> {
  await sleep(Math.max(0, lease.expiresAt - Date.now()) + 30);
}

async function acquired(store: Store, name: string, owner: string, ttlMs = MINUTE) {
  const lease = await store.acquireLease(name, { owner, ttlMs });
  assert.ok(lease, `${owner} acquires ${name}`);
  return lease;
}

export function registerLeases(ctx: Ctx): void {
  define(
    ctx,
    "leases: one holder; another owner gets undefined; the holder re-acquires with a higher token",
    () =>
      withFreshStore(ctx, async (store) => {
        const before = Date.now();
        const lease = await acquired(store, "projector", "one");
        assert.equal(lease.name, "projector");
        assert.equal(lease.owner, "one");
        assert.ok(lease.token >= 1);
        assert.ok(
          lease.expiresAt >= before + MINUTE - 5_000 &&
            lease.expiresAt <= Date.now() + MINUTE + 5_000,
        );
        assert.equal(
          await store.acquireLease("projector", { owner: "two", ttlMs: MINUTE }),
          undefined,
        );
        const again = await acquired(store, "projector", "one");
        assert.ok(again.token > lease.token, "every acquisition gets a higher token");
        // The earlier lease of the same owner is no longer the current one.
        await expectError(() => store.renewLease(lease), "LeaseLost");
        assert.ok(await store.acquireLease("other", { owner: "two", ttlMs: MINUTE }));
      }),
  );

  define(
    ctx,
    "leases: racing acquirers, exactly one holder",
    () =>
      withFreshStore(ctx, async (store) => {
        const results = await Promise.allSettled(
          Array.from(
            { length: 8 },
            (_, i) => store.acquireLease("race", { owner: `o${i}`, ttlMs: MINUTE }),
          ),
        );
        const holders = results.filter((result) => result.status === "fulfilled" && result.value);
        assert.equal(holders.length, 1, `${holders.length} holders`);
        for (const result of results) {
          if (result.status === "rejected") {
            assert.ok(
              result.reason instanceof StreamkitError && result.reason.kind === "Conflict" &&
                result.reason.transient,
              `a loser gets undefined or a transient Conflict, got ${result.reason}`,
            );
          }
        }
      }),
  );

  define(
    ctx,
    "leases: after expiry another owner takes over; the old lease can neither renew nor write",
    () =>
      withFreshStore(ctx, async (store) => {
        const old = await acquired(store, "p", "one", 100);
        await store.putCheckpoint("p", new Uint8Array([1]), { lease: old });
        await outlive(old);
        await expectError(() => store.renewLease(old), "LeaseLost", /expired/);
        const taken = await acquired(store, "p", "two");
        assert.ok(taken.token > old.token);
        await expectError(
          () => store.putCheckpoint("p", new Uint8Array([2]), { lease: old }),
          "LeaseLost",
          /taken since/,
        );
        const checkpoint = await store.getCheckpoint("p");
        assert.equal(checkpoint?.version, 1, "a stale lease writes nothing");
        assert.deepEqual([...checkpoint!.value], [1]);
        await store.putCheckpoint("p", new Uint8Array([3]), { lease: taken });
        assert.equal((await store.getCheckpoint("p"))?.version, 2);
      }),
  );

  define(
    ctx,
    "leases: renewal extends the lease; release frees the name at once, keeping the token rising",
    () =>
      withFreshStore(ctx, async (store) => {
        const lease = await acquired(store, "p", "one", 1_000);
        const renewed = await store.renewLease(lease, { ttlMs: MINUTE });
        assert.equal(renewed.token, lease.token);
        assert.ok(renewed.expiresAt > lease.expiresAt);
        const again = await store.renewLease(renewed);
        assert.ok(again.expiresAt >= renewed.expiresAt, "without ttlMs, the last lifetime again");
        await store.releaseLease(again);
        await expectError(() => store.renewLease(again), "LeaseLost", /released/);
        await expectError(
          () => store.putCheckpoint("p", new Uint8Array(), { lease: again }),
          "LeaseLost",
        );
        await store.releaseLease(again); // a lease no longer current: nothing to do
        const next = await acquired(store, "p", "two");
        assert.ok(next.token > lease.token);
        // Releasing an old lease leaves the current holder alone.
        await store.releaseLease(lease);
        assert.equal(await store.acquireLease("p", { owner: "three", ttlMs: MINUTE }), undefined);
      }),
  );

  define(
    ctx,
    "leases: bad names, owners, ttls and leases are InvalidArgument",
    () =>
      withFreshStore(ctx, async (store) => {
        await expectError(
          () => store.acquireLease("", { owner: "o", ttlMs: 1 }),
          "InvalidArgument",
          "name",
        );
        await expectError(
          () => store.acquireLease("p", { owner: "", ttlMs: 1 }),
          "InvalidArgument",
          "owner",
        );
        await expectError(
          () => store.acquireLease("p", { owner: "o".repeat(257), ttlMs: 1 }),
          "InvalidArgument",
          "owner",
        );
        for (const ttlMs of [0, -5, 1.5, 86_400_001, Number.NaN]) {
          await expectError(
            () => store.acquireLease("p", { owner: "o", ttlMs }),
            "InvalidArgument",
            "ttlMs",
          );
        }
        await expectError(
          () => store.acquireLease("p", undefined as never),
          "InvalidArgument",
          "owner",
        );
        await expectError(() => store.renewLease({} as Lease), "InvalidArgument", "lease");
        await expectError(() => store.releaseLease(null as never), "InvalidArgument", "lease");
        const lease = await acquired(store, "p", "o");
        await expectError(() => store.renewLease(lease, { ttlMs: 0 }), "InvalidArgument", "ttlMs");
        await expectError(
          () => store.renewLease({ ...lease, name: "never-acquired" }),
          "LeaseLost",
        );
      }),
  );

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "leases: instances over one storage see one holder, and fencing across them",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          const results = await Promise.all([
            a.acquireLease("shared", { owner: "a", ttlMs: 150 }),
            b.acquireLease("shared", { owner: "b", ttlMs: 150 }),
          ].map((attempt) => attempt.catch(() => undefined)));
          const held = results.filter((lease) => lease !== undefined);
          assert.equal(held.length, 1, `${held.length} holders across instances`);
          const [holder, other] = results[0] ? [a, b] : [b, a];
          const lease = held[0]!;
          await outlive(lease);
          const taken = await acquired(other, "shared", "other");
          assert.ok(taken.token > lease.token);
          await expectError(
            () => holder.putCheckpoint("shared", new Uint8Array([1]), { lease }),
            "LeaseLost",
          );
          assert.equal(await other.getCheckpoint("shared"), undefined);
        }),
    );
  }
}
