// Pipelined commits of the Azure driver (drivers/azure/PROTOCOL.md I7, I8): the next chunk
// commits while the previous one's fanout runs (forced by a gate in the commit-step hook), a
// failure after any step of two overlapped chunks is recovered with no reader skipping, and
// readers here and elsewhere see every entry once. azure_kill_test.ts kills such streams.

import assert from "node:assert/strict";
import { compareKeys, type Entry, spaceOffset, type Store } from "../core/mod.ts";
import { SeededRandom } from "../core/_test_random.ts";
import { collect, sleep, waitFor, withTimeout } from "../core/_test_util.ts";
import type { AzureStoreFactory, AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import {
  type Azurite,
  type CommitStep,
  entryOf,
  type FaultProxy,
  MARKER_PARTITION,
  type ProxiedRequest,
  type Row,
  rule,
  segmentPartition,
  sequenceRow,
  setCommitStepHook,
  startAzureSimulator,
  startAzurite,
  startFaultProxy,
} from "../drivers/azure/_test_support.ts";
import {
  auditBothIndexes,
  directTable,
  inSpaceIndex,
  markerKeys,
  pendingHeads,
  spacePartitionOf,
  unfinishedPendingHeads,
} from "./_azure_inspect.ts";
import { azuriteFactory, numberedRecords, produceNumbered } from "./_azure_test_store.ts";
import {
  assertExactlyOnceInOrder,
  Following,
  produceConcurrently,
  type Stream,
} from "./_azure_follow_support.ts";

const PREFIX = "pipe";
const SPACE = "orders";
const SEGMENT = "s1";
/** Entries of SEGMENT before the two chunks, so neither is the segment's first. */
const BASE = 10;
/** Two chunks of the driver's 90 records. */
const TWO_CHUNKS = 150;
const encoder = new TextEncoder();

const azurite: Azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

function factory(
  options: Partial<AzureStoreFactoryOptions> = {},
  via?: FaultProxy,
): AzureStoreFactory {
  return azuriteFactory(azurite, PREFIX, options, via);
}

function produce(store: Store, segment: string, from: number, count: number) {
  return produceNumbered(store, SPACE, segment, from, count);
}

class SimulatedCrash extends Error {
  constructor(readonly at: number) {
    super(`simulated failure after commit step #${at}`);
    this.name = "SimulatedCrash";
  }
}

/**
 * Registers a hook that records the steps and throws after the `crashAt`-th step (1-based; none
 * when undefined). Two gates make the lanes run the same way every time: the first chunk's fanout
 * holds after its space rows until the second chunk committed (the overlap), and the second
 * chunk's rows lane holds after its space rows until the first chunk's marker was passed on and
 * deleted (or the failure came).
 */
function gatedHook(writer: AzureStoreFactory, crashAt?: number): CommitStep[] {
  const steps: CommitStep[] = [];
  let secondCommit!: () => void;
  const secondCommitted = new Promise<void>((resolve) => secondCommit = resolve);
  let firstMarkerMoved!: () => void;
  const firstMarkerDone = new Promise<void>((resolve) => firstMarkerMoved = resolve);
  const entered = new Map<CommitStep, number>();
  setCommitStepHook(writer, async (step) => {
    const nth = (entered.get(step) ?? 0) + 1;
    entered.set(step, nth);
    if (step === "space-rows" && nth === 1) {
      await withTimeout(
        secondCommitted,
        "the second chunk's commit during the first one's fanout",
        10_000,
      );
    }
    if (step === "space-rows" && nth === 2) {
      await withTimeout(firstMarkerDone, "the first chunk's marker moved", 10_000);
    }
    // Recorded once past the gates: the order below is the same in every run.
    steps.push(step);
    if (step === "commit" && nth === 2) secondCommit();
    if (step === "completed" && nth === 1) firstMarkerMoved();
    if (steps.length === crashAt) {
      firstMarkerMoved();
      throw new SimulatedCrash(crashAt);
    }
  });
  return steps;
}

/**
 * The steps of the two overlapped chunks as the hook sees them, in the order the gate makes them
 * run (a step is reported once done).
 */
const OVERLAPPED_STEPS: readonly CommitStep[] = [
  "marker", // chunk 1's own marker
  "commit", // chunk 1's commit point
  "commit", // chunk 2's commit point: no marker of its own, chunk 1's covers it
  "space-rows", // chunk 1's space rows (written before chunk 2 committed, or while it did)
  "inventory",
  "marker-deleted", // the marker lane: a marker written for chunk 2, chunk 1's deleted
  "completed",
  "space-rows", // chunk 2's space rows
  "inventory",
  "marker-deleted", // chunk 2's marker deleted: nothing owed any more
  "completed",
];

/**
 * A fresh store holding BASE entries of SEGMENT and a few of another segment. A writer leaves
 * the mark of its own completed fanout on the head; another instance's head read repeats that
 * fanout and clears the mark: done here, so the writer under test runs no recovery steps.
 */
async function baseStore(storeId: string): Promise<void> {
  {
    await using setup = factory();
    const store = await setup.newStore(storeId);
    await produce(store, "s0", 1, 5);
    await produce(store, SEGMENT, 1, BASE);
  }
  await using markClearer = factory();
  await (await markClearer.newStore(storeId)).getSegmentStatus(SPACE, SEGMENT);
}

Deno.test("azure pipeline: the next chunk commits while the previous chunk's fanout runs", async () => {
  const storeId = crypto.randomUUID();
  await baseStore(storeId);
  const writer = factory();
  const steps = gatedHook(writer);
  try {
    const store = await writer.newStore(storeId);
    const statuses = await produce(store, SEGMENT, BASE + 1, TWO_CHUNKS);
    assert.deepEqual(statuses.map((s) => s.lastSequence), [BASE + 90, BASE + TWO_CHUNKS]);
    assert.deepEqual(steps, OVERLAPPED_STEPS);
    // Once produce ended, everything is in both indexes and no marker is left.
    const table = directTable(azurite.connectionString, PREFIX, storeId);
    assert.deepEqual(await markerKeys(table), []);
    assert.deepEqual(await unfinishedPendingHeads(table), []);
    const segments = await auditBothIndexes(store, SPACE, ["s0", SEGMENT]);
    assert.equal(segments.get(SEGMENT)!.length, BASE + TWO_CHUNKS);
  } finally {
    await writer.close();
  }
});

for (let crashAt = 1; crashAt <= OVERLAPPED_STEPS.length; crashAt++) {
  Deno.test(
    `azure pipeline: a failure after step #${crashAt} (${
      OVERLAPPED_STEPS[crashAt - 1]
    }) of two overlapped chunks is recovered, and no reader skips`,
    async () => {
      const storeId = crypto.randomUUID();
      const table = directTable(azurite.connectionString, PREFIX, storeId);
      await baseStore(storeId);
      const writer = factory();
      const steps = gatedHook(writer, crashAt);
      try {
        const store = await writer.newStore(storeId);
        await assert.rejects(produce(store, SEGMENT, BASE + 1, TWO_CHUNKS), SimulatedCrash);
      } finally {
        await writer.close();
      }
      // Work already under way in the background may go on after the failure, as it would in a
      // process that lives on; what must hold is recovery from whatever it left.
      assert.deepEqual(
        steps.slice(0, crashAt),
        OVERLAPPED_STEPS.slice(0, crashAt),
        "the steps up to the failure",
      );
      // The second chunk's commit point is step 3: from there on, both chunks committed.
      const committed = crashAt >= 3 ? BASE + TWO_CHUNKS : crashAt === 2 ? BASE + 90 : BASE;

      // A reader elsewhere, before any recovery (its markers are young: nothing is abandoned).
      let early: Entry[];
      {
        await using reader = factory();
        early = await collect((await reader.newStore(storeId)).consumeSpace({ space: SPACE }));
      }
      await using recovering = factory({ abandonedMarkerMs: 0 });
      const store = await recovering.newStore(storeId);
      assert.deepEqual(await markerKeys(table), [], "markers left after recovery");
      assert.deepEqual(await unfinishedPendingHeads(table), [], "fanouts owed after recovery");
      const segments = await auditBothIndexes(store, SPACE, ["s0", SEGMENT]);
      const entries = segments.get(SEGMENT)!;
      assert.deepEqual(
        entries.map((entry) => entry.sequence),
        Array.from({ length: committed }, (_, i) => i + 1),
      );
      // Chunks whole: one trx per chunk (BASE, then up to two chunks of the produce).
      assert.equal(
        new Set(entries.map((entry) => entry.trx.id)).size,
        1 + Math.ceil((committed - BASE) / 90),
      );
      const timeline = await collect(store.consumeSpace({ space: SPACE }));
      // What the early reader saw is where the timeline starts: it skipped nothing.
      assert.ok(early.length <= timeline.length);
      early.forEach((entry, i) =>
        assert.equal(compareKeys(spaceOffset(entry), spaceOffset(timeline[i])), 0, `entry ${i}`)
      );
      // And the segment goes on.
      const next = await produce(store, SEGMENT, committed + 1, 100);
      assert.equal(next.at(-1)?.lastSequence, committed + 100);
      assert.equal(
        (await collect(store.consumeSpace({ space: SPACE }))).length,
        5 + committed + 100,
      );
    },
  );
}

Deno.test("azure pipeline: a chunk whose space rows fail for good once the next chunk committed is completed by recovery, with it", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  await baseStore(storeId);
  const proxy = await startFaultProxy({ targetPort: azurite.port, seed: 7, faultRate: 0 });
  const spaceRowsPartition = await spacePartitionOf(table, SPACE, SEGMENT);
  let secondCommitted = false;
  // The first chunk's space rows: "busy" until the second chunk committed, then refused for good.
  const spaceRows = (request: ProxiedRequest) =>
    request.url.includes("$batch") && request.body.includes(spaceRowsPartition);
  proxy.rules.push(
    rule(503, "ServerBusy", (request) => spaceRows(request) && !secondCommitted),
    rule(403, "AuthorizationFailure", (request) => spaceRows(request) && secondCommitted),
  );
  const writer = factory({ retry: { maxRetries: 100, baseDelayMs: 5, maxDelayMs: 20 } }, proxy);
  let commits = 0;
  setCommitStepHook(writer, (step) => {
    if (step === "commit" && ++commits === 2) secondCommitted = true;
  });
  try {
    const store = await writer.newStore(storeId);
    await assert.rejects(
      produce(store, SEGMENT, BASE + 1, TWO_CHUNKS),
      (error: unknown) => String(error).includes("write space rows"),
    );
  } finally {
    await writer.close();
    await proxy.stop();
  }
  assert.ok(secondCommitted, "the second chunk committed while the first one's fanout ran");
  // Both chunks committed; the first is not in the space index (seen in the table directly:
  // every newStore recovers first).
  const head = (await pendingHeads(table)).find(({ pending }) =>
    pending.lastSequence === BASE + TWO_CHUNKS
  );
  assert.ok(head, "the second chunk's head owes a fanout");
  const firstChunkRow = await table.getEntity(
    segmentPartition(SPACE, SEGMENT),
    sequenceRow(BASE + 1),
  );
  const { timestamp } = entryOf(firstChunkRow as Row);
  assert.equal(
    await inSpaceIndex(table, { space: SPACE, segment: SEGMENT, timestamp, sequence: BASE + 1 }),
    false,
  );
  await using recovering = factory({ abandonedMarkerMs: 0 });
  const store = await recovering.newStore(storeId);
  assert.deepEqual(await markerKeys(table), []);
  assert.deepEqual(await unfinishedPendingHeads(table), []);
  const segments = await auditBothIndexes(store, SPACE, ["s0", SEGMENT]);
  assert.equal(segments.get(SEGMENT)!.length, BASE + TWO_CHUNKS);
});

Deno.test("azure pipeline: the sweep finishes a fanout that failed behind a commit, for the writer's own readers too", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  await baseStore(storeId);
  const proxy = await startFaultProxy({ targetPort: azurite.port, seed: 8, faultRate: 0 });
  const spaceRowsPartition = await spacePartitionOf(table, SPACE, SEGMENT);
  const refused = rule(
    403,
    "AuthorizationFailure",
    (request) => request.url.includes("$batch") && request.body.includes(spaceRowsPartition),
  );
  proxy.rules.push(refused);
  const writer = factory({ sweepIntervalMs: 200 }, proxy);
  try {
    const store = await writer.newStore(storeId);
    await assert.rejects(produce(store, SEGMENT, BASE + 1, TWO_CHUNKS));
    assert.ok(refused.hits > 0);
    const ofSegment = async () =>
      (await collect(store.consumeSpace({ space: SPACE }))).filter((e) => e.segment === SEGMENT);
    assert.equal((await ofSegment()).length, BASE, "readers stop below what is owed");
    // Azure lets the writes through again: the writer's sweep repairs, with no further commit.
    proxy.rules.length = 0;
    await waitFor(
      "the sweep to repair the fanout",
      async () => (await ofSegment()).length >= BASE + TWO_CHUNKS,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    assert.deepEqual(await markerKeys(table), []);
    assert.deepEqual(await unfinishedPendingHeads(table), []);
    await auditBothIndexes(store, SPACE, ["s0", SEGMENT]);
  } finally {
    await writer.close();
    await proxy.stop();
  }
});

Deno.test("azure pipeline: a marker someone else deleted first does not stop the marker lane", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  await baseStore(storeId);
  const writer = factory();
  let commits = 0;
  let secondCommit!: () => void;
  const secondCommitted = new Promise<void>((resolve) => secondCommit = resolve);
  let deleted = 0;
  setCommitStepHook(writer, async (step) => {
    if (step === "commit" && ++commits === 2) secondCommit();
    // After the first chunk's space rows, while the second is committed: as a resolver elsewhere
    // would, once the first chunk's rows are there.
    if (step === "space-rows" && deleted === 0) {
      await secondCommitted;
      for (const rowKey of await markerKeys(table)) {
        await table.deleteEntity(MARKER_PARTITION, rowKey);
        deleted++;
      }
    }
  });
  try {
    const store = await writer.newStore(storeId);
    const statuses = await produce(store, SEGMENT, BASE + 1, TWO_CHUNKS);
    assert.equal(statuses.at(-1)?.lastSequence, BASE + TWO_CHUNKS);
    assert.equal(deleted, 1, "the first chunk's marker was deleted under the writer");
    assert.deepEqual(await markerKeys(table), []);
    assert.deepEqual(await unfinishedPendingHeads(table), []);
    await auditBothIndexes(store, SPACE, ["s0", SEGMENT]);
  } finally {
    await writer.close();
  }
});

Deno.test("azure pipeline: a restored trx cut into several chunks pipelines, each chunk under a marker of its own", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  await baseStore(storeId);
  await using writer = factory();
  const store = await writer.newStore(storeId);
  // One trx of 250 entries: three chunks sharing its id and timestamp.
  const trx = { id: crypto.randomUUID(), node: crypto.randomUUID(), number: 2 };
  const timestamp = Date.now();
  const entries: Entry[] = Array.from({ length: 250 }, (_, i) => ({
    space: SPACE,
    segment: SEGMENT,
    sequence: BASE + 1 + i,
    timestamp,
    trx,
    payload: encoder.encode(`restored #${i}`),
    metadata: {},
  }));
  const statuses = await collect(store.restore({ space: SPACE, segment: SEGMENT }, entries));
  assert.deepEqual(statuses.map((s) => s.lastSequence), [BASE + 90, BASE + 180, BASE + 250]);
  assert.deepEqual(await markerKeys(table), []);
  assert.deepEqual(await unfinishedPendingHeads(table), []);
  const segments = await auditBothIndexes(store, SPACE, ["s0", SEGMENT]);
  assert.equal(segments.get(SEGMENT)!.length, BASE + 250);
});

Deno.test("azure pipeline: readers of the writer's process see each chunk once it is acknowledged", async () => {
  const storeId = crypto.randomUUID();
  await baseStore(storeId);
  await using writer = factory();
  const store = await writer.newStore(storeId);
  const reader = await writer.newStore(storeId);
  let acknowledged = BASE;
  for await (
    const status of store.produce(
      { space: SPACE, segment: SEGMENT },
      numberedRecords(SEGMENT, BASE + 1, 900),
    )
  ) {
    acknowledged = status.lastSequence;
    // The chunk's fanout may still be running: the read waits for it.
    const timeline = await collect(reader.consumeSpace({ space: SPACE }));
    const ofSegment = timeline.filter((entry) => entry.segment === SEGMENT);
    assert.equal(ofSegment.at(-1)?.sequence, acknowledged);
    assert.equal(ofSegment.length, acknowledged);
  }
  assert.equal(acknowledged, BASE + 900);
});

Deno.test("azure pipeline: a follower elsewhere sees every entry once, in order, while writers stream through latency and faults", async () => {
  const storeId = crypto.randomUUID();
  const seed = Number(Deno.env.get("STREAMKIT_TEST_SEED") ?? Date.now() % 1_000_000);
  const simulator = await startAzureSimulator({
    targetPort: azurite.port,
    seed,
    latencyMs: 4,
    jitterMs: 3,
    faultRate: 0.03,
  });
  const writer = factory({}, simulator);
  const follower = factory();
  const spaces = ["orders", "orders2"];
  const streams: Stream[] = spaces.flatMap((space) =>
    ["a", "ab", "z \u{1F680}"].map((segment) => ({ space, segment }))
  );
  try {
    const follow = await Following.caughtUp(await follower.newStore(storeId), spaces, 50);
    const writerStore = await writer.newStore(storeId);
    // Produces of up to 500 records: up to 6 chunks each, pipelined.
    await produceConcurrently(writerStore, streams, new SeededRandom(seed), [100, 500], 900);
    const total = streams.length * 900;
    await follow.until("every entry", () => follow.entries.length >= total, 120_000);
    await sleep(300);
    await follow.stop();
    const committed: Entry[] = [];
    const store = await follower.newStore(storeId);
    for await (
      const entry of store.consume({
        spaces: Object.fromEntries(spaces.map((s) => [s, undefined])),
      })
    ) {
      committed.push(entry);
    }
    assert.equal(committed.length, total);
    assertExactlyOnceInOrder(follow.entries, committed);
    const { counts } = simulator;
    console.log(
      `pipelined writers through the simulator (seed ${seed}): ${total} entries, ` +
        `${counts.requests} requests, faults ${JSON.stringify(counts.faults)}, ` +
        `delivered once and in order`,
    );
    assert.ok(Object.values(counts.faults).some((n) => n > 0), "no fault was injected");
  } finally {
    await follower.close();
    await writer.close();
    await simulator.stop();
  }
});
