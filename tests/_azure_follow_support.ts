// What tests/azure_follow_test.ts and its child process (_azure_follow_child.ts) share: the
// child's orders and output lines, a writer that produces to all its segments at once (several
// chunks of a space, and of several spaces, in flight: drivers/azure/PROTOCOL.md I3, I6), a follower
// that records what it delivers, and the check of what it delivered.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SeededRandom } from "../core/_test_random.ts";
import {
  compareKeys,
  type Entry,
  type ProduceRecord,
  type SegmentStatus,
  type Store,
} from "../core/mod.ts";
import { equalBytes, waitFor } from "../core/_test_util.ts";
import type { CommitStep } from "../drivers/azure/_test_support.ts";
import { AZURE_CONNECTION_ENV, killPayload, readLines } from "./_kill_protocol.ts";

/** A segment of a space that a writer produces to. */
export interface Stream {
  space: string;
  segment: string;
}

/**
 * What a child does: produce `perStream` records to each stream and exit (reading its streams'
 * heads over and over meanwhile when `readHeads`), or die right after the `afterCommits`-th
 * time a commit reached `step` (default: its commit point, before its fanout).
 */
export type ChildMode =
  | { kind: "produce"; perStream: number; readHeads: boolean }
  | { kind: "kill"; afterCommits: number; step?: CommitStep };

/** The child's orders, its one argument (JSON); the connection string is in its environment. */
export interface FollowChildOrders {
  tablePrefix: string;
  storeId: string;
  streams: Stream[];
  /** Seeds the child's produce sizes. */
  seed: number;
  /** Each produce has this many records, at random. */
  produceSizes: [number, number];
  mode: ChildMode;
  /** The child's clock runs this far off this host's (default 0). */
  clockOffsetMs?: number;
  /** The child keeps time by its own clock, not the table's (see switchOffTableTime). */
  ownClock?: boolean;
}

/** One line of a child's output. */
export type ChildLine =
  | { type: "ready" }
  | ({ type: "ack" } & SegmentStatus)
  | { type: "dying"; commits: number }
  | { type: "done"; headReads: number };

function records(stream: Stream, from: number, count: number): ProduceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    payload: killPayload(stream.space, stream.segment, from + i),
  }));
}

/**
 * Produces to all `streams` at once, until each got `perStream` more records (for ever when
 * `perStream` is undefined): each stream from its segment's head, in produces of a random size
 * (some cut into several chunks), so one chunk of each segment is in flight at a time. Each
 * stream draws its sizes from its own generator, seeded from `random` up front: the sizes depend
 * on the seed alone, not on which commit finished first. Calls `onAck` with every chunk's status.
 */
export async function produceConcurrently(
  store: Store,
  streams: readonly Stream[],
  random: SeededRandom,
  sizes: readonly [number, number],
  perStream: number | undefined,
  onAck: (status: SegmentStatus) => void = () => {},
): Promise<void> {
  const streamRandoms = streams.map(() => new SeededRandom(random.u32()));
  await Promise.all(streams.map(async (stream, i) => {
    const head = await store.getSegmentStatus(stream.space, stream.segment);
    let next = (head?.lastSequence ?? 0) + 1;
    for (let left = perStream ?? Infinity; left > 0;) {
      const count = Math.min(left, streamRandoms[i].int(sizes[0], sizes[1]));
      for await (const status of store.produce(stream, records(stream, next, count))) {
        onAck(status);
      }
      next += count;
      left -= count;
    }
  }));
}

/** A child's run: its lines, and how it ended. */
export interface ChildRun {
  lines: ChildLine[];
  code: number;
  signal: Deno.Signal | null;
  stderr: string;
}

const childScript = fileURLToPath(new URL("./_azure_follow_child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Runs one child process to its end (its own or its SIGKILL). */
export async function runChild(
  orders: FollowChildOrders,
  connectionString: string,
): Promise<ChildRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-net",
      "--allow-sys",
      "--allow-ffi",
      // Deno.kill of itself.
      "--allow-run",
      childScript,
      JSON.stringify(orders),
    ],
    cwd: repoRoot,
    env: { [AZURE_CONNECTION_ENV]: connectionString },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: ChildLine[] = [];
  const [rest, stderr, status] = await Promise.all([
    readLines(child.stdout, (text) => lines.push(JSON.parse(text))),
    new Response(child.stderr).text(),
    child.status,
  ]);
  assert.equal(rest, "", `the child left a partial line: ${JSON.stringify(rest)}`);
  return { lines, code: status.code, signal: status.signal, stderr };
}

/** A `follow` running in the background, recording what it delivers. */
export class Following {
  readonly entries: Entry[] = [];
  caughtUps = 0;
  #error: unknown;
  readonly #controller = new AbortController();
  readonly #loop: Promise<void>;

  constructor(store: Store, spaces: readonly string[], pollIntervalMs: number) {
    const signal = this.#controller.signal;
    const offsets = Object.fromEntries(spaces.map((space) => [space, undefined]));
    this.#loop = (async () => {
      try {
        for await (const event of store.follow({ spaces: offsets, pollIntervalMs, signal })) {
          if (event.type === "entry") this.entries.push(event.entry);
          else this.caughtUps++;
        }
      } catch (error) {
        if (!signal.aborted) this.#error = error;
      }
    })();
  }

  /** A follow of `spaces` on `store`, once it reported its first caught-up. */
  static async caughtUp(
    store: Store,
    spaces: readonly string[],
    pollIntervalMs: number,
  ): Promise<Following> {
    const follow = new Following(store, spaces, pollIntervalMs);
    await follow.until("caught-up", () => follow.caughtUps === 1);
    return follow;
  }

  /** Resolves once `done()` holds; fails after `timeoutMs`, or as soon as the follow fails. */
  async until(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
    const doneOrFailed = () => {
      if (this.#error !== undefined) throw this.#error;
      return done();
    };
    try {
      await waitFor(what, doneOrFailed, { timeoutMs, intervalMs: 10 });
    } catch (error) {
      if (error === this.#error) throw error;
      assert.fail(`${(error as Error).message} (${this.entries.length} entries delivered)`);
    }
  }

  /** Ends the follow; fails if it had failed. */
  async stop(): Promise<void> {
    this.#controller.abort();
    await this.#loop;
    if (this.#error !== undefined) throw this.#error;
  }
}

const utf8 = new TextEncoder();

/** The order of `consume` and `follow`: timestamp, space bytes, segment bytes, sequence. */
export function compareTimeline(a: Entry, b: Entry): number {
  return a.timestamp - b.timestamp ||
    compareKeys(utf8.encode(a.space), utf8.encode(b.space)) ||
    compareKeys(utf8.encode(a.segment), utf8.encode(b.segment)) ||
    a.sequence - b.sequence;
}

/** `space/segment#sequence`, for messages. */
export function label(entry: Pick<Entry, "space" | "segment" | "sequence">): string {
  return `${entry.space}/${entry.segment}#${entry.sequence}`;
}

/**
 * Checks that `delivered` is exactly `committed` (every entry once, the same entry: trx,
 * timestamp, payload) and strictly in timeline order, and that `committed` holds each segment's
 * sequences 1..last without a gap.
 */
export function assertExactlyOnceInOrder(delivered: Entry[], committed: Entry[]): void {
  const lastOf = new Map<string, number>();
  for (const entry of committed) {
    const key = `${entry.space}\u0000${entry.segment}`;
    const expected = (lastOf.get(key) ?? 0) + 1;
    assert.equal(entry.sequence, expected, `the store holds ${label(entry)} after a gap`);
    lastOf.set(key, entry.sequence);
  }
  for (let i = 1; i < delivered.length; i++) {
    if (compareTimeline(delivered[i - 1], delivered[i]) >= 0) {
      assert.fail(
        `delivered out of order or twice: ${label(delivered[i - 1])} then ${label(delivered[i])}`,
      );
    }
  }
  const count = Math.min(delivered.length, committed.length);
  for (let i = 0; i < count; i++) {
    const [got, want] = [delivered[i], committed[i]];
    if (label(got) !== label(want)) {
      assert.fail(`delivered #${i} is ${label(got)}, the store's timeline has ${label(want)}`);
    }
    assert.ok(
      got.trx.id === want.trx.id && got.timestamp === want.timestamp &&
        equalBytes(got.payload, killPayload(got.space, got.segment, got.sequence)),
      `${label(got)}: trx, timestamp or payload differ from what was committed`,
    );
  }
  assert.equal(delivered.length, committed.length, "entries delivered vs. committed");
}
