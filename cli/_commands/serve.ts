// `streamkit serve`: the stores of the database over HTTP (the protocol of @streamkit/remote), for
// `--db http(s)://...` and RemoteStoreFactory clients, until SIGINT or SIGTERM ends it cleanly.

import process from "node:process";
import type { Command } from "../_command.ts";
import { sourceDatabase } from "../_db.ts";
import { describeError, redact, UsageError } from "../_errors.ts";
import { DRAIN_MS, startServer } from "../_http_server.ts";
import { hostPort } from "../_listen.ts";
import { SERVE_OPTIONS, serveSettings } from "../_serve_options.ts";

/** The follows of the protocol: their responses go on until the client leaves. */
function isFollow(request: Request): boolean {
  return request.method === "POST" &&
    /\/stores\/[^/]+\/follow(-segment)?$/.test(new URL(request.url).pathname);
}

/** `error`, with the secret (if any) cut out of its message. */
function withoutSecret(error: unknown, secret: string): unknown {
  if (secret !== "" && error instanceof Error && error.message.includes(secret)) {
    error.message = redact(error.message, [secret]);
  }
  return error;
}

/** The answer while the server stops, as the protocol says errors: clients retry elsewhere. */
function shuttingDown(): Response {
  return Response.json({
    error: { kind: "Unavailable", message: "the server is shutting down", transient: true },
  }, { status: 503 });
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** `streamkit serve`. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve the database's stores over HTTP, for --db http://... and RemoteStoreFactory",
  usage: "",
  arity: [0, 0],
  description: "Serves every store of the database (opened on first use) over HTTP, the " +
    "protocol of @streamkit/remote: other commands reach it with --db http(s)://<host>:<port> " +
    "(token from STREAMKIT_TOKEN), applications with RemoteStoreFactory. Tokens are JWTs " +
    'whose scope grants "streamkit::<store id>" (read and write) or ' +
    '"streamkit:read::<store id>" (read only), with "*" for every store. Exactly one of ' +
    "--auth-secret-env, --auth-public-key, --auth-jwks and --no-auth says how tokens are " +
    "checked; --no-auth is refused unless it listens on a loopback address. Once it accepts " +
    "connections it prints `listening on http://<host>:<port>` on stderr. SIGINT or SIGTERM " +
    "stops it: new requests are refused (Unavailable, 503), follows end (their clients resume " +
    `once a server answers again), requests in flight get up to ${DRAIN_MS / 1000} s to finish ` +
    "(then the stores close: a write fails after its chunk in flight, never half a chunk " +
    "written), the database is closed, and the exit code is 0. A second signal ends it at once.",
  options: SERVE_OPTIONS,
  database: "database",
  examples: [
    "streamkit serve --db level:./.streamkit-data --no-auth",
    "STREAMKIT_SECRET=... streamkit serve --listen 0.0.0.0:7070 --auth-secret-env STREAMKIT_SECRET",
    "streamkit serve --db azure --listen 0.0.0.0:443 --auth-jwks https://idp.example/jwks.json " +
    "--audience streamkit --cert cert.pem --key key.pem",
    "STREAMKIT_TOKEN=... streamkit read orders --db http://127.0.0.1:7070",
  ],
  async run({ values, signal }) {
    const settings = await serveSettings(values);
    try {
      // Loaded by serve only: the other commands need no HTTP server (Hono, jose).
      const { checkAuthOptions, createStoreHandler } = await import("@streamkit/remote/server");
      // A misconfigured token check (a short secret, a file that is no public key) is told now,
      // naming the flag, rather than to every client.
      await checkAuthOptions(settings.auth).catch((error) => {
        throw new UsageError(`${settings.authFlag}: ${(error as Error).message}`);
      });
      await using database = await sourceDatabase(values);
      const handler = createStoreHandler({
        factory: database.factory,
        auth: settings.auth,
        cors: settings.cors,
        onError: (error) =>
          process.stderr.write(
            redact(`streamkit serve: a request failed: ${describeError(error)}\n`, [
              settings.secret,
            ]),
          ),
      });
      signal.throwIfAborted();
      const { hostname, port } = settings.listen;
      const server = await startServer({
        hostname,
        port,
        tls: settings.tls,
        handler,
        endless: isFollow,
        closing: shuttingDown,
        // Requests still in flight: the stores close (reads end, a write after its chunk).
        overdue: () => database.close(),
      }).catch((error) => {
        throw new Error(`cannot listen on ${hostPort(hostname, port)}: ${describeError(error)}`);
      });
      const scheme = settings.tls === undefined ? "http" : "https";
      process.stderr.write(`listening on ${scheme}://${hostPort(hostname, server.port)}\n`);
      await aborted(signal);
      // The server first, then the database (at the end of this block): what is in flight
      // finishes against open stores.
      await server.close();
      return 0;
    } catch (error) {
      throw withoutSecret(error, settings.secret);
    }
  },
};
