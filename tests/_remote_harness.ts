// The conformance suite through `RemoteStoreFactory`: one HTTP server on loopback serves every
// storage the suite asks for under a path of its own (`/t/<n>`), each over a server-side factory
// made with the suite's options (bus, nodeId, clock); `sameStorageAs` is another client of the
// same path.

import type { ConformanceFactoryOptions } from "../core/conformance/mod.ts";
import type { StoreFactory } from "../core/mod.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";
import { createStoreHandler } from "../drivers/remote/server.ts";

/** Makes the server-side factory of a fresh storage. */
export type ServerFactory = (options: ConformanceFactoryOptions) => Promise<StoreFactory>;

/** A loopback server of many storages, and the suite's factory function over it. */
export interface RemoteHarness {
  factory: (options?: ConformanceFactoryOptions) => Promise<StoreFactory>;
  close(): Promise<void>;
}

/** Starts the server; `serverFactory` makes each storage's factory on the server's side. */
export function startRemoteHarness(serverFactory: ServerFactory): RemoteHarness {
  const handlers = new Map<string, (request: Request) => Promise<Response>>();
  const serverFactories: StoreFactory[] = [];
  const paths = new WeakMap<StoreFactory, string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    const match = /^\/t\/(\d+)(\/.*)$/.exec(url.pathname);
    const handler = match && handlers.get(match[1]);
    if (!match || !handler) return new Response("no such storage", { status: 404 });
    url.pathname = match[2];
    return handler(new Request(url, request));
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  let next = 0;
  return {
    factory: async ({ sameStorageAs, ...options } = {}) => {
      let path = sameStorageAs && paths.get(sameStorageAs);
      if (!path) {
        const id = String(next++);
        const factory = await serverFactory(options);
        serverFactories.push(factory);
        handlers.set(id, createStoreHandler({ factory, auth: { none: true } }));
        path = `/t/${id}`;
      }
      const client = new RemoteStoreFactory({ url: base + path });
      paths.set(client, path);
      return client;
    },
    close: async () => {
      await server.shutdown();
      await Promise.all(serverFactories.map((factory) => factory.close()));
    },
  };
}
