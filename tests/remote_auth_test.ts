// Scopes over the wire: a server verifying HS256 tokens; clients with each kind of token get
// what their scope allows, AccessDenied naming the missing scope otherwise, and nothing is
// written by a refused write (records, checkpoints, leases).

import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { collect } from "../core/_test_util.ts";
import { StreamkitError } from "../core/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";
import { createStoreHandler } from "../drivers/remote/server.ts";

const SECRET = "a test secret of at least thirty-two bytes";
const STORE = "0d9a1f6e-5c3b-4a2d-8e1f-7a6b5c4d3e2f";
const OTHER = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b";

async function token(scope: string, expiresIn = "5m"): Promise<string> {
  return await new SignJWT({ scope }).setProtectedHeader({ alg: "HS256" }).setIssuedAt()
    .setExpirationTime(expiresIn).sign(new TextEncoder().encode(SECRET));
}

async function accessDenied(promise: Promise<unknown>, naming: string): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof StreamkitError, String(error));
    assert.equal(error.kind, "AccessDenied", error.message);
    assert.ok(error.message.includes(naming), `${error.message} should name ${naming}`);
    assert.ok(!error.message.includes(SECRET));
    return true;
  });
}

const records = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ sequence: from + i, payload: new Uint8Array([i]) }));

Deno.test("remote auth: each scope gets what it allows over HTTP, and a refused write writes nothing", async () => {
  const factory = new MemoryStoreFactory();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createStoreHandler({ factory, auth: { secret: SECRET } }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const clients: RemoteStoreFactory[] = [];
  const client = (token?: string | (() => Promise<string>)) => {
    const remote = new RemoteStoreFactory({ url, token });
    clients.push(remote);
    return remote;
  };
  try {
    // A writer of every store writes; a writer of this store too.
    const admin = await client(await token("streamkit::*")).newStore(STORE);
    await collect(admin.produce({ space: "s", segment: "g" }, records(1, 3)));
    const own = await client(() => token(`streamkit::${STORE}`)).newStore(STORE);
    await collect(own.produce({ space: "s", segment: "g" }, records(4, 2)));

    // A reader reads, and cannot write: AccessDenied naming the write scope, nothing written.
    const reader = await client(await token("streamkit:read::*")).newStore(STORE);
    assert.equal((await collect(reader.consumeSpace({ space: "s" }))).length, 5);
    await accessDenied(
      collect(reader.produce({ space: "s", segment: "g" }, records(6, 1))),
      `streamkit::${STORE}`,
    );
    await accessDenied(
      collect(reader.restore({ space: "s", segment: "h" }, [])),
      `streamkit::${STORE}`,
    );
    assert.equal((await admin.getSegmentStatus("s", "g"))?.lastSequence, 5);
    assert.equal(await admin.getSegmentStatus("s", "h"), undefined);

    // A token of this store opens no other; a store reader lists only its store.
    await accessDenied(
      client(await token(`streamkit:read::${STORE}`)).newStore(OTHER),
      `streamkit:read::${OTHER}`,
    );
    await client(await token("streamkit::*")).newStore(OTHER);
    assert.deepEqual(
      await client(await token(`streamkit:read::${STORE}`)).listStores(),
      [STORE],
    );

    // No token, a wrong one, an expired one, a scope of nothing: refused before any store.
    await accessDenied(client().newStore(STORE), "no bearer token");
    await accessDenied(client("not.a.token").newStore(STORE), "token");
    await accessDenied(client(await token("streamkit::*", "-1m")).newStore(STORE), "expired");
    await accessDenied(client(await token("other:scope")).newStore(STORE), "streamkit:read::");
  } finally {
    await Promise.all(clients.map((remote) => remote.close()));
    await server.shutdown();
    await factory.close();
  }
});

Deno.test("remote auth: a read scope reads and lists checkpoints and leases and writes none; another store's token gets nothing", async () => {
  const factory = new MemoryStoreFactory();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createStoreHandler({ factory, auth: { secret: SECRET } }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  // The token is asked for before each request: a store opened with one token is then called
  // with another (a token of another store could not open it).
  let current = "";
  const remote = new RemoteStoreFactory({ url, token: () => Promise.resolve(current) });
  const as = async (scope: string) => current = await token(scope);
  try {
    await as("streamkit::*");
    const store = await remote.newStore(STORE);
    const written = await store.putCheckpoint("c", new Uint8Array([1]));
    const held = (await store.acquireLease("held", { owner: "admin", ttlMs: 60_000 }))!;
    assert.equal(held.token, 1);

    for (const scope of ["streamkit:read::*", `streamkit:read::${STORE}`]) {
      await as(scope);
      assert.deepEqual(await store.getCheckpoint("c"), written);
      assert.equal(await store.getCheckpoint("none"), undefined);
      assert.deepEqual(await collect(store.getCheckpoints()), [written]);
      assert.deepEqual(await collect(store.getLeases()), [held]);
      const write = `streamkit::${STORE}`;
      await accessDenied(store.putCheckpoint("c", new Uint8Array([2])), write);
      await accessDenied(store.putCheckpoint("new", new Uint8Array([2])), write);
      await accessDenied(store.putCheckpoint("c", new Uint8Array([2]), { lease: held }), write);
      await accessDenied(store.acquireLease("free", { owner: "reader", ttlMs: 60_000 }), write);
      await accessDenied(store.acquireLease("held", { owner: "admin", ttlMs: 60_000 }), write);
      await accessDenied(store.renewLease(held, { ttlMs: 120_000 }), write);
      await accessDenied(store.releaseLease(held), write);
    }

    // Another store's token, even a writer's, may do nothing here.
    await as(`streamkit::${OTHER}`);
    await accessDenied(store.getCheckpoint("c"), `streamkit:read::${STORE}`);
    await accessDenied(collect(store.getCheckpoints()), `streamkit:read::${STORE}`);
    await accessDenied(collect(store.getLeases()), `streamkit:read::${STORE}`);
    await accessDenied(store.putCheckpoint("c", new Uint8Array([3])), `streamkit::${STORE}`);
    await accessDenied(store.acquireLease("free", { owner: "o", ttlMs: 1 }), `streamkit::${STORE}`);
    await accessDenied(store.renewLease(held), `streamkit::${STORE}`);
    await accessDenied(store.releaseLease(held), `streamkit::${STORE}`);

    // Nothing was written: the checkpoint as it was, no new one, "free" never acquired (its
    // first token is 1), "held" still held and not renewed.
    await as(`streamkit::${STORE}`);
    assert.deepEqual(await store.getCheckpoint("c"), written);
    assert.equal(await store.getCheckpoint("new"), undefined);
    assert.equal((await store.acquireLease("free", { owner: "writer", ttlMs: 60_000 }))?.token, 1);
    assert.equal(await store.acquireLease("held", { owner: "writer", ttlMs: 60_000 }), undefined);
    const renewed = await store.renewLease(held, { ttlMs: 1 });
    assert.equal(renewed.expiresAt, held.expiresAt, "a refused renew moved expiresAt");
    await store.releaseLease(held);
    assert.equal((await store.acquireLease("held", { owner: "writer", ttlMs: 1 }))?.token, 2);
  } finally {
    await remote.close();
    await server.shutdown();
    await factory.close();
  }
});
