/**
 * Starts and stops an in-memory Azurite Table emulator (the `azurite` dev dependency) for tests,
 * benchmarks and the Node test run. `node:` built-ins only, so it runs under Deno and Node;
 * Azurite itself runs on Node (the running `node` under Node, the one on PATH under Deno) and is
 * resolved from the repository's `node_modules`. A launch that does not come up fails loudly.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { connect, createServer } from "node:net";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** A running Azurite Table emulator. */
export interface Azurite {
  /** Table endpoint, `http://127.0.0.1:<port>/devstoreaccount1`. */
  endpoint: string;
  /** `devstoreaccount1`. */
  accountName: string;
  /** The well-known Azurite dev account key. */
  accountKey: string;
  /** `DefaultEndpointsProtocol=http;AccountName=...;AccountKey=...;TableEndpoint=...;` */
  connectionString: string;
  /** The TCP port Azurite listens on (127.0.0.1). */
  port: number;
  /** Kills Azurite (SIGTERM, SIGKILL after a grace period) and awaits its exit. Idempotent. */
  stop(): Promise<void>;
}

/** The well-known Azurite development account name. */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
/** The well-known Azurite development account key (public; not a secret). */
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 5;
const OUTPUT_LIMIT = 64 * 1024;
const TABLE_ENTRY = join("node_modules", "azurite", "dist", "src", "table", "main.js");

// Runs Azurite's table entry with the given arguments, and exits when its stdin closes, so an
// Azurite whose parent died (a killed test run) does not linger.
const WATCHDOG = [
  'process.stdin.on("end", () => process.exit(0));',
  'process.stdin.on("error", () => process.exit(0));',
  "process.stdin.resume();",
  "require(process.argv[1]);",
].join(" ");

/**
 * Starts an in-memory Azurite Table emulator on 127.0.0.1 and a free port and resolves once it
 * has announced that it listens and accepts a connection (at most 30 s). Rejects with Azurite's
 * stdout and stderr if it exits or does not come up in time (a port taken in the meantime is
 * retried on another, up to 5 times). `signal` aborts the start (rejecting with its reason)
 * and, once started, stops Azurite when it fires.
 *
 * @example
 * ```ts ignore
 * const azurite = await startAzurite();
 * try {
 *   // new TableClient(azurite.endpoint, "t", new AzureNamedKeyCredential(...), ...)
 * } finally {
 *   await azurite.stop();
 * }
 * ```
 */
export async function startAzurite(options: { signal?: AbortSignal } = {}): Promise<Azurite> {
  const { signal } = options;
  signal?.throwIfAborted();
  const entry = findTableEntry();
  const node = nodeExecutable();
  const failures: string[] = [];
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const launch = new Launch(node, entry, port);
    try {
      await launch.ready(signal);
    } catch (error) {
      await launch.stop();
      if (signal?.aborted) throw signal.reason;
      if (launch.addressInUse() && attempt < PORT_ATTEMPTS) {
        failures.push(`port ${port} was taken`);
        continue;
      }
      throw error;
    }
    const endpoint = `http://${HOST}:${port}/${AZURITE_ACCOUNT_NAME}`;
    const stop = () => {
      signal?.removeEventListener("abort", stop);
      return launch.stop();
    };
    signal?.addEventListener("abort", stop, { once: true });
    return {
      endpoint,
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
        `AccountKey=${AZURITE_ACCOUNT_KEY};TableEndpoint=${endpoint};`,
      port,
      stop,
    };
  }
  throw new Error(`Azurite did not start: ${failures.join("; ")}`);
}

/** Azurite's table entry in the `node_modules` of this file's repository (or an ancestor). */
function findTableEntry(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start;; dir = dirname(dir)) {
    const candidate = join(dir, TABLE_ENTRY);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `Azurite not found: no ${TABLE_ENTRY} in ${start} or its parents; run \`npm ci\` ` +
      "in the repository root (azurite is a dev dependency)",
  );
}

/**
 * The Node executable: the running one under Node, else `node` found on PATH. Looked up here
 * rather than spawned as a bare `node`, because Deno runs itself for a `node` that is not on
 * PATH (which would hang instead of failing).
 */
function nodeExecutable(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.deno === undefined && versions.bun === undefined) return process.execPath;
  // Deno also puts a `node` of its own on PATH when there is none (a link to itself): skip it.
  const self = realpathSync(process.execPath);
  const names = process.platform === "win32" ? ["node.exe"] : ["node"];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of names) {
      const candidate = join(dir || ".", name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile() && realpathSync(candidate) !== self) return candidate;
      } catch {
        // not here
      }
    }
  }
  throw new Error(
    "Azurite runs on Node.js, but no `node` executable was found on PATH; install Node.js " +
      "(>= 20, as the repository's package.json requires) or put it on PATH",
  );
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close((error) => {
        if (error) reject(error);
        else if (port === 0) reject(new Error(`could not get a free port on ${HOST}`));
        else resolve(port);
      });
    });
  });
}

/** Whether something accepts TCP connections on HOST:port right now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One Azurite process on one port. */
class Launch {
  readonly #port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #command: string;
  #exit: string | undefined;
  #spawnError: Error | undefined;
  #stdout = "";
  #stderr = "";
  #announced = false;
  #stopping: Promise<void> | undefined;

  constructor(node: string, entry: string, port: number) {
    this.#port = port;
    const args = [
      entry,
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--tableHost",
      HOST,
      "--tablePort",
      String(port),
      "--skipApiVersionCheck",
    ];
    this.#command = `${node} ${args.join(" ")}`;
    this.#child = spawn(node, ["-e", WATCHDOG, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdout?.setEncoding("utf8");
    this.#child.stderr?.setEncoding("utf8");
    // Keep only the tail of each stream (the access log grows with every request).
    this.#child.stdout?.on("data", (text: string) => {
      this.#stdout = (this.#stdout + text).slice(-OUTPUT_LIMIT);
      this.#announced ||= this.#stdout.includes(`successfully started on ${HOST}:${port}`);
    });
    this.#child.stderr?.on("data", (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-OUTPUT_LIMIT);
    });
    this.#child.stdin?.on("error", () => {});
    this.#exited = new Promise((resolve) => {
      this.#child.once("error", (error) => {
        this.#spawnError ??= error;
        // A process that never spawned emits no "close".
        if (this.#child.pid === undefined) {
          this.#exit ??= `failed to spawn: ${error.message}`;
          resolve();
        }
      });
      this.#child.once("close", (code, signal) => {
        this.#exit ??= signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
        resolve();
      });
    });
  }

  /** Resolves when Azurite accepts connections; rejects if it exits or times out. */
  async ready(signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (true) {
      signal?.throwIfAborted();
      if (this.#exit !== undefined) throw this.#failure(this.#exit);
      // Azurite announces its listening socket; the connect confirms it (and that nothing
      // else answered on a port taken since we picked it: then Azurite exits EADDRINUSE).
      if (this.#announced && await accepts(this.#port)) {
        if (this.#exit !== undefined) throw this.#failure(this.#exit);
        return;
      }
      if (Date.now() >= deadline) {
        throw this.#failure(`did not accept connections within ${READY_TIMEOUT_MS / 1000} s`);
      }
      await delay(POLL_INTERVAL_MS);
    }
  }

  addressInUse(): boolean {
    return /EADDRINUSE/.test(this.#stderr + this.#stdout);
  }

  /** SIGTERM, SIGKILL after a grace period, then awaits the exit. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#child.stdin?.destroy();
      if (this.#exit === undefined) {
        this.#child.kill("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const graceOver = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
        });
        const killed = await Promise.race([this.#exited.then(() => false), graceOver]);
        clearTimeout(timer);
        if (killed) this.#child.kill("SIGKILL");
      }
      await this.#exited;
    })();
    return this.#stopping;
  }

  #failure(what: string): Error {
    const hint = this.#spawnError ? `\nspawn error: ${this.#spawnError.message}` : "";
    return new Error(
      `Azurite ${what} (port ${this.#port})${hint}\ncommand: ${this.#command}\n` +
        `--- stdout ---\n${this.#stdout.trimEnd() || "(empty)"}\n` +
        `--- stderr ---\n${this.#stderr.trimEnd() || "(empty)"}`,
    );
  }
}
