// The Azure driver's checkpoints and leases (getMeta/putMeta/listMeta, PROTOCOL.md I16) on a
// real Azurite: conditional writes by ETag, all or none across records, exact values, any name in
// UTF-8 byte order, invisible to every data read, one winner between processes, and a write
// whose answer was lost counted as written.

import assert from "node:assert/strict";
import {
  compareKeys,
  isTransient,
  type StoreId,
  StreamkitError,
  verifyStore,
} from "../core/mod.ts";
import type { MetaKind, MetaWrite, StoreBackend } from "../core/driver.ts";
import { collect } from "../core/_test_util.ts";
import { AzureStoreFactory, type AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import {
  type FaultKind,
  type FaultProxy,
  META_PARTITION,
  type ProxiedRequest,
  rule,
  startAzurite,
  startFaultProxy,
} from "../drivers/azure/_test_support.ts";
import {
  azuriteConnectionString,
  type AzuriteProxy,
  produceNumbered,
  randomBytes,
} from "./_azure_test_store.ts";

// One Azurite for the file; it exits with this process.
const azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

const utf8 = new TextEncoder();
const bytes = (text: string) => utf8.encode(text);

/** A factory that keeps the backend of each store it opens, to call getMeta & co. on it. */
class BackendKeeper extends AzureStoreFactory {
  readonly backends = new Map<StoreId, StoreBackend>();

  protected override async openBackend(storeId: StoreId): Promise<StoreBackend> {
    const backend = await super.openBackend(storeId);
    this.backends.set(storeId, backend);
    return backend;
  }
}

/** A factory on Azurite under `tablePrefix` (a fresh one by default), through `via` if given. */
function keeper(
  tablePrefix = `m${crypto.randomUUID().slice(0, 8)}`,
  options: Partial<AzureStoreFactoryOptions> = {},
  via?: AzuriteProxy,
): BackendKeeper {
  return new BackendKeeper({
    connectionString: azuriteConnectionString(azurite, via),
    allowInsecureHttp: true,
    tablePrefix,
    sweepIntervalMs: 0,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

/** Opens `storeId` (a fresh one by default) of `factory`; the store and its backend. */
async function open(factory: BackendKeeper, storeId: StoreId = crypto.randomUUID()) {
  const store = await factory.newStore(storeId);
  return { store, storeId, backend: factory.backends.get(storeId)! };
}

const create = (kind: MetaKind, name: string, value: Uint8Array): MetaWrite => ({
  kind,
  name,
  expected: undefined,
  value,
});

const update = (kind: MetaKind, name: string, expected: string, value: Uint8Array): MetaWrite => ({
  kind,
  name,
  expected,
  value,
});

/** The record's value as text and its version. */
async function read(backend: StoreBackend, kind: MetaKind, name: string) {
  const record = await backend.getMeta(kind, name);
  return record && { text: new TextDecoder().decode(record.value), version: record.version };
}

Deno.test("azure meta: create, refused create, update by version, stale version", async () => {
  await using factory = keeper();
  const { store, backend } = await open(factory);
  await using _store = store;
  assert.equal(await backend.getMeta("checkpoint", "p"), undefined);

  assert.equal(await backend.putMeta([create("checkpoint", "p", bytes("one"))]), true);
  const first = await read(backend, "checkpoint", "p");
  assert.equal(first?.text, "one");
  assert.equal(typeof first?.version, "string");
  // Kinds are apart: a lease of the same name is another record.
  assert.equal(await backend.getMeta("lease", "p"), undefined);

  assert.equal(await backend.putMeta([create("checkpoint", "p", bytes("two"))]), false);
  assert.deepEqual(await read(backend, "checkpoint", "p"), first);

  const written = await backend.putMeta([
    update("checkpoint", "p", first!.version, bytes("three")),
  ]);
  assert.equal(written, true);
  const second = await read(backend, "checkpoint", "p");
  assert.equal(second?.text, "three");
  assert.notEqual(second?.version, first?.version);

  assert.equal(
    await backend.putMeta([update("checkpoint", "p", first!.version, bytes("four"))]),
    false,
  );
  assert.deepEqual(await read(backend, "checkpoint", "p"), second);
  // A version given for a record that is not there (404 in the transaction).
  assert.equal(
    await backend.putMeta([update("lease", "p", second!.version, bytes("five"))]),
    false,
  );
  assert.equal(await backend.getMeta("lease", "p"), undefined);
  assert.equal(await backend.putMeta([]), true);
});

Deno.test("azure meta: a write of two records writes neither when one condition fails", async () => {
  await using factory = keeper();
  const { store, backend } = await open(factory);
  await using _store = store;
  assert.equal(await backend.putMeta([create("lease", "l", bytes("lease 1"))]), true);
  const lease = await read(backend, "lease", "l");

  // The lease's version is stale: the checkpoint's create goes with it.
  assert.equal(await backend.putMeta([create("lease", "l2", bytes("x"))]), true);
  const stale = (await read(backend, "lease", "l2"))!.version;
  assert.equal(
    await backend.putMeta([
      create("checkpoint", "c", bytes("c 1")),
      update("lease", "l", stale, bytes("lease 1")),
    ]),
    false,
  );
  assert.equal(await backend.getMeta("checkpoint", "c"), undefined);
  assert.deepEqual(await read(backend, "lease", "l"), lease);

  // The create is refused (the record exists): the lease's rewrite, in order, goes with it.
  assert.equal(await backend.putMeta([create("checkpoint", "c", bytes("c 0"))]), true);
  const checkpoint = await read(backend, "checkpoint", "c");
  assert.equal(
    await backend.putMeta([
      update("lease", "l", lease!.version, bytes("lease 2")),
      create("checkpoint", "c", bytes("c 1")),
    ]),
    false,
  );
  assert.deepEqual(await read(backend, "lease", "l"), lease);
  assert.deepEqual(await read(backend, "checkpoint", "c"), checkpoint);

  // Both conditions hold: both written, both at new versions.
  assert.equal(
    await backend.putMeta([
      update("checkpoint", "c", checkpoint!.version, bytes("c 1")),
      update("lease", "l", lease!.version, bytes("lease 1")),
    ]),
    true,
  );
  const [c, l] = [await read(backend, "checkpoint", "c"), await read(backend, "lease", "l")];
  assert.equal(c?.text, "c 1");
  assert.notEqual(c?.version, checkpoint?.version);
  assert.equal(l?.text, "lease 1");
  assert.notEqual(l?.version, lease?.version);

  await assert.rejects(
    backend.putMeta([create("lease", "d", bytes("a")), create("lease", "d", bytes("b"))]),
    (error) => error instanceof StreamkitError && error.kind === "InvalidArgument",
  );
});

Deno.test("azure meta: values of 0 bytes and of 64 KiB + 24 bytes round-trip exactly", async () => {
  await using factory = keeper();
  const { store, backend } = await open(factory);
  await using _store = store;
  const large = randomBytes(64 * 1024 + 24);
  assert.equal(await backend.putMeta([create("checkpoint", "empty", new Uint8Array())]), true);
  assert.equal(await backend.putMeta([create("checkpoint", "large", large)]), true);
  const empty = await backend.getMeta("checkpoint", "empty");
  assert.deepEqual(empty?.value, new Uint8Array());
  const read = await backend.getMeta("checkpoint", "large");
  assert.deepEqual(read?.value, large);
  assert.equal(Object.getPrototypeOf(read!.value), Uint8Array.prototype);

  // Replaced, not merged: a shorter value leaves no part of the longer one behind, and back.
  assert.equal(
    await backend.putMeta([update("checkpoint", "large", read!.version, bytes("abc"))]),
    true,
  );
  const short = await backend.getMeta("checkpoint", "large");
  assert.deepEqual(short?.value, bytes("abc"));
  assert.equal(
    await backend.putMeta([
      update("checkpoint", "large", short!.version, large),
      update("checkpoint", "empty", empty!.version, large.subarray(100, 70_000)),
    ]),
    true,
  );
  assert.deepEqual((await backend.getMeta("checkpoint", "large"))?.value, large);
  assert.deepEqual(
    (await backend.getMeta("checkpoint", "empty"))?.value,
    large.subarray(100, 70_000),
  );
});

Deno.test("azure meta: any name round-trips and lists in UTF-8 byte order", async () => {
  await using factory = keeper();
  const { store, backend } = await open(factory);
  await using _store = store;
  const long = "a".repeat(300);
  const names = [
    "a/b",
    "#",
    "?q=1",
    "back\\slash",
    "'quote'",
    "\u{1F680} rocket",
    "\uFFFF",
    "\u00e9",
    "tab\there",
    "x".repeat(1_000),
    "\u{1F680}".repeat(1_000),
    // Longer than a key holds, sharing their keyed first 200 bytes: sorted by the whole name.
    `${long}c`,
    `${long}b`,
    long,
    "a".repeat(200),
    `${"a".repeat(199)}b`,
    "a",
  ];
  for (const [i, name] of names.entries()) {
    assert.equal(await backend.putMeta([create("checkpoint", name, bytes(`value ${i}`))]), true);
  }
  for (const [i, name] of names.entries()) {
    assert.equal((await read(backend, "checkpoint", name))?.text, `value ${i}`, name.slice(0, 20));
    assert.equal(await backend.getMeta("lease", name), undefined);
  }
  const expected = names.map((name) => ({ name, key: bytes(name) }))
    .sort((a, b) => compareKeys(a.key, b.key)).map(({ name }) => name);
  // UTF-8 order is not UTF-16 order: U+FFFF sorts before the emoji here.
  assert.ok(expected.indexOf("\uFFFF") < expected.indexOf("\u{1F680} rocket"));
  assert.deepEqual(await collect(backend.listMeta("checkpoint")), expected);
  assert.deepEqual(await collect(backend.listMeta("lease")), []);
  assert.equal(
    await backend.putMeta([create("lease", "\u{1F680}".repeat(1_000), bytes("l"))]),
    true,
  );
  assert.deepEqual(await collect(backend.listMeta("lease")), ["\u{1F680}".repeat(1_000)]);
});

Deno.test("azure meta: no data read, listing or verify sees the records", async () => {
  const tablePrefix = `m${crypto.randomUUID().slice(0, 8)}`;
  const storeId = crypto.randomUUID();
  {
    await using factory = keeper(tablePrefix);
    const { store, backend } = await open(factory, storeId);
    await using _store = store;
    await produceNumbered(store, "orders", "a", 1, 5);
    await produceNumbered(store, "orders", "b", 1, 3);
    // Names that are spaces and segments of the store, and names that are not.
    for (const name of ["orders", "a", "b", "other"]) {
      for (const kind of ["checkpoint", "lease"] as const) {
        assert.equal(await backend.putMeta([create(kind, name, randomBytes(70_000))]), true);
      }
    }
  }
  // Opened again elsewhere: recovery ran over the table, and the records are still there.
  await using factory = keeper(tablePrefix);
  const { store, backend } = await open(factory, storeId);
  await using _store = store;
  assert.deepEqual(await collect(backend.listSpaces()), ["orders"]);
  assert.deepEqual(await collect(backend.listSegments("orders")), ["a", "b"]);
  assert.deepEqual(await collect(backend.listSegments("other")), []);
  assert.deepEqual(await collect(store.getSpaces()), ["orders"]);
  assert.deepEqual(await collect(store.getSegments("orders")), ["a", "b"]);
  const entries = await collect(store.consumeSpace({ space: "orders" }));
  assert.deepEqual(entries.map(({ segment, sequence }) => `${segment}${sequence}`).sort(), [
    "a1",
    "a2",
    "a3",
    "a4",
    "a5",
    "b1",
    "b2",
    "b3",
  ]);
  assert.deepEqual(await collect(store.consumeSpace({ space: "other" })), []);
  const report = await verifyStore(store);
  assert.deepEqual(report.problems, []);
  assert.equal(report.sound, true);
  assert.equal(report.spaces, 1);
  assert.equal(report.segments, 2);
  assert.equal(report.entries, 8);
  assert.deepEqual(await factory.listStores(), [storeId]);
  assert.deepEqual(await collect(backend.listMeta("checkpoint")), ["a", "b", "orders", "other"]);
  assert.equal((await backend.getMeta("lease", "orders"))?.value.byteLength, 70_000);
});

Deno.test("azure meta: two processes racing 10 creates of one name: exactly one wins", async () => {
  const tablePrefix = `m${crypto.randomUUID().slice(0, 8)}`;
  const storeId = crypto.randomUUID();
  await using one = keeper(tablePrefix);
  await using two = keeper(tablePrefix);
  const a = await open(one, storeId);
  const b = await open(two, storeId);
  await using _a = a.store;
  await using _b = b.store;
  const backends = [a.backend, b.backend];
  const results = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) => backends[i % 2].putMeta([create("lease", "race", bytes(`writer ${i}`))]),
    ),
  );
  assert.equal(results.filter(Boolean).length, 1, `results: ${results}`);
  const winner = results.indexOf(true);
  const won = await read(b.backend, "lease", "race");
  assert.equal(won?.text, `writer ${winner}`);
  assert.deepEqual(await read(a.backend, "lease", "race"), won);

  // And 10 updates from the same version: one wins again.
  const updates = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) =>
        backends[i % 2].putMeta([
          update("lease", "race", won!.version, bytes(`update ${i}`)),
          create("checkpoint", `fenced ${i}`, bytes("c")),
        ]),
    ),
  );
  assert.equal(updates.filter(Boolean).length, 1, `updates: ${updates}`);
  const updated = updates.indexOf(true);
  assert.equal((await read(a.backend, "lease", "race"))?.text, `update ${updated}`);
  assert.deepEqual(await collect(a.backend.listMeta("checkpoint")), [`fenced ${updated}`]);
});

/** Whether a request is a transaction of the meta partition. */
function metaBatch(request: ProxiedRequest): boolean {
  return request.url.endsWith("/$batch") &&
    request.body.includes(`"PartitionKey":"${META_PARTITION}"`);
}

/** Forces `kind` on the next `count` meta transactions through `proxy`. */
function faultNext(proxy: FaultProxy, kind: FaultKind, count = 1): void {
  let left = count;
  proxy.forced = [{ kind, hits: 0, match: (request) => metaBatch(request) && left-- > 0 }];
}

Deno.test("azure meta: a write whose answer was lost counts as written; faults map to kinds", async () => {
  const proxy = await startFaultProxy({ targetPort: azurite.port, seed: 1, faultRate: 0 });
  try {
    await using factory = keeper(undefined, {}, proxy);
    const { store, backend } = await open(factory);
    await using _store = store;
    for (const kind of ["503-after", "drop-after"] as const) {
      // Applied, answer lost; the retry is refused (exists, then changed), yet it was written.
      faultNext(proxy, kind);
      assert.equal(await backend.putMeta([create("checkpoint", kind, bytes("1"))]), true, kind);
      const first = await read(backend, "checkpoint", kind);
      assert.equal(first?.text, "1");
      faultNext(proxy, kind);
      const rewrite = [
        update("checkpoint", kind, first!.version, bytes("2")),
        create("lease", kind, bytes("l")),
      ];
      assert.equal(await backend.putMeta(rewrite), true, kind);
      assert.equal((await read(backend, "checkpoint", kind))?.text, "2");
      assert.equal((await read(backend, "lease", kind))?.text, "l");
      // A refused write behind a lost answer of its own stays refused.
      faultNext(proxy, kind);
      assert.equal(await backend.putMeta(rewrite), false, kind);
      assert.equal((await read(backend, "checkpoint", kind))?.text, "2");
    }
    // Throttled, then let through: retried.
    faultNext(proxy, "429-before", 2);
    assert.equal(await backend.putMeta([create("checkpoint", "throttled", bytes("t"))]), true);
    assert.equal((await read(backend, "checkpoint", "throttled"))?.text, "t");
    assert.equal(proxy.forced[0].hits, 2);

    // Unavailable for longer than the retries last: Unavailable, transient; nothing written.
    proxy.forced = [];
    const busy = rule(503, "ServerBusy", metaBatch);
    proxy.rules = [busy];
    await assert.rejects(
      backend.putMeta([create("checkpoint", "busy", bytes("b"))]),
      (error) =>
        error instanceof StreamkitError && error.kind === "Unavailable" && isTransient(error),
    );
    assert.equal(busy.hits, 7);
    proxy.rules = [rule(403, "AuthorizationFailure", metaBatch)];
    await assert.rejects(
      backend.putMeta([create("checkpoint", "denied", bytes("d"))]),
      (error) => error instanceof StreamkitError && error.kind === "AccessDenied",
    );
    proxy.rules = [];
    assert.equal(await backend.getMeta("checkpoint", "busy"), undefined);
    assert.equal(await backend.getMeta("checkpoint", "denied"), undefined);
  } finally {
    await proxy.stop();
  }
});

Deno.test("azure meta: a store's checkpoints and leases over the Azure records", async () => {
  await using factory = keeper();
  const { store } = await open(factory);
  await using _store = store;
  const lease = await store.acquireLease("projector", { owner: "one", ttlMs: 60_000 });
  assert.ok(lease);
  assert.equal(await store.acquireLease("projector", { owner: "two", ttlMs: 60_000 }), undefined);
  const checkpoint = await store.putCheckpoint("projector", bytes("at 7"), { lease });
  assert.equal(checkpoint.version, 1);
  assert.deepEqual((await store.getCheckpoint("projector"))?.value, bytes("at 7"));
  await store.releaseLease(lease);
  const taken = await store.acquireLease("projector", { owner: "two", ttlMs: 60_000 });
  assert.equal(taken?.token, lease.token + 1);
  await assert.rejects(
    store.putCheckpoint("projector", bytes("at 8"), { lease }),
    (error) => error instanceof StreamkitError && error.kind === "LeaseLost",
  );
  assert.equal((await store.getCheckpoint("projector"))?.version, 1);
});
