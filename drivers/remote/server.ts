/**
 * @streamkit/remote/server: a Web-standard request handler that serves any `StoreFactory` over
 * the protocol of this package's README, with bearer-token scopes checked before a byte of a
 * body is read.
 *
 * @example
 * ```ts ignore
 * import { MemoryStoreFactory } from "@streamkit/memory";
 * import { createStoreHandler } from "@streamkit/remote/server";
 * const handler = createStoreHandler({
 *   factory: new MemoryStoreFactory(),
 *   auth: { secret: Deno.env.get("STREAMKIT_SECRET")! },
 * });
 * Deno.serve({ hostname: "127.0.0.1", port: 7070 }, handler);
 * ```
 *
 * @module
 */

import { MAX_CHECKPOINT_BYTES, type StoreFactory, StreamkitError } from "@streamkit/core";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { accessStatus, type AuthOptions, createVerifier } from "./_auth.ts";
import { registerRoutes, type ServerLimits } from "./_server_routes.ts";
import { API_PREFIX, httpStatusOf, JSON_TYPE, toWireError } from "./_wire.ts";

export type { Access, AuthOptions } from "./_auth.ts";
export type { ServerLimits } from "./_server_routes.ts";

/**
 * Options of {@linkcode createStoreHandler}.
 *
 * @example
 * ```ts ignore
 * import { MemoryStoreFactory } from "@streamkit/memory";
 * import type { StoreHandlerOptions } from "@streamkit/remote/server";
 * const options: StoreHandlerOptions = {
 *   factory: new MemoryStoreFactory(),
 *   auth: { none: true },
 *   cors: ["https://dashboard.example.com"],
 * };
 * ```
 */
export interface StoreHandlerOptions {
  /** The stores served: opened on first use, kept open, shared by every client. */
  factory: StoreFactory;
  /**
   * How bearer tokens are verified. `{ none: true }` serves without authentication: only
   * for a server listening on loopback (`streamkit serve` refuses it elsewhere).
   */
  auth: AuthOptions;
  /** Origins whose browser pages may call the server (CORS); none by default. */
  cors?: string[];
  /** Limits of requests and streams (defaults in {@linkcode DEFAULT_SERVER_LIMITS}). */
  limits?: Partial<ServerLimits>;
  /** Called with a request's failure the client was told only as "the server failed". */
  onError?: (error: unknown) => void;
}

/**
 * The defaults of {@linkcode ServerLimits}.
 *
 * @example
 * ```ts
 * import { DEFAULT_SERVER_LIMITS } from "@streamkit/remote/server";
 * console.log(DEFAULT_SERVER_LIMITS.maxJsonBodyBytes); // 65536
 * ```
 */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxJsonBodyBytes: 64 * 1024,
  // The largest value as hex (twice its bytes), and 16 KiB for its name, lease and JSON.
  maxCheckpointBodyBytes: 2 * MAX_CHECKPOINT_BYTES + 16 * 1024,
  maxFrameOverheadBytes: 64 * 1024,
  heartbeatMs: 15_000,
  maxStreamsPerToken: 1_024,
  maxReadAheadBytes: 8 * 1024 * 1024,
  bodyStallMs: 30_000,
});

/**
 * Checks `auth` as {@linkcode createStoreHandler} would use it (keys imported, a secret long
 * enough, a JWKS address that parses): `InvalidArgument` naming the option, before a server
 * starts. It never prints a secret.
 *
 * @example
 * ```ts
 * import { checkAuthOptions } from "@streamkit/remote/server";
 * await checkAuthOptions({ none: true });
 * ```
 */
export async function checkAuthOptions(auth: AuthOptions): Promise<void> {
  await createVerifier(auth);
}

/**
 * A handler serving `options.factory`'s stores: `(request) => Promise<Response>`, for
 * `Deno.serve`, Node (through `@hono/node-server`), Bun or a worker. Stores are opened on first
 * use and stay open; the caller closes the factory when the server stops, which ends follows
 * (their clients resume once a server answers again).
 *
 * @example
 * ```ts ignore
 * import { LevelStoreFactory } from "@streamkit/level";
 * import { createStoreHandler } from "@streamkit/remote/server";
 * const factory = new LevelStoreFactory({ path: "./data" });
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 7070 },
 *   createStoreHandler({ factory, auth: { none: true } }),
 * );
 * ```
 */
export function createStoreHandler(
  options: StoreHandlerOptions,
): (request: Request) => Promise<Response> {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  // A bad configuration is the server's failure, not the caller's: told to `onError` once, and
  // to clients as 503 without its details (`checkAuthOptions` tells it before listening).
  const verifier = createVerifier(options.auth).catch((error) => {
    options.onError?.(error);
    throw new StreamkitError(
      "Unavailable",
      "the server cannot verify tokens: its authentication is misconfigured",
    );
  });
  verifier.catch(() => {});
  const app = new Hono();
  if (options.cors && options.cors.length > 0) {
    app.use("*", cors({ origin: options.cors, allowHeaders: ["authorization", "content-type"] }));
  }
  app.onError((error) => {
    const wire = toWireError(error);
    if (!(error instanceof StreamkitError)) options.onError?.(error);
    const status = accessStatus(error) ?? httpStatusOf(wire);
    return Response.json({ error: wire }, { status });
  });
  app.notFound((c) =>
    Response.json({
      error: {
        kind: "InvalidArgument",
        message: `no route ${c.req.method} ${
          new URL(c.req.url).pathname
        } (this server speaks ${API_PREFIX})`,
        transient: false,
      },
    }, { status: 404, headers: { "content-type": JSON_TYPE } })
  );
  registerRoutes(app, options.factory, verifier, limits);
  return async (request) => await app.fetch(request);
}
