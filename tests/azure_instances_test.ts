// Single winner across instances (drivers/azure/PROTOCOL.md I2, I9): independent factories on
// one table race for the same sequences; exactly one wins each round, the others get
// SequenceMismatch or a transient Conflict, nothing acknowledged is replaced, nothing is left
// pending, and a lost transaction never blocks startup. The last test races two processes: this
// file run with `deno run ... race-child` is the child.

import assert from "node:assert/strict";
import type { TableClient } from "@azure/data-tables";
import {
  entryDifferences,
  type ProduceRecord,
  type SegmentStatus,
  SequenceMismatchError,
  type Store,
  StreamkitError,
} from "../core/mod.ts";
import { SeededRandom } from "../core/_test_random.ts";
import { collect, withTimeout } from "../core/_test_util.ts";
import { AzureStoreFactory, type AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import {
  type Azurite,
  type CommitStep,
  setCommitStepHook,
  startAzurite,
} from "../drivers/azure/_test_support.ts";
import { directTable, markerKeys, unfinishedPendingHeads } from "./_azure_inspect.ts";

const SPACE = "race";
const SEGMENT = "contested";
const MAX_CHUNK = 90;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// Helpers

/** Uniform floats in [0, 1) from `seed`, so a failing run can be replayed. */
function random(seed: number): () => number {
  const generator = new SeededRandom(seed);
  return () => generator.float();
}

/** The payload of a record: says who wrote it, in which round, at which sequence. */
function payloadText(tag: string, round: number, sequence: number): string {
  return `${tag}|round ${round}|seq ${sequence}`;
}

function records(tag: string, round: number, first: number, count: number): ProduceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: first + i,
    payload: encoder.encode(payloadText(tag, round, first + i)),
    metadata: { writer: tag },
  }));
}

function produceAll(
  store: Store,
  segment: string,
  batch: ProduceRecord[],
): Promise<SegmentStatus[]> {
  return collect(store.produce({ space: SPACE, segment }, batch));
}

function describe(error: unknown): string {
  return error instanceof StreamkitError
    ? `${error.kind}: ${error.message}`
    : error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}

/** A loser's error: SequenceMismatch, or a transient Conflict. */
function assertLoserError(error: unknown, context: string): void {
  assert.ok(
    error instanceof StreamkitError &&
      (error.kind === "SequenceMismatch" || (error.kind === "Conflict" && error.transient)),
    `${context}: a loser must get SequenceMismatch or a transient Conflict, got ${describe(error)}`,
  );
}

/** Releases everyone once `parties` have arrived, after running `whenFull`. */
class Barrier {
  #parties: number;
  #arrived = 0;
  #whenFull: () => Promise<void>;
  #release!: (done: Promise<void>) => void;
  #released: Promise<void>;

  constructor(parties: number, whenFull: () => Promise<void> = () => Promise.resolve()) {
    this.#parties = parties;
    this.#whenFull = whenFull;
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  arrive(): Promise<void> {
    if (++this.#arrived === this.#parties) this.#release(this.#whenFull());
    return withTimeout(this.#released, "the barrier", 10_000);
  }

  get arrived(): number {
    return this.#arrived;
  }
}

interface Setup {
  azurite: Azurite;
  tablePrefix: string;
  storeId: string;
  table: TableClient;
  options(extra?: Partial<AzureStoreFactoryOptions>): AzureStoreFactoryOptions;
}

/** Starts a fresh Azurite, runs `fn` with a shared table prefix and store id, stops Azurite. */
async function withFreshAzurite(fn: (setup: Setup) => Promise<void>): Promise<void> {
  const azurite = await startAzurite();
  try {
    const tablePrefix = `i${crypto.randomUUID().slice(0, 8)}`;
    const storeId = crypto.randomUUID();
    const table = directTable(azurite.connectionString, tablePrefix, storeId);
    await fn({
      azurite,
      tablePrefix,
      storeId,
      table,
      options: (extra = {}) => ({
        connectionString: azurite.connectionString,
        allowInsecureHttp: true,
        tablePrefix,
        sweepIntervalMs: 0,
        ...extra,
      }),
    });
  } finally {
    await azurite.stop();
  }
}

/** What the store must hold: for every sequence, the payload text of the acknowledged writer. */
interface Acknowledged {
  /** sequence → payload text; index 0 unused. */
  payloads: string[];
  /** One per acknowledged chunk: its range, trx number, the writer's node id and the status. */
  chunks: { first: number; last: number; trxNumber: number; node: string }[];
}

/** Records sequences `first`..`last` as acknowledged to `writer` in `round`, as one chunk. */
function acknowledge(
  acked: Acknowledged,
  writer: { tag: string; nodeId: string },
  round: number,
  first: number,
  last: number,
): void {
  for (let s = first; s <= last; s++) acked.payloads[s] = payloadText(writer.tag, round, s);
  acked.chunks.push({ first, last, trxNumber: acked.chunks.length + 1, node: writer.nodeId });
}

/**
 * Checks everything a fresh reader sees against what was acknowledged: every entry is exactly
 * the acknowledged one (payload tags match the winners, nothing replaced, nothing extra), both
 * indexes agree, chunks share one trx, and no pending marker or head is left.
 */
async function assertHoldsAcknowledged(
  setup: Setup,
  segment: string,
  acked: Acknowledged,
): Promise<void> {
  const total = acked.payloads.length - 1;
  const started = performance.now();
  await using factory = new AzureStoreFactory(setup.options());
  const store = await withTimeout(factory.newStore(setup.storeId), "a fresh newStore", 5_000);
  const openMs = performance.now() - started;
  assert.ok(openMs < 5_000, `newStore took ${openMs} ms`);

  const bySegment = await collect(store.consumeSegment({ space: SPACE, segment }));
  assert.deepEqual(bySegment.map((e) => e.sequence), range(1, total));
  for (const entry of bySegment) {
    assert.equal(
      decoder.decode(entry.payload),
      acked.payloads[entry.sequence],
      `sequence ${entry.sequence} is not what was acknowledged`,
    );
    assert.equal(entry.metadata.writer, acked.payloads[entry.sequence].split("|")[0]);
  }
  for (const chunk of acked.chunks) {
    const entries = bySegment.slice(chunk.first - 1, chunk.last);
    assert.equal(entries.length, chunk.last - chunk.first + 1);
    assert.equal(new Set(entries.map((e) => e.trx.id)).size, 1, "a chunk shares one trx");
    assert.equal(new Set(entries.map((e) => e.timestamp)).size, 1, "and one timestamp");
    assert.equal(entries[0].trx.number, chunk.trxNumber);
    assert.equal(entries[0].trx.node, chunk.node);
  }
  // trx numbers follow the chunks one by one.
  assert.deepEqual(
    acked.chunks.map((c) => c.trxNumber),
    range(1, acked.chunks.length),
  );

  // The space index holds the same entries (one segment: same order, same bytes).
  const bySpace = (await collect(store.consumeSpace({ space: SPACE })))
    .filter((e) => e.segment === segment);
  assert.equal(bySpace.length, bySegment.length, "both indexes hold the same number of entries");
  for (let i = 0; i < bySpace.length; i++) {
    assert.deepEqual(entryDifferences(bySpace[i], bySegment[i]), [], `entry ${i} of the space`);
  }

  const status = await store.getSegmentStatus(SPACE, segment);
  assert.equal(status?.lastSequence, total);
  assert.equal(status?.firstSequence, 1);
  assert.equal((await store.peek(SPACE, segment))?.sequence, total);
  assert.ok((await collect(store.getSegments(SPACE))).includes(segment));

  assert.deepEqual(await markerKeys(setup.table), [], "markers are left");
  assert.deepEqual(
    await unfinishedPendingHeads(setup.table),
    [],
    "a head still marks a pending fanout",
  );
}

function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}

// ---------------------------------------------------------------------------------------------
// In-process instances

interface Instance {
  tag: string;
  nodeId: string;
  factory: AzureStoreFactory;
  store: Store;
}

async function openInstances(
  setup: Setup,
  count: number,
  hook?: (tag: string, step: CommitStep) => void | Promise<void>,
): Promise<Instance[]> {
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const tag = `host${i}`;
    const nodeId = crypto.randomUUID();
    const factory = new AzureStoreFactory(setup.options({ nodeId }));
    if (hook) setCommitStepHook(factory, (step) => hook(tag, step));
    instances.push({ tag, nodeId, factory, store: await factory.newStore(setup.storeId) });
  }
  return instances;
}

/** Runs `body` on a fresh Azurite with `count` instances open (see `openInstances`). */
async function withInstances(
  count: number,
  body: (setup: Setup, instances: Instance[]) => Promise<void>,
  hook?: (tag: string, step: CommitStep) => void | Promise<void>,
): Promise<void> {
  await withFreshAzurite(async (setup) => {
    const instances = await openInstances(setup, count, hook);
    try {
      await body(setup, instances);
    } finally {
      await Promise.all(instances.map((instance) => instance.factory.close()));
    }
  });
}

interface RoundResult {
  winners: number;
  conflicts: number;
  mismatches: number;
}

/**
 * One round: every instance tries to append `count_i` (1..90) records right after `last`,
 * at the same time. Checks exactly one winner and the losers' errors; records the winner.
 */
async function raceRound(
  instances: Instance[],
  round: number,
  acked: Acknowledged,
  next: () => number,
): Promise<RoundResult> {
  const first = acked.payloads.length;
  const counts = instances.map(() => 1 + Math.floor(next() * MAX_CHUNK));
  const outcomes = await withTimeout(
    Promise.allSettled(
      instances.map((instance, i) =>
        produceAll(instance.store, SEGMENT, records(instance.tag, round, first, counts[i]))
      ),
    ),
    `round ${round}`,
    30_000,
  );
  const winners = outcomes.flatMap((outcome, i) => outcome.status === "fulfilled" ? [i] : []);
  assert.equal(
    winners.length,
    1,
    `round ${round}: exactly one winner expected, got ${winners.length}: ` +
      outcomes.map((o, i) =>
        `${instances[i].tag} ${o.status === "fulfilled" ? "won" : describe(o.reason)}`
      ).join("; "),
  );
  const winner = winners[0];
  const statuses = (outcomes[winner] as PromiseFulfilledResult<SegmentStatus[]>).value;
  const last = first + counts[winner] - 1;
  assert.equal(statuses.length, 1, "≤ 90 small records make one chunk");
  assert.equal(statuses[0].lastSequence, last);
  assert.equal(statuses[0].firstSequence, 1);
  const result: RoundResult = { winners: 1, conflicts: 0, mismatches: 0 };
  outcomes.forEach((outcome, i) => {
    if (i === winner) return;
    assert.equal(outcome.status, "rejected");
    const error = (outcome as PromiseRejectedResult).reason;
    assertLoserError(error, `round ${round}, ${instances[i].tag}`);
    if (error instanceof SequenceMismatchError) {
      result.mismatches++;
      assert.equal(error.actual, first, "the loser's first record");
      assert.equal(error.expected, last + 1, "the head the winner left");
    } else {
      result.conflicts++;
    }
  });
  acknowledge(acked, instances[winner], round, first, last);
  return result;
}

Deno.test("azure instances: 4 instances racing at the commit point, 20 rounds, one winner each", async () => {
  // Every instance waits after writing its pending marker until all four have: they all read
  // the same head and all submit their commit transaction, so each round is decided by the
  // If-Match on the head and the inserts of the data rows, not by timing.
  let barrier: Barrier | undefined;
  const waitAfterMarker = async (_tag: string, step: CommitStep) => {
    if (step === "marker" && barrier) await barrier.arrive();
  };
  await withInstances(4, async (setup, instances) => {
    const acked: Acknowledged = { payloads: [""], chunks: [] };
    const next = random(20240601);
    let mismatches = 0;
    for (let round = 1; round <= 20; round++) {
      barrier = new Barrier(instances.length, async () => {
        // Nobody has committed yet: all four pending markers are there.
        const markers = await markerKeys(setup.table);
        assert.equal(markers.length, instances.length);
      });
      const result = await raceRound(instances, round, acked, next);
      assert.equal(barrier.arrived, instances.length, "every instance reached the commit point");
      mismatches += result.mismatches;
    }
    barrier = undefined;
    // Every loser learnt the winner's head.
    assert.equal(mismatches, 20 * (instances.length - 1));
    await assertHoldsAcknowledged(setup, SEGMENT, acked);
  }, waitAfterMarker);
});

Deno.test("azure instances: 3 instances racing freely, 20 rounds, plus a stale writer", async () => {
  await withInstances(3, async (setup, instances) => {
    const acked: Acknowledged = { payloads: [""], chunks: [] };
    const next = random(7);
    for (let round = 1; round <= 20; round++) await raceRound(instances, round, acked, next);

    // Each instance now keeps its own idea of the head (as a client cache would) and writes
    // after it; the others have written meanwhile, so it is stale. It fails at most once,
    // learns the head from the error, and then continues correctly.
    const known = instances.map(() => 0);
    let staleFailures = 0;
    for (let step = 0; step < 12; step++) {
      const i = step % instances.length;
      const instance = instances[i];
      const count = 1 + Math.floor(next() * 5);
      const round = 100 + step;
      let attempts = 0;
      while (true) {
        attempts++;
        const first = known[i] + 1;
        try {
          const statuses = await produceAll(
            instance.store,
            SEGMENT,
            records(instance.tag, round, first, count),
          );
          const last = first + count - 1;
          assert.equal(statuses.at(-1)?.lastSequence, last);
          assert.equal(first, acked.payloads.length, "a write lands right after the head");
          acknowledge(acked, instance, round, first, last);
          known[i] = last;
          break;
        } catch (error) {
          assert.ok(attempts === 1, `a stale instance failed twice: ${describe(error)}`);
          assertLoserError(error, `stale write of ${instance.tag}`);
          staleFailures++;
          // The error says where the segment is: continue from there.
          assert.ok(error instanceof SequenceMismatchError);
          assert.equal(error.actual, first);
          known[i] = error.expected - 1;
        }
      }
    }
    // Every instance was stale each time: the other two had written since.
    assert.equal(staleFailures, 12);
    await assertHoldsAcknowledged(setup, SEGMENT, acked);
  });
});

Deno.test("azure instances: many segments raced at once by 4 instances", async () => {
  await withInstances(4, async (setup, instances) => {
    const segments = Array.from({ length: 6 }, (_, i) => `seg-${i}`);
    const acked = new Map(segments.map((s) => [s, { payloads: [""], chunks: [] }]));
    const next = random(99);
    for (let round = 1; round <= 5; round++) {
      await Promise.all(segments.map(async (segment) => {
        const ack: Acknowledged = acked.get(segment)!;
        const first = ack.payloads.length;
        const counts = instances.map(() => 1 + Math.floor(next() * 30));
        const outcomes = await Promise.allSettled(
          instances.map((instance, i) =>
            produceAll(instance.store, segment, records(instance.tag, round, first, counts[i]))
          ),
        );
        const winners = outcomes.flatMap((o, i) => o.status === "fulfilled" ? [i] : []);
        assert.equal(winners.length, 1, `${segment} round ${round}: ${winners.length} winners`);
        outcomes.forEach((o, i) => {
          if (o.status === "rejected") assertLoserError(o.reason, `${segment} ${i}`);
        });
        const w = winners[0];
        const last = first + counts[w] - 1;
        acknowledge(ack, instances[w], round, first, last);
      }));
    }
    for (const segment of segments) {
      await assertHoldsAcknowledged(setup, segment, acked.get(segment)!);
    }
    // The space index interleaves the segments: every entry once, in space-offset order.
    await using factory = new AzureStoreFactory(setup.options());
    const store = await factory.newStore(setup.storeId);
    const bySpace = await collect(store.consumeSpace({ space: SPACE }));
    const expected = segments.reduce((n, s) => n + acked.get(s)!.payloads.length - 1, 0);
    assert.equal(bySpace.length, expected);
    assert.deepEqual(await collect(store.getSegments(SPACE)), segments);
  });
});

Deno.test("azure instances: a lost or crashed transaction never blocks startup", async () => {
  await withFreshAzurite(async (setup) => {
    const markers = async () => (await markerKeys(setup.table)).length;
    /** A fresh instance (as a restarted host): opens promptly and can read and write. */
    const restart = async (extra: Partial<AzureStoreFactoryOptions> = {}) => {
      const factory = new AzureStoreFactory(setup.options(extra));
      const started = performance.now();
      const store = await withTimeout(factory.newStore(setup.storeId), "newStore", 5_000);
      const ms = performance.now() - started;
      assert.ok(ms < 5_000, `newStore took ${ms} ms`);
      return { factory, store };
    };
    /** An instance that "crashes" right after writing its pending marker. */
    const crash = new Error("simulated crash after the marker");
    const crashing = async () => {
      const factory = new AzureStoreFactory(setup.options());
      setCommitStepHook(factory, (step) => {
        if (step === "marker") throw crash;
      });
      return { factory, store: await factory.newStore(setup.storeId) };
    };
    const texts = async (store: Store) =>
      (await collect(store.consumeSpace({ space: SPACE }))).map((e) =>
        decoder.decode(e.payload).split("|")[0]
      );

    // 1. A loser crashes after its marker; the winner takes the same sequences. The marker's
    //    commit can never happen: startup recovery deletes it at once, whatever its age.
    const loser = await crashing();
    await assert.rejects(
      produceAll(loser.store, SEGMENT, records("loser", 1, 1, 5)),
      (e) => e === crash,
    );
    assert.equal(await markers(), 1);
    {
      await using winnerFactory = new AzureStoreFactory(setup.options());
      const winner = await winnerFactory.newStore(setup.storeId);
      assert.equal(
        (await produceAll(winner, SEGMENT, records("winner", 1, 1, 3)))[0].lastSequence,
        3,
      );
    }
    {
      const fresh = await restart();
      assert.equal(await markers(), 0, "a lost transaction's marker survived startup");
      assert.deepEqual(await texts(fresh.store), ["winner", "winner", "winner"]);
      await fresh.factory.close();
    }

    // 2. A writer crashes after its marker for sequences nobody took (yet): it may still be at
    //    work, so recovery keeps its marker until abandonedMarkerMs; startup is not held up,
    //    and other writers go on (which makes the marker a loser's).
    await assert.rejects(
      produceAll(loser.store, SEGMENT, records("loser", 2, 4, 2)),
      (e) => e === crash,
    );
    assert.equal(await markers(), 1);
    {
      const fresh = await restart();
      assert.equal(await markers(), 1, "a young marker is kept");
      assert.equal((await fresh.store.getSegmentStatus(SPACE, SEGMENT))?.lastSequence, 3);
      await produceAll(fresh.store, SEGMENT, records("fresh", 2, 4, 2));
      await fresh.factory.close();
    }
    {
      const fresh = await restart();
      assert.equal(await markers(), 0, "the marker became a loser's: deleted at startup");
      assert.deepEqual(await texts(fresh.store), ["winner", "winner", "winner", "fresh", "fresh"]);
      await fresh.factory.close();
    }

    // 3. The same crash, then a restart once the marker counts as abandoned: deleted.
    await assert.rejects(
      produceAll(loser.store, SEGMENT, records("loser", 3, 6, 1)),
      (e) => e === crash,
    );
    {
      const fresh = await restart({ abandonedMarkerMs: 0 });
      assert.equal(await markers(), 0);
      await produceAll(fresh.store, SEGMENT, records("fresh", 3, 6, 1));
      assert.deepEqual(await texts(fresh.store), [
        "winner",
        "winner",
        "winner",
        "fresh",
        "fresh",
        "fresh",
      ]);
      await fresh.factory.close();
    }
    await loser.factory.close();
    assert.deepEqual(await unfinishedPendingHeads(setup.table), []);
    assert.equal((await markerKeys(setup.table)).length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Separate processes

/** What a child prints for each round. */
interface ChildAck {
  round: number;
  tag: string;
  ok: boolean;
  lastSequence?: number;
  kind?: string;
  transient?: boolean;
  expected?: number;
  actual?: number;
  message?: string;
}

/** Reads lines from a byte stream. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered) yield buffered;
}

/**
 * The child: opens the store with its own factory, then for each stdin line
 * `{"round","first","count","barrier"}` produces `count` records from `first` and prints a
 * ChildAck. With `barrier`, it prints `{"marker":round}` once its pending marker is written and
 * waits for `{"go":round}` before committing.
 */
async function raceChild(args: string[]): Promise<void> {
  const [connectionString, tablePrefix, storeId, tag, nodeId] = args;
  const input = lines(Deno.stdin.readable)[Symbol.asyncIterator]();
  const nextMessage = async () => {
    const { value, done } = await input.next();
    return done ? undefined : JSON.parse(value);
  };
  const print = (value: unknown) => console.log(JSON.stringify(value));
  let barrierRound: number | undefined;
  await using factory = new AzureStoreFactory({
    connectionString,
    allowInsecureHttp: true,
    tablePrefix,
    nodeId,
    sweepIntervalMs: 0,
  });
  setCommitStepHook(factory, async (step) => {
    if (step !== "marker" || barrierRound === undefined) return;
    print({ marker: barrierRound });
    const go = await nextMessage();
    if (go?.go !== barrierRound) throw new Error(`expected go ${barrierRound}, got ${go}`);
  });
  const store = await factory.newStore(storeId);
  print({ ready: tag });
  while (true) {
    const message = await nextMessage();
    if (message === undefined) break;
    const { round, first, count, barrier } = message;
    barrierRound = barrier ? round : undefined;
    try {
      const statuses = await produceAll(store, SEGMENT, records(tag, round, first, count));
      print({ round, tag, ok: true, lastSequence: statuses.at(-1)?.lastSequence });
    } catch (error) {
      const e = error as Partial<SequenceMismatchError>;
      print({
        round,
        tag,
        ok: false,
        kind: e.kind,
        transient: e.transient,
        expected: e.expected,
        actual: e.actual,
        message: e.message,
      });
    }
  }
}

Deno.test("azure instances: two separate processes racing, one winner per round", async () => {
  await withFreshAzurite(async (setup) => {
    const tags = ["procA", "procB"];
    const nodeIds = tags.map(() => crypto.randomUUID());
    const children = tags.map((tag, i) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          new URL(import.meta.url).pathname,
          "race-child",
          setup.azurite.connectionString,
          setup.tablePrefix,
          setup.storeId,
          tag,
          nodeIds[i],
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn()
    );
    const stderr = children.map((child) => new Response(child.stderr).text());
    const readers = children.map((child) => lines(child.stdout)[Symbol.asyncIterator]());
    const writers = children.map((child) => child.stdin.getWriter());
    const nextLine = async (i: number) => {
      const { value, done } = await withTimeout(readers[i].next(), `${tags[i]}'s answer`, 60_000);
      if (done) {
        throw new Error(`${tags[i]} exited early:\n${await stderr[i]}`);
      }
      return JSON.parse(value);
    };
    try {
      for (let i = 0; i < children.length; i++) {
        assert.deepEqual(await nextLine(i), { ready: tags[i] });
      }
      const acked: Acknowledged = { payloads: [""], chunks: [] };
      const next = random(4242);
      let mismatches = 0;
      const send = (i: number, message: unknown) =>
        writers[i].write(encoder.encode(`${JSON.stringify(message)}\n`));
      for (let round = 1; round <= 30; round++) {
        const first = acked.payloads.length;
        const counts = tags.map(() => 1 + Math.floor(next() * MAX_CHUNK));
        // Odd rounds race freely; even rounds hold both children after their pending markers
        // until both are there, so both commit transactions race at the commit point.
        const barrier = round % 2 === 0;
        // Both commands leave together; each child answers once.
        await Promise.all(tags.map((_, i) => send(i, { round, first, count: counts[i], barrier })));
        if (barrier) {
          for (let i = 0; i < tags.length; i++) {
            assert.deepEqual(await nextLine(i), { marker: round });
          }
          await Promise.all(tags.map((_, i) => send(i, { go: round })));
        }
        const acks: ChildAck[] = await Promise.all(tags.map((_, i) => nextLine(i)));
        const winners = acks.filter((ack) => ack.ok);
        assert.equal(
          winners.length,
          1,
          `round ${round}: exactly one winner, got ${JSON.stringify(acks)}`,
        );
        const w = acks.indexOf(winners[0]);
        const last = first + counts[w] - 1;
        assert.equal(winners[0].lastSequence, last);
        const loser = acks[1 - w];
        assert.ok(
          loser.kind === "SequenceMismatch" || (loser.kind === "Conflict" && loser.transient),
          `round ${round}: the loser got ${JSON.stringify(loser)}`,
        );
        if (loser.kind === "SequenceMismatch") {
          mismatches++;
          assert.equal(loser.actual, first);
          assert.equal(loser.expected, last + 1);
        }
        acknowledge(acked, { tag: tags[w], nodeId: nodeIds[w] }, round, first, last);
      }
      // Every loser learnt the winner's head (a Conflict would be allowed, but cannot happen
      // when both start at the same sequence).
      assert.equal(mismatches, 30);
      for (const writer of writers) await writer.close();
      for (const [i, child] of children.entries()) {
        const status = await withTimeout(child.status, `${tags[i]} to exit`, 30_000);
        assert.equal(status.code, 0, `${tags[i]} failed:\n${await stderr[i]}`);
      }
      await assertHoldsAcknowledged(setup, SEGMENT, acked);
    } finally {
      for (const [i, child] of children.entries()) {
        await writers[i].close().catch(() => {});
        try {
          child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
        await child.status;
        await stderr[i].catch(() => {});
        await readers[i].return?.();
      }
    }
  });
});

if (import.meta.main && Deno.args[0] === "race-child") {
  await raceChild(Deno.args.slice(1));
  Deno.exit(0);
}
