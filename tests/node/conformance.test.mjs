// The conformance suite on Node, against the built npm packages, imported by package name.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { conformance } from "@streamkit/core/conformance";
import { MemoryStoreFactory } from "@streamkit/memory";
import { LevelStoreFactory } from "@streamkit/level";
import { AzureStoreFactory } from "@streamkit/azure";
import { randomUUID } from "node:crypto";
import process from "node:process";

const root = mkdtempSync(join(tmpdir(), "streamkit-node-level-"));

conformance({
  name: "node memory",
  test,
  factory: (options) => Promise.resolve(new MemoryStoreFactory(options)),
  supports: {},
});

const directories = new WeakMap();
conformance({
  name: "node level",
  test,
  factory: ({ sameStorageAs, ...options } = {}) => {
    const path = sameStorageAs ? directories.get(sameStorageAs) : mkdtempSync(join(root, "store-"));
    const factory = new LevelStoreFactory({ path, ...options });
    directories.set(factory, path);
    return Promise.resolve(factory);
  },
  supports: { persistence: true, listStores: true },
});

// scripts/test_node.ts starts Azurite and passes its connection string: never skipped.
const azureConnectionString = process.env.STREAMKIT_AZURE_CONNECTION_STRING;
if (!azureConnectionString) {
  throw new Error("STREAMKIT_AZURE_CONNECTION_STRING is not set: run through deno task test:node");
}
const tablePrefixes = new WeakMap();
conformance({
  name: "node azure",
  test,
  factory: ({ sameStorageAs, ...options } = {}) => {
    const tablePrefix = sameStorageAs
      ? tablePrefixes.get(sameStorageAs)
      : `n${randomUUID().slice(0, 8)}`;
    const factory = new AzureStoreFactory({
      connectionString: azureConnectionString,
      allowInsecureHttp: true,
      tablePrefix,
      ...options,
    });
    tablePrefixes.set(factory, tablePrefix);
    return Promise.resolve(factory);
  },
  supports: { persistence: true, multiInstance: true, listStores: true },
});

// The remote driver: the suite through RemoteStoreFactory (client) against createStoreHandler
// (server) on memory and level, both from the built packages, the server on Node's HTTP through
// @hono/node-server. One server serves every storage under a path of its own (/t/<n>).
const { RemoteStoreFactory } = await import("@streamkit/remote");
const { createStoreHandler } = await import("@streamkit/remote/server");
const { serve } = await import("@hono/node-server");

function remoteHarness(makeServerFactory) {
  const handlers = new Map();
  const serverFactories = [];
  const paths = new WeakMap();
  let next = 0;
  const listening = new Promise((resolve) => {
    const server = serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => {
        const url = new URL(request.url);
        const match = /^\/t\/(\d+)(\/.*)$/.exec(url.pathname);
        const handler = match && handlers.get(match[1]);
        if (!handler) return new Response("no such storage", { status: 404 });
        url.pathname = match[2];
        return handler(new Request(url, request));
      },
    }, (info) => resolve({ server, port: info.port }));
  });
  return {
    factory: async ({ sameStorageAs, ...options } = {}) => {
      const { port } = await listening;
      let path = sameStorageAs && paths.get(sameStorageAs);
      if (!path) {
        const id = String(next++);
        const factory = await makeServerFactory(options);
        serverFactories.push(factory);
        handlers.set(id, createStoreHandler({ factory, auth: { none: true } }));
        path = `/t/${id}`;
      }
      const client = new RemoteStoreFactory({ url: `http://127.0.0.1:${port}${path}` });
      paths.set(client, path);
      return client;
    },
    close: async () => {
      const { server } = await listening;
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
      await Promise.all(serverFactories.map((factory) => factory.close()));
    },
  };
}

const remoteMemory = remoteHarness((options) => Promise.resolve(new MemoryStoreFactory(options)));
const remoteLevel = remoteHarness((options) =>
  Promise.resolve(new LevelStoreFactory({ path: mkdtempSync(join(root, "remote-")), ...options }))
);
// Last: the servers' stores close before the directories go.
after(async () => {
  await remoteMemory.close();
  await remoteLevel.close();
  rmSync(root, { recursive: true, force: true });
});
conformance({
  name: "node remote memory",
  test,
  factory: remoteMemory.factory,
  supports: { multiInstance: true, listStores: true },
});
conformance({
  name: "node remote level",
  test,
  factory: remoteLevel.factory,
  supports: { persistence: true, multiInstance: true, listStores: true },
});
