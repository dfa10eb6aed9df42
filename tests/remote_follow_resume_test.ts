// Follows over the wire survive what networks and servers do: a server SIGKILLed mid-follow and
// restarted on the same address and LevelDB directory, and a proxy that cuts connections at
// random. The remote follower must deliver every entry exactly once and in order.

import assert from "node:assert/strict";
import type { Entry, FollowEvent, Store } from "../core/mod.ts";
import { readLines, sleep, withTimeout } from "../core/_test_util.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";
import { createStoreHandler } from "../drivers/remote/server.ts";

const SPACE = "orders";
const STORE_ID = "5b0c3f8e-2d4a-4c1b-9e7f-0a1b2c3d4e5f";

interface ServerProcess {
  port: number;
  child: Deno.ChildProcess;
}

/** Starts the server child on `port` (0: any) over `path`; resolves once it listens. */
async function startServer(path: string, port: number): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_remote_server_child.ts", import.meta.url).pathname,
      path,
      String(port),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const listening = await new Promise<number>((resolve, reject) => {
    readLines(child.stdout, (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    }).then(() => reject(new Error("the server exited before it listened")), reject);
  });
  return { port: listening, child };
}

async function kill(server: ServerProcess): Promise<void> {
  try {
    server.child.kill("SIGKILL");
  } catch {
    // Gone already.
  }
  await server.child.status;
}

/** Produces `count` records of `segment` one produce each, retrying through outages. */
async function produceThrough(store: Store, segment: string, count: number): Promise<void> {
  let sequence = 1;
  while (sequence <= count) {
    try {
      const payload = new TextEncoder().encode(`${segment}#${sequence}`);
      for await (const _ of store.produce({ space: SPACE, segment }, [{ sequence, payload }])) {
        // One status.
      }
      sequence++;
    } catch (error) {
      // A produce whose answer was lost may have committed: the head says.
      const status = await store.getSegmentStatus(SPACE, segment).catch(() => undefined);
      if (status) sequence = status.lastSequence + 1;
      else if (!(error instanceof Error)) throw error;
      await sleep(20);
    }
  }
}

/** Follows the space until `expected` entries arrived; checks exactly-once order per segment. */
async function followAll(
  store: Store,
  expected: number,
  stop: AbortSignal,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  const next = new Map<string, number>();
  for await (
    const event of store.follow({ spaces: { [SPACE]: undefined }, signal: stop }) as AsyncIterable<
      FollowEvent
    >
  ) {
    if (event.type !== "entry") continue;
    const { segment, sequence } = event.entry;
    assert.equal(sequence, next.get(segment) ?? 1, `${segment}: delivered #${sequence}`);
    next.set(segment, sequence + 1);
    entries.push(event.entry);
    if (entries.length === expected) break;
  }
  return entries;
}

Deno.test("remote follow: a server SIGKILLed mid-follow and restarted; the follower goes on", async () => {
  const path = await Deno.makeTempDir({ prefix: "streamkit-remote-resume-" });
  let server = await startServer(path, 0);
  const { port } = server;
  const url = `http://127.0.0.1:${port}`;
  const factory = new RemoteStoreFactory({ url });
  const stop = new AbortController();
  try {
    const store = await factory.newStore(STORE_ID);
    const PER_SEGMENT = 150;
    const following = followAll(store, 2 * PER_SEGMENT, stop.signal);
    const writing = Promise.all(
      ["a", "b"].map((segment) => produceThrough(store, segment, PER_SEGMENT)),
    );
    // Two kills at moments the writers and the follower are busy.
    for (const pause of [300, 400]) {
      await sleep(pause);
      await kill(server);
      await sleep(100);
      server = await startServer(path, port);
    }
    await withTimeout(writing, "the writers", 60_000);
    const entries = await withTimeout(following, "the follower", 60_000);
    assert.equal(entries.length, 2 * PER_SEGMENT);
  } finally {
    stop.abort();
    await factory.close();
    await kill(server);
    await Deno.remove(path, { recursive: true });
  }
});

/**
 * A TCP proxy on loopback to `target` that cuts every connection after a random 1–40 ms or
 * when `cutAll` is called; counts the connections it cut.
 */
function cuttingProxy(target: number, seed: number) {
  let state = seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let cut = 0;
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable, { preventClose: false });
    } catch {
      // Cut.
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
      } catch {
        client.close();
        continue;
      }
      open.add(client);
      open.add(upstream);
      const close = () => {
        for (const conn of [client, upstream]) {
          if (open.delete(conn)) {
            try {
              conn.close();
            } catch {
              // Closed by the other side.
            }
          }
        }
      };
      const timer = setTimeout(() => {
        cut++;
        close();
      }, 1 + random() * 40);
      void Promise.all([pipe(client, upstream), pipe(upstream, client)]).finally(() => {
        clearTimeout(timer);
        close();
      });
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    cuts: () => cut,
    close: async () => {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await accepting.catch(() => {});
    },
  };
}

Deno.test("remote follow: a proxy cutting connections at random; every entry once, in order", async () => {
  const factory = new MemoryStoreFactory();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createStoreHandler({ factory, auth: { none: true }, limits: { heartbeatMs: 50 } }),
  );
  const proxy = cuttingProxy(server.addr.port, 17);
  // The writer goes straight to the server; the follower through the proxy.
  const writer = new RemoteStoreFactory({ url: `http://127.0.0.1:${server.addr.port}` });
  const reader = new RemoteStoreFactory({ url: `http://127.0.0.1:${proxy.port}` });
  const stop = new AbortController();
  try {
    const writerStore = await writer.newStore(STORE_ID);
    const readerStore = await withTimeout(
      (async () => {
        while (true) {
          try {
            return await reader.newStore(STORE_ID);
          } catch {
            await sleep(5);
          }
        }
      })(),
      "opening through the proxy",
      10_000,
    );
    const PER_SEGMENT = 200;
    const following = followAll(readerStore, 3 * PER_SEGMENT, stop.signal);
    await Promise.all(["a", "b", "c"].map(async (segment) => {
      for (let sequence = 1; sequence <= PER_SEGMENT; sequence += 10) {
        const records = Array.from({ length: 10 }, (_, i) => ({
          sequence: sequence + i,
          payload: new TextEncoder().encode(`${segment}#${sequence + i}`),
        }));
        for await (const _ of writerStore.produce({ space: SPACE, segment }, records)) {
          // One status.
        }
        await sleep(20);
      }
    }));
    const entries = await withTimeout(following, "the follower", 60_000);
    assert.equal(entries.length, 3 * PER_SEGMENT);
    assert.ok(proxy.cuts() >= 3, `the proxy cut ${proxy.cuts()} connections`);
  } finally {
    stop.abort();
    await reader.close();
    await writer.close();
    await proxy.close();
    await server.shutdown();
    await factory.close();
  }
});
