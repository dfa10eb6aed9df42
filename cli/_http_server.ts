// The HTTP server of `streamkit serve`: `Deno.serve` under Deno, `@hono/node-server` under Node,
// one Web-standard handler for both. Closing it refuses new requests, cuts the responses that
// never end by themselves (follows: their clients resume once a server answers again), lets
// every other request in flight finish (for up to DRAIN_MS, then ends them), then closes the
// connections.

import type { Server as NodeHttpServer } from "node:http";
import type { ServerType as NodeServer } from "@hono/node-server";

/** How long requests in flight may take to finish once the server closes. */
export const DRAIN_MS = 10_000;

/** What to serve, and where. */
export interface ServerOptions {
  hostname: string;
  /** 0 for any free port. */
  port: number;
  /** A PEM certificate (chain) and its key: the server speaks https. */
  tls?: { cert: string; key: string };
  handler: (request: Request) => Promise<Response>;
  /** Whether a request's response goes on until the client leaves (a follow): cut on close. */
  endless: (request: Request) => boolean;
  /** The answer to a request that comes while the server closes. */
  closing: () => Response;
  /**
   * Called when requests are still in flight `drainMs` after the close began: ends them (the
   * stores close), so that the server can stop.
   */
  overdue: () => Promise<void>;
  /** How long requests in flight may take to finish once the server closes (default DRAIN_MS). */
  drainMs?: number;
}

/** A server accepting connections. */
export interface RunningServer {
  /** The port it listens on (the one it got, for port 0). */
  readonly port: number;
  /** Refuses new requests, cuts the endless responses, waits for the others, and stops. */
  close(): Promise<void>;
}

/** The part of the Deno namespace used here: the CLI is compiled for Node too, without it. */
interface DenoServe {
  serve(
    options: {
      hostname: string;
      port: number;
      cert?: string;
      key?: string;
      onListen: () => void;
    },
    handler: (request: Request) => Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

/**
 * The requests in flight, each from the call of its handler until its response's body ended
 * (or the client left). Deno's shutdown fails the request bodies still being read (a write in
 * flight), so the server stops only once none is left.
 */
class Requests {
  readonly #options: ServerOptions;
  readonly #cuts = new Set<() => void>();
  #count = 0;
  #closing = false;
  #onIdle: () => void = () => {};

  constructor(options: ServerOptions) {
    this.#options = options;
  }

  /** The handler, counting its requests; while closing, new ones are refused. */
  handle = async (request: Request): Promise<Response> => {
    if (this.#closing) return this.#options.closing();
    this.#count++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (--this.#count === 0) this.#onIdle();
    };
    try {
      const response = await this.#options.handler(request);
      return this.#track(response, finish, this.#options.endless(request));
    } catch (error) {
      finish();
      throw error;
    }
  };

  /** `response` with a body that calls `finish` when it ends; cut on close if `endless`. */
  #track(response: Response, finish: () => void, endless: boolean): Response {
    if (response.body === null) {
      finish();
      return response;
    }
    const reader = response.body.getReader();
    let done = false;
    let cut = () => {};
    const end = () => {
      done = true;
      this.#cuts.delete(cut);
      finish();
    };
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        cut = () => {
          if (done) return;
          end();
          controller.close();
          // The store call stops as if the client had left.
          reader.cancel(new Error("the server is shutting down")).catch(() => {});
        };
      },
      pull: async (controller) => {
        const next = await reader.read().catch((error) => {
          end();
          throw error;
        });
        if (done) return;
        if (next.done) {
          end();
          controller.close();
        } else controller.enqueue(next.value);
      },
      cancel: (reason) => {
        end();
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    if (endless) {
      this.#cuts.add(cut);
      if (this.#closing) cut();
    }
    const { status, statusText, headers } = response;
    return new Response(body, { status, statusText, headers });
  }

  /**
   * Refuses new requests, cuts the endless responses, and waits until no request is in flight;
   * past the options' `drainMs`, calls their `overdue` and waits as long again (then gives up).
   */
  async drain(): Promise<void> {
    this.#closing = true;
    for (const cut of [...this.#cuts]) cut();
    const idle = new Promise<void>((resolve) => {
      this.#onIdle = resolve;
      if (this.#count === 0) resolve();
    });
    const ms = this.#options.drainMs ?? DRAIN_MS;
    if (!await within(idle, ms)) {
      await this.#options.overdue();
      await within(idle, ms);
    }
  }
}

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Under Deno: `Deno.serve`, shut down once the requests in flight are done. */
function serveDeno(deno: DenoServe, options: ServerOptions, requests: Requests): RunningServer {
  const server = deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...options.tls,
    onListen: () => {}, // the command says where it listens, once
  }, requests.handle);
  return {
    port: server.addr.port,
    close: async () => {
      await requests.drain();
      await server.shutdown();
    },
  };
}

/** Under Node: `@hono/node-server`, with `node:https` for TLS. */
async function serveNode(options: ServerOptions, requests: Requests): Promise<RunningServer> {
  const { serve } = await import("@hono/node-server");
  const tls = options.tls === undefined
    ? {}
    : { createServer: (await import("node:https")).createServer, serverOptions: options.tls };
  let server: NodeServer | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve(
      { fetch: requests.handle, hostname: options.hostname, port: options.port, ...tls },
      (info) => resolve(info.port),
    );
    server.once("error", reject);
  });
  const http = server as NodeHttpServer;
  return {
    port,
    close: async () => {
      // No new connection; those kept alive are closed as soon as they are idle.
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      const idle = setInterval(() => http.closeIdleConnections(), 50);
      await requests.drain();
      http.closeAllConnections();
      await closed;
      clearInterval(idle);
    },
  };
}

/**
 * Starts serving; resolves once connections are accepted. Fails with the system's error when the
 * address cannot be listened on (in use, not allowed).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const requests = new Requests(options);
  const deno = (globalThis as unknown as { Deno?: DenoServe }).Deno;
  return deno === undefined
    ? await serveNode(options, requests)
    : serveDeno(deno, options, requests);
}
