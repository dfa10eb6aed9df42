// Test helpers of copy_kill_test.ts: a `streamkit copy` subprocess SIGKILLed after a delay or
// on a progress line (drawn on a pseudo-terminal where `script` is at hand), and whole stores
// read through the API and compared entry by entry (tests/KILL_TESTS.md).

import assert from "node:assert/strict";
import {
  type Entry,
  entryDifferences,
  type SegmentStatus,
  spaceOffset,
  type Store,
  toHex,
} from "@streamkit/core";
import { collect } from "../core/_test_util.ts";
import { CLI_MAIN, runEnvironment } from "./_test_cli.ts";

/** The environment of a copy: a run's, with a plain shell for `script`. */
function environment(extra: Record<string, string>): Record<string, string> {
  return runEnvironment({ SHELL: "/bin/sh", ...extra });
}

/** Whether copies can run on a pseudo-terminal here: Linux with util-linux `script`. */
export async function pseudoTerminalAvailable(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  try {
    const { code, stdout } = await new Deno.Command("script", {
      args: ["-qfec", "echo pty-ok", "/dev/null"],
      env: environment({}),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return code === 0 && new TextDecoder().decode(stdout).includes("pty-ok");
  } catch {
    return false;
  }
}

function shellQuoted(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A progress line the copy drew: when (ms after the spawn) and how many entries it counted. */
export interface ProgressReport {
  atMs: number;
  entries: number;
}

/** How a copy process ended. */
export interface CopyOutcome {
  /** Exit code; 137 when SIGKILLed. */
  code: number;
  /** Ended by our SIGKILL. */
  killed: boolean;
  /** When it ended, in ms after the spawn. */
  elapsedMs: number;
  /** When the SIGKILL was sent, in ms after the spawn. */
  killedAtMs: number | undefined;
  /** The progress lines drawn (none without a terminal). */
  progress: ProgressReport[];
  /** Everything it printed (stderr and stdout; on a terminal, merged). */
  output: string;
}

// A progress line, `\r` and `ESC [ K` (clear the line) before it: `<entries> entries, <bytes>,
// <rate> entries/s, <elapsed>` (see _progress.ts).
const CLEAR_LINE = "\x1b[K";
const PROGRESS = /^([\d,]+) entr(?:y|ies), .*, [\d,]+ entries\/s, (?:\d+\.\d s|\d+ min \d+ s)$/;

/** A running `streamkit copy ...` (any `streamkit` command line, in fact). */
export class CopyProcess {
  readonly #started = performance.now();
  readonly #pty: boolean;
  #pid: number | undefined;
  readonly #pidKnown: Promise<void>;
  #setPidKnown!: () => void;
  #output = "";
  #pending = "";
  readonly progress: ProgressReport[] = [];
  readonly #waiters = new Set<() => void>();
  #exited = false;
  #killedAtMs: number | undefined;
  readonly #outcome: Promise<CopyOutcome>;

  constructor(args: string[], options: { env: Record<string, string>; pty: boolean }) {
    this.#pty = options.pty;
    this.#pidKnown = new Promise((resolve) => this.#setPidKnown = resolve);
    const deno = [Deno.execPath(), "run", "--allow-all", CLI_MAIN, ...args];
    // On the pseudo-terminal, the shell prints its pid and then becomes `deno` (exec): that pid
    // is the process to kill.
    const child = new Deno.Command(options.pty ? "script" : deno[0], {
      args: options.pty
        ? ["-qfec", `echo "PID:$$"; exec ${deno.map(shellQuoted).join(" ")}`, "/dev/null"]
        : deno.slice(1),
      env: environment(options.env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (!options.pty) {
      this.#pid = child.pid;
      this.#setPidKnown();
    }
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (
        const text of stream.pipeThrough(new TextDecoderStream("utf-8", { ignoreBOM: true }))
      ) {
        this.#take(text);
      }
    };
    this.#outcome = (async () => {
      const [status] = await Promise.all([
        child.status,
        read(child.stdout),
        read(child.stderr),
      ]);
      this.#exited = true;
      this.#setPidKnown();
      this.#wake();
      return {
        code: status.code,
        killed: this.#killedAtMs !== undefined &&
          (status.code === 137 || status.signal === "SIGKILL"),
        elapsedMs: performance.now() - this.#started,
        killedAtMs: this.#killedAtMs,
        progress: this.progress,
        output: this.#output.replaceAll(`\r${CLEAR_LINE}`, "\n").replaceAll("\r", ""),
      };
    })();
  }

  /** Milliseconds since the spawn. */
  get elapsedMs(): number {
    return performance.now() - this.#started;
  }

  /** The last progress line's count of entries, if one was drawn. */
  get lastProgress(): number | undefined {
    return this.progress.at(-1)?.entries;
  }

  #take(text: string): void {
    this.#output += text;
    if (!this.#pty) return;
    this.#pending += text;
    const pieces = this.#pending.split(/\r\n|\r|\n/);
    this.#pending = pieces.pop()!;
    // A progress line ends with the next redraw; it is whole as soon as it reads whole.
    if (PROGRESS.test(this.#pending.replace(CLEAR_LINE, ""))) {
      pieces.push(this.#pending);
      this.#pending = "";
    }
    for (const text of pieces) {
      const piece = text.replace(CLEAR_LINE, "");
      const pid = /^PID:(\d+)$/.exec(piece);
      if (pid !== null && this.#pid === undefined) {
        this.#pid = Number(pid[1]);
        this.#setPidKnown();
        continue;
      }
      const progress = PROGRESS.exec(piece);
      if (progress !== null) {
        this.progress.push({
          atMs: this.elapsedMs,
          entries: Number(progress[1].replaceAll(",", "")),
        });
        this.#wake();
      }
    }
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** SIGKILLs the `deno` process running `streamkit`, unless it has exited already. */
  async kill(): Promise<void> {
    await this.#pidKnown;
    if (this.#exited || this.#pid === undefined) return;
    this.#killedAtMs = this.elapsedMs;
    try {
      Deno.kill(this.#pid, "SIGKILL");
    } catch {
      // it ended just now
    }
  }

  /**
   * Kills it `atMs` after the spawn, or (with `progress`) at the first progress line that counts
   * at least `progress` entries, if that comes first. Resolves how the process ended, and
   * whether the kill came on a progress line.
   */
  async killAt(
    plan: { atMs: number; progress?: number },
  ): Promise<CopyOutcome & { onProgress: boolean }> {
    let onProgress = false;
    await new Promise<void>((resolve) => {
      const check = () => {
        if (this.#exited) return done();
        if (plan.progress !== undefined && (this.lastProgress ?? -1) >= plan.progress) {
          onProgress = true;
          return done();
        }
      };
      const timer = setTimeout(done, Math.max(0, plan.atMs - this.elapsedMs));
      this.#waiters.add(check);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      check();
    }).finally(() => this.#waiters.clear());
    await this.kill();
    return { ...await this.#outcome, onProgress };
  }

  /** Awaits the end, without killing. */
  wait(): Promise<CopyOutcome> {
    return this.#outcome;
  }
}

/** What `copy` reported at its end: the entries it went through and those present already. */
export function copySummary(output: string): { entries: number; present: number } | undefined {
  const match =
    /^copy: ([\d,]+) entr(?:y|ies), .*; ([\d,]+) of the entries were there already and equal$/m
      .exec(output);
  if (match === null) return undefined;
  const count = (text: string) => Number(text.replaceAll(",", ""));
  return { entries: count(match[1]), present: count(match[2]) };
}

/** A segment as the API shows it. */
export interface SegmentDump {
  segment: string;
  status: SegmentStatus | undefined;
  last: Entry | undefined;
  entries: Entry[];
}

/** A space as the API shows it: its segments, and its entries in consumeSpace order. */
export interface SpaceDump {
  space: string;
  segments: SegmentDump[];
  timeline: Entry[];
}

/** The whole store through the API: inventory, statuses, peeks, both indexes. */
export async function dumpStore(store: Store): Promise<SpaceDump[]> {
  const spaces: SpaceDump[] = [];
  for (const space of await collect(store.getSpaces())) {
    const segments: SegmentDump[] = [];
    for (const segment of await collect(store.getSegments(space))) {
      segments.push({
        segment,
        status: await store.getSegmentStatus(space, segment),
        last: await store.peek(space, segment),
        entries: await collect(store.consumeSegment({ space, segment })),
      });
    }
    spaces.push({ space, segments, timeline: await collect(store.consumeSpace({ space })) });
  }
  return spaces;
}

/** The number of entries of a dump. */
export function entriesOf(dump: SpaceDump[]): number {
  return dump.reduce(
    (sum, space) => sum + space.segments.reduce((n, segment) => n + segment.entries.length, 0),
    0,
  );
}

/**
 * How `actual` differs from `expected`: every field, payload bytes and metadata in key order
 * (`actual`'s value first), and the space offset.
 */
function entryDifference(actual: Entry, expected: Entry): string | undefined {
  const differences = entryDifferences(actual, expected);
  if (toHex(spaceOffset(actual)) !== toHex(spaceOffset(expected))) {
    differences.push("space offset differs");
  }
  return differences.length === 0 ? undefined : `${differences.join("; ")} (actual vs expected)`;
}

function assertEntries(actual: Entry[], expected: Entry[], where: string): void {
  assert.equal(actual.length, expected.length, `${where}: number of entries`);
  for (let i = 0; i < expected.length; i++) {
    const difference = entryDifference(actual[i], expected[i]);
    if (difference !== undefined) {
      assert.fail(`${where}, entry ${i + 1} (sequence ${expected[i].sequence}): ${difference}`);
    }
  }
}

/**
 * Asserts that `actual` holds exactly what `expected` holds: the same spaces and segments in the
 * same order, equal statuses and peeks, every entry equal in every field, and each space's
 * consumeSpace order and offsets equal.
 */
export function assertSameStore(actual: SpaceDump[], expected: SpaceDump[], label: string): void {
  assert.deepEqual(actual.map((s) => s.space), expected.map((s) => s.space), `${label}: spaces`);
  for (let s = 0; s < expected.length; s++) {
    const [ours, theirs] = [actual[s], expected[s]];
    const where = `${label}: space ${JSON.stringify(theirs.space)}`;
    assert.deepEqual(
      ours.segments.map((g) => g.segment),
      theirs.segments.map((g) => g.segment),
      `${where}: segments`,
    );
    for (let g = 0; g < theirs.segments.length; g++) {
      const [segment, expectedSegment] = [ours.segments[g], theirs.segments[g]];
      const at = `${where} segment ${JSON.stringify(expectedSegment.segment)}`;
      assert.deepEqual(segment.status, expectedSegment.status, `${at}: status`);
      assert.ok(segment.last !== undefined && expectedSegment.last !== undefined, `${at}: peek`);
      assertEntries([segment.last], [expectedSegment.last], `${at}: peek`);
      assertEntries(segment.entries, expectedSegment.entries, at);
    }
    assertEntries(ours.timeline, theirs.timeline, `${where}: consumeSpace`);
  }
}
