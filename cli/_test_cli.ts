// Test helpers: the `streamkit` command run as a subprocess (as a user runs it), stores seeded
// through the API with odd names and binary payloads, and a snapshot of a store as the API shows
// it, for comparing two stores field by field.

import assert from "node:assert/strict";
import type { Entry, ProduceRecord, Store, StoreFactory } from "@streamkit/core";
import { LevelStoreFactory } from "@streamkit/level";
import { join } from "node:path";
import { withTimeout } from "../core/_test_util.ts";

/** The command's entry, as `deno run` takes it. */
export const CLI_MAIN = new URL("./main.ts", import.meta.url).pathname;
// ignoreBOM: output may start with a name that starts with U+FEFF, and must keep it.
const text = new TextDecoder("utf-8", { ignoreBOM: true });

/** What a run of the command left. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of a run: its stdin, working directory and extra environment. */
export interface RunOptions {
  stdin?: string | Uint8Array;
  cwd?: string;
  env?: Record<string, string>;
}

/** The environment of a run: this one without STREAMKIT_AZURE_* settings, plus `extra`. */
export function runEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("STREAMKIT_AZURE_")),
  );
  return { ...env, NO_COLOR: "1", ...extra };
}

/** The `deno run` command line of `streamkit args`. */
function command(args: string[], options: RunOptions, stdin: "piped" | "null"): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI_MAIN, ...args],
    cwd: options.cwd,
    env: runEnvironment(options.env),
    clearEnv: true,
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `streamkit args` to its end. */
export async function streamkit(args: string[], options: RunOptions = {}): Promise<Run> {
  const child = command(args, options, options.stdin === undefined ? "null" : "piped").spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    );
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs `streamkit args` and asserts it succeeded; its output. */
export async function ok(args: string[], options: RunOptions = {}): Promise<Run> {
  const run = await streamkit(args, options);
  assert.equal(run.code, 0, `streamkit ${args.join(" ")} failed:\n${run.stderr}`);
  return run;
}

/** A running `streamkit` whose output is read as it comes, line by line. */
export class LiveRun {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Promise<string>;

  constructor(args: string[], options: RunOptions = {}) {
    this.#child = command(args, options, "null").spawn();
    this.#lines = this.#child.stdout.pipeThrough(
      new TextDecoderStream("utf-8", { ignoreBOM: true }),
    )
      .pipeThrough(lineSplitter())[Symbol.asyncIterator]();
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /** The next line of stdout (fails the test after `timeoutMs`). */
  async line(timeoutMs = 20_000): Promise<string> {
    const next = await withTimeout(this.#lines.next(), "a line of stdout", timeoutMs);
    if (next.done) throw new Error(`stdout ended; stderr: ${await this.#stderr}`);
    return next.value;
  }

  /** Sends `signal`, then awaits the exit: the code and what is left of stdout and stderr. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<Run> {
    this.#child.kill(signal);
    const rest: string[] = [];
    for (let next = await this.#lines.next(); !next.done; next = await this.#lines.next()) {
      rest.push(next.value);
    }
    const { code } = await this.#child.status;
    return { code, stdout: rest.join("\n"), stderr: await this.#stderr };
  }
}

function lineSplitter(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (pending !== "") controller.enqueue(pending);
    },
  });
}

/** Space → segment → number of records. Odd names: emoji, spaces, `/ \ # ? %`, U+FEFF, prefixes. */
export const LAYOUT: Record<string, Record<string, number>> = {
  orders: { "order 1": 25, "a/b\\c#d?e%f": 3, seg: 2, seg2: 4 },
  "🦊 space": { "\uFEFFbom": 7, "🎉": 1 },
  "%2F#?": { "x y": 12 },
};

/** The entries `LAYOUT` counts: the sum of its records. */
export const LAYOUT_ENTRIES = Object.values(LAYOUT)
  .flatMap((segments) => Object.values(segments)).reduce((sum, count) => sum + count, 0);

/** Binary payload `n` of a segment: every byte value shows up, and one payload is empty. */
export function payloadOf(segment: string, n: number): Uint8Array {
  if (n === 2) return new Uint8Array(0);
  const seed = [...segment].length * 31 + n;
  return Uint8Array.from({ length: 1 + (n * 37) % 300 }, (_, i) => (seed + i * 7) % 256);
}

/**
 * Writes `LAYOUT` into `store` through `produce`, in several chunks per segment (so several
 * trx), with metadata on some records.
 */
export async function seed(store: Store): Promise<void> {
  for (const [space, segments] of Object.entries(LAYOUT)) {
    for (const [segment, count] of Object.entries(segments)) {
      for (let first = 1; first <= count; first += 10) {
        const records: ProduceRecord[] = [];
        for (let sequence = first; sequence <= Math.min(count, first + 9); sequence++) {
          records.push({
            sequence,
            payload: payloadOf(segment, sequence),
            metadata: sequence % 3 === 0 ? { kind: "odd ✓", "with space": "a\tb" } : undefined,
          });
        }
        for await (const _ of store.produce({ space, segment }, records));
      }
    }
  }
}

/** An entry with its payload as hex, so that stores of any driver compare equal. */
function plain(entry: Entry) {
  return { ...entry, payload: Array.from(entry.payload, (b) => b.toString(16)).join(",") };
}

/** A store as its API shows it: spaces, segments, statuses, entries, and each space's order. */
export async function snapshot(store: Store) {
  const spaces: unknown[] = [];
  for await (const space of store.getSpaces()) {
    const segments: unknown[] = [];
    for await (const segment of store.getSegments(space)) {
      const entries: unknown[] = [];
      for await (const entry of store.consumeSegment({ space, segment })) {
        entries.push(plain(entry));
      }
      const status = await store.getSegmentStatus(space, segment);
      const last = await store.peek(space, segment);
      segments.push({ segment, status, last: last && plain(last), entries });
    }
    const timeline: string[] = [];
    for await (const entry of store.consumeSpace({ space })) {
      timeline.push(`${entry.segment}#${entry.sequence}`);
    }
    spaces.push({ space, segments, timeline });
  }
  return spaces;
}

/** Runs `use` on store `storeId` of `factory`, then closes the factory. */
export async function withFactoryStore<T>(
  factory: StoreFactory,
  storeId: string,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  try {
    return await use(await factory.newStore(storeId));
  } finally {
    await factory.close();
  }
}

/** Runs `use` on store `storeId` of the LevelDB directory `path`, then closes it. */
export function withLevelStore<T>(
  path: string,
  storeId: string,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  return withFactoryStore(new LevelStoreFactory({ path }), storeId, use);
}

/** The lines of `text`, without the empty one after the last line break. */
export function linesOf(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** Runs `use` with a temporary directory of its own (named after `what`), removed after it. */
export async function inTempDir(
  use: (dir: string) => Promise<void>,
  what = "cli",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: `streamkit-${what}-` });
  try {
    await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A LevelDB database at `<dir>/<name>` holding `storeId`, seeded with LAYOUT; its --db. */
export async function seededDb(dir: string, storeId: string, name = "db"): Promise<string> {
  const path = join(dir, name);
  await withLevelStore(path, storeId, seed);
  return `level:${path}`;
}
