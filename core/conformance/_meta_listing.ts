// Conformance: the listings of checkpoints and leases (getCheckpoints, getLeases): every record
// once, by name in UTF-8 byte order, never the data, a released lease with its expiresAt of 0,
// and, with supports.multiInstance, what another instance wrote.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import type { Checkpoint, Lease, Store } from "../types.ts";
import { type Ctx, define } from "./_context.ts";
import { fromStart, records } from "./_fixtures.ts";
import { withFreshStore, withTwoInstances } from "./_instances.ts";
import { produce } from "./_store_calls.ts";

const MINUTE = 60_000;
// UTF-8 byte order differs from UTF-16's here: U+E000 (EE 80 80) sorts before an emoji
// (F0 ..), whose surrogates (D83D ..) sort before U+E000 in UTF-16.
const NAMES = ["😀", "\uE000", "b", "a b", "a", "ab", "B", "é", "a/b #1?"];
const BYTE_ORDER = ["B", "a", "a b", "a/b #1?", "ab", "b", "é", "\uE000", "😀"];

/** A checkpoint with its value as a plain array, for deepEqual across drivers. */
function plainCheckpoint({ name, value, version, updatedAt }: Checkpoint) {
  return { name, value: [...value], version, updatedAt };
}

/** A lease's four fields only. */
function plainLease({ name, owner, token, expiresAt }: Lease): Lease {
  return { name, owner, token, expiresAt };
}

async function listedCheckpoints(store: Store) {
  return (await collect(store.getCheckpoints())).map(plainCheckpoint);
}

async function listedLeases(store: Store): Promise<Lease[]> {
  return (await collect(store.getLeases())).map(plainLease);
}

export function registerMetaListing(ctx: Ctx): void {
  define(
    ctx,
    "meta listings: an empty store, and a store of data only, list no checkpoint and no lease",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.deepEqual(await listedCheckpoints(store), []);
        assert.deepEqual(await listedLeases(store), []);
        await produce(store, "s", "g", records(1, 3));
        await produce(store, "checkpoint", "lease", records(1, 1));
        assert.deepEqual(await listedCheckpoints(store), []);
        assert.deepEqual(await listedLeases(store), []);
      }),
  );

  define(
    ctx,
    "meta listings: every checkpoint once, by name in UTF-8 byte order, as getCheckpoint reads it",
    () =>
      withFreshStore(ctx, async (store) => {
        for (const [i, name] of NAMES.entries()) {
          await store.putCheckpoint(name, new Uint8Array([i]));
        }
        await store.putCheckpoint("b", new Uint8Array([7, 7]));
        await store.putCheckpoint("empty", new Uint8Array(0));
        const listed = await listedCheckpoints(store);
        const order = [...BYTE_ORDER.slice(0, 6), "empty", ...BYTE_ORDER.slice(6)];
        assert.deepEqual(listed.map((checkpoint) => checkpoint.name), order);
        for (const checkpoint of listed) {
          const read = await store.getCheckpoint(checkpoint.name);
          assert.deepEqual(checkpoint, plainCheckpoint(read!), checkpoint.name);
        }
        const b = listed.find((checkpoint) => checkpoint.name === "b")!;
        assert.deepEqual([b.version, b.value], [2, [7, 7]]);
        // A listing left early leaves the store usable.
        for await (const checkpoint of store.getCheckpoints()) {
          assert.equal(checkpoint.name, "B");
          break;
        }
        assert.equal((await listedCheckpoints(store)).length, order.length);
      }),
  );

  define(
    ctx,
    "meta listings: every lease once, by name in UTF-8 byte order: held, taken over, released (expiresAt 0)",
    () =>
      withFreshStore(ctx, async (store) => {
        const held = new Map<string, Lease>();
        for (const name of NAMES) {
          const lease = await store.acquireLease(name, {
            owner: `owner of ${name}`,
            ttlMs: MINUTE,
          });
          assert.ok(lease, name);
          held.set(name, lease);
        }
        await store.releaseLease(held.get("a")!);
        const short = await store.acquireLease("short", { owner: "brief", ttlMs: 1 });
        const listed = await listedLeases(store);
        const order = [...BYTE_ORDER.slice(0, 6), "short", ...BYTE_ORDER.slice(6)];
        assert.deepEqual(listed.map((lease) => lease.name), order);
        for (const lease of listed) {
          if (lease.name === "short") assert.deepEqual(lease, plainLease(short!));
          else if (lease.name === "a") {
            assert.deepEqual(lease, { ...plainLease(held.get("a")!), expiresAt: 0 });
          } else assert.deepEqual(lease, plainLease(held.get(lease.name)!), lease.name);
        }
        // Taken over after its release: the new holder, with a higher token.
        const again = await store.acquireLease("a", { owner: "next", ttlMs: MINUTE });
        const a = (await listedLeases(store)).find((lease) => lease.name === "a");
        assert.deepEqual(a, plainLease(again!));
        assert.ok(a!.token > held.get("a")!.token);
      }),
  );

  define(
    ctx,
    "meta listings: checkpoints and leases of one name are listed apart, never as data",
    () =>
      withFreshStore(ctx, async (store) => {
        await store.putCheckpoint("p", new Uint8Array([1]));
        await store.acquireLease("p", { owner: "o", ttlMs: MINUTE });
        await store.acquireLease("q", { owner: "o", ttlMs: MINUTE });
        await produce(store, "p", "p", records(1, 2));
        assert.deepEqual((await listedCheckpoints(store)).map((c) => c.name), ["p"]);
        assert.deepEqual((await listedLeases(store)).map((lease) => lease.name), ["p", "q"]);
        assert.deepEqual(await collect(store.getSpaces()), ["p"]);
        assert.equal((await collect(store.consume({ spaces: fromStart(["p"]) }))).length, 2);
      }),
  );

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "meta listings: an instance lists the checkpoints and leases another wrote",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await a.putCheckpoint("shared", new Uint8Array([1, 2]));
          const lease = await a.acquireLease("shared", { owner: "a", ttlMs: MINUTE });
          const written = (await listedCheckpoints(a))[0];
          assert.deepEqual([written?.name, written?.value], ["shared", [1, 2]]);
          assert.deepEqual(await listedCheckpoints(b), [written]);
          assert.deepEqual(await listedLeases(b), [plainLease(lease!)]);
        }),
    );
  }
}
