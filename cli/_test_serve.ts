// Test helpers for `streamkit serve`: the server run as a subprocess on a free port of 127.0.0.1
// (its address read from its `listening on` line), clients run with a deadline and a token, and
// bearer tokens signed with `jose`.

import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { readLines, withTimeout } from "../core/_test_util.ts";
import { CLI_MAIN, type Run, runEnvironment } from "./_test_cli.ts";

const text = new TextDecoder("utf-8", { ignoreBOM: true });

/** What a client run takes: stdin, the token (STREAMKIT_TOKEN), more environment, a deadline. */
export interface ClientOptions {
  stdin?: string;
  token?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** The environment of a run: without STREAMKIT_TOKEN unless `token` is given. */
function environment(env: Record<string, string> = {}, token?: string): Record<string, string> {
  const all = runEnvironment({
    ...env,
    ...(token === undefined ? {} : { STREAMKIT_TOKEN: token }),
  });
  if (token === undefined) delete all.STREAMKIT_TOKEN;
  return all;
}

/** Starts `streamkit args`, stdin piped (or null), stdout and stderr piped. */
export function spawnClient(
  args: string[],
  options: Omit<ClientOptions, "stdin" | "timeoutMs"> & { stdin: "piped" | "null" },
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI_MAIN, ...args],
    env: environment(options.env, options.token),
    clearEnv: true,
    stdin: options.stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `streamkit args` to its end, killed (and failing the test) past its deadline. */
export async function client(args: string[], options: ClientOptions = {}): Promise<Run> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawnClient(args, {
    ...options,
    stdin: options.stdin === undefined ? "null" : "piped",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const { code, stdout, stderr, signal } = await child.output();
    assert.notEqual(
      signal,
      "SIGKILL",
      `streamkit ${args.join(" ")}: still running after ${timeoutMs} ms`,
    );
    return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `streamkit args` and asserts it succeeded. */
export async function clientOk(args: string[], options: ClientOptions = {}): Promise<Run> {
  const run = await client(args, options);
  assert.equal(run.code, 0, `streamkit ${args.join(" ")} failed:\n${run.stderr}`);
  return run;
}

/** What a server's run left: its exit code, all of its stderr, and how long it took to stop. */
export interface ServerExit {
  code: number;
  stderr: string;
  stdout: string;
  stopMs: number;
}

/** A `streamkit serve` process. */
export class ServeProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stderr: string[] = [];
  readonly #stderrDone: Promise<void>;
  readonly #stdout: Promise<string>;
  #url: string | undefined;
  #exit: ServerExit | undefined;

  private constructor(args: string[], env?: Record<string, string>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", CLI_MAIN, "serve", ...args],
      env: environment(env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdout = new Response(this.#child.stdout).text();
    this.#stderrDone = readLines(this.#child.stderr, (line) => this.#stderr.push(line))
      .then((rest) => {
        if (rest !== "") this.#stderr.push(rest);
      });
  }

  /**
   * Starts `streamkit serve args` (with `env` added) and waits for its `listening on` line; if
   * it exits first, fails with what it said.
   */
  static async start(args: string[], env?: Record<string, string>): Promise<ServeProcess> {
    const server = new ServeProcess(args, env);
    try {
      await withTimeout(
        (async () => {
          while (true) {
            const line = server.#stderr.find((line) => line.startsWith("listening on "));
            if (line !== undefined) {
              server.#url = line.slice("listening on ".length);
              return;
            }
            const exited = await Promise.race([
              server.#child.status.then(() => true),
              new Promise<false>((resolve) => setTimeout(() => resolve(false), 20)),
            ]);
            if (exited) {
              await server.#stderrDone;
              throw new Error(`streamkit serve exited before listening:\n${server.stderr}`);
            }
          }
        })(),
        "the server's listening line",
        30_000,
      );
    } catch (error) {
      await server.stop("SIGKILL");
      throw error;
    }
    return server;
  }

  /** The server's address, from its `listening on` line. */
  get url(): string {
    return this.#url!;
  }

  /** Its port. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** What it printed on stderr so far. */
  get stderr(): string {
    return this.#stderr.join("\n");
  }

  /** Sends `signal` (once: later calls return the first exit) and awaits the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<ServerExit> {
    if (this.#exit !== undefined) return this.#exit;
    const started = performance.now();
    try {
      this.#child.kill(signal);
    } catch {
      // exited already
    }
    const { code } = await this.#child.status;
    const stopMs = performance.now() - started;
    await this.#stderrDone;
    this.#exit = { code, stopMs, stderr: this.stderr, stdout: await this.#stdout };
    return this.#exit;
  }

  /** Kills it if it still runs: every test stops its servers, even when it fails. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/** A bearer token for `scope`, HS256-signed with `secret`, valid for ten minutes. */
export function hmacToken(secret: string, scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(secret));
}
