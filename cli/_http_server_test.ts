import assert from "node:assert/strict";
import { sleep } from "../core/_test_util.ts";
import { type RunningServer, type ServerOptions, startServer } from "./_http_server.ts";

/** A response body the test writes to and ends. */
function openBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return {
    stream,
    write: (text: string) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
  };
}

/** A server on 127.0.0.1 whose `/endless` and `/slow` responses stay open until told. */
async function withServer(
  options: Partial<ServerOptions>,
  use: (server: RunningServer, bodies: Map<string, ReturnType<typeof openBody>>) => Promise<void>,
): Promise<void> {
  const bodies = new Map<string, ReturnType<typeof openBody>>();
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    handler: (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/quick") return Promise.resolve(new Response("quick"));
      const body = openBody();
      bodies.set(path, body);
      body.write(`${path} started\n`);
      return Promise.resolve(new Response(body.stream));
    },
    endless: (request) => new URL(request.url).pathname === "/endless",
    closing: () => new Response("closing", { status: 503 }),
    overdue: () => Promise.resolve(),
    ...options,
  });
  try {
    await use(server, bodies);
  } finally {
    await server.close();
  }
}

async function firstLine(response: Response): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /started/);
  return reader;
}

Deno.test("http server close: endless responses cut at once, others finish, new requests refused", async () => {
  await withServer({}, async (server, bodies) => {
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal(await (await fetch(`${base}/quick`)).text(), "quick");
    const endless = await firstLine(await fetch(`${base}/endless`));
    const slow = await firstLine(await fetch(`${base}/slow`));
    let closed = false;
    const closing = server.close().then(() => closed = true);
    // The endless response ends cleanly (no error), without its end.
    assert.deepEqual(await endless.read(), { done: true, value: undefined });
    await sleep(100);
    assert.ok(!closed, "closed with a response in flight");
    // Refused while closing: the server's own answer.
    const refused = await fetch(`${base}/quick`);
    assert.equal(refused.status, 503);
    assert.equal(await refused.text(), "closing");
    bodies.get("/slow")!.write("more\n");
    bodies.get("/slow")!.end();
    assert.equal(new TextDecoder().decode((await slow.read()).value), "more\n");
    assert.equal((await slow.read()).done, true);
    await closing;
  });
});

Deno.test("http server close: requests still in flight after drainMs are ended by overdue", async () => {
  let overdue = 0;
  const bodies = new Map<string, ReturnType<typeof openBody>>();
  await withServer({
    drainMs: 200,
    overdue: () => {
      overdue++;
      bodies.get("/slow")!.end();
      return Promise.resolve();
    },
  }, async (server, serverBodies) => {
    const slow = await firstLine(await fetch(`http://127.0.0.1:${server.port}/slow`));
    bodies.set("/slow", serverBodies.get("/slow")!);
    const started = performance.now();
    await server.close();
    assert.equal(overdue, 1);
    assert.ok(performance.now() - started >= 150);
    assert.equal((await slow.read()).done, true);
  });
});
