// Following an Azure store across factories and processes (drivers/azure/PROTOCOL.md I6, I13):
// an idle follower's polls, and every entry delivered once and in order whatever another factory
// or process commits, through faults, writers SIGKILLed between commit point and fanout, and late
// marker writes. Requests are counted, and faults injected, through the fault proxy.
// STREAMKIT_TEST_SEED replays the random choices (sizes, faults, kill points).

import assert from "node:assert/strict";
import type { TableClient } from "@azure/data-tables";
import { SeededRandom, testSeed } from "../core/_test_random.ts";
import type { Entry } from "../core/mod.ts";
import { collect, sleep, waitFor } from "../core/_test_util.ts";
import type { AzureStoreFactory, AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import {
  type Azurite,
  type FaultProxy,
  type ForcedFault,
  HEAD_ROW,
  MARKER_PARTITION,
  markerTimestamp,
  type ProxiedRequest,
  segmentPartition,
  spacePartitions,
  startAzurite,
  startFaultProxy,
} from "../drivers/azure/_test_support.ts";
import { directTable, inSpaceIndex, markerKeys, unfinishedPendingHeads } from "./_azure_inspect.ts";
import { azuriteConnectionString, azuriteFactory, type AzuriteProxy } from "./_azure_test_store.ts";
import {
  assertExactlyOnceInOrder,
  compareTimeline,
  type FollowChildOrders,
  Following,
  label,
  produceConcurrently,
  runChild,
  type Stream,
} from "./_azure_follow_support.ts";
import { killPayload } from "./_kill_protocol.ts";

const PREFIX = "follow";
/** Shards of the space index: a poll of a space asks each of them. */
const SHARDS = 4;

/**
 * A factory on this test's tables (through `via` when given), with no background sweep: the
 * requests counted are the follower's, and recovery is its reads'.
 */
function factoryOn(
  azurite: Azurite,
  via?: AzuriteProxy,
  options: Partial<AzureStoreFactoryOptions> = {},
): AzureStoreFactory {
  return azuriteFactory(azurite, PREFIX, { spaceShards: SHARDS, ...options }, via);
}

/** What a test runs on: a fresh Azurite, a store id, and the run's seed with its generator. */
interface FreshRun {
  azurite: Azurite;
  storeId: string;
  seed: number;
  random: SeededRandom;
}

/** Runs `body` on a fresh Azurite and store id; stops Azurite whatever happens. */
async function withFreshAzurite(body: (run: FreshRun) => Promise<void>) {
  const azurite = await startAzurite();
  const seed = testSeed();
  try {
    await body({ azurite, storeId: crypto.randomUUID(), seed, random: new SeededRandom(seed) });
  } finally {
    await azurite.stop();
  }
}

/** Every committed entry of `spaces`, in timeline order, read by a fresh factory. */
async function committedTimeline(azurite: Azurite, storeId: string, spaces: string[]) {
  const factory = factoryOn(azurite);
  try {
    const store = await factory.newStore(storeId);
    return await collect(
      store.consume({ spaces: Object.fromEntries(spaces.map((space) => [space, undefined])) }),
    );
  } finally {
    await factory.close();
  }
}

/** What a logged request (`METHOD url`, as the proxy logs it) reads, as far as following goes. */
type RequestKind =
  | { kind: "probe" | "scan"; space: string }
  | { kind: "markers" }
  | { kind: "other" };

function requestKind(line: string, spaces: readonly string[]): RequestKind {
  const partition = /PartitionKey eq '([^']*)'/.exec(line)?.[1];
  if (!line.startsWith("GET ") || partition === undefined) return { kind: "other" };
  if (partition === MARKER_PARTITION) return { kind: "markers" };
  const space = spaces.find((candidate) => spacePartitions(candidate, SHARDS).includes(partition));
  if (space === undefined) return { kind: "other" };
  return { kind: /[?&]\$top=1(&|$)/.test(line) ? "probe" : "scan", space };
}

/** Resolves once the proxy has seen `count` polls (a probe per shard) of each of `spaces` since `from`. */
async function probesSeen(proxy: FaultProxy, spaces: readonly string[], from: number, count = 1) {
  await waitFor(`${count} probes of ${spaces}`, () => {
    const probes = proxy.log.slice(from).map((line) => requestKind(line, spaces))
      .filter((request) => request.kind === "probe");
    return spaces.every((space) =>
      probes.filter((p) => "space" in p && p.space === space).length >= count * SHARDS
    );
  }, { timeoutMs: 60_000, intervalMs: 5 });
}

Deno.test("azure follow: an idle follower polls once per pollIntervalMs per space and wakes at once for its own process", async () => {
  await withFreshAzurite(async ({ azurite, storeId }) => {
    const proxy = await startFaultProxy({ targetPort: azurite.port, seed: 1, faultRate: 0 });
    const writer = factoryOn(azurite);
    const follower = factoryOn(azurite, proxy);
    try {
      const spaces = ["idle-a", "idle-b", "idle-c"];
      const writerStore = await writer.newStore(storeId);
      const streams = spaces.map((space) => ({ space, segment: "s" }));
      await produceConcurrently(writerStore, streams, new SeededRandom(1), [3, 3], 3);
      const store = await follower.newStore(storeId);

      const POLL_MS = 250;
      /** The window counted: this many intervals, once the backoff has reached POLL_MS. */
      const INTERVALS = 8;
      /** Waits of 25, 50, 100 and 200 ms come first: after 5 probes each wait is POLL_MS. */
      const PROBES_TO_IDLE = 5;
      for (const following of [spaces.slice(0, 1), spaces]) {
        const start = proxy.log.length;
        const follow = new Following(store, following, POLL_MS);
        await follow.until("history", () => follow.entries.length === 3 * following.length);
        await probesSeen(proxy, following, start, PROBES_TO_IDLE);
        const windowStart = proxy.log.length;
        await sleep(INTERVALS * POLL_MS);
        const window = proxy.log.slice(windowStart).map((line) => requestKind(line, following));
        await follow.stop();
        const perSpace = following.map((space) =>
          window.filter((request) => "space" in request && request.space === space).length
        );
        console.log(
          `idle follower of ${following.length} space(s), pollIntervalMs ${POLL_MS}: ` +
            `${window.length} requests in ${INTERVALS} intervals (per space: ${
              perSpace.join(", ")
            })`,
        );
        assert.ok(
          window.every((request) => request.kind === "probe"),
          `an idle follower sent more than one-row probes: ${JSON.stringify(window)}`,
        );
        // A poll (a probe per shard) may fall at each end of the window.
        for (const count of perSpace) {
          assert.ok(count <= (INTERVALS + 1) * SHARDS, `${count} probes`);
        }
        assert.ok(window.length > 0, "an idle follower of a shared store polls");
      }

      // Its own process's commit: a follower deep in its backoff (waits of 25 ms ... 1.6 s done,
      // the next one 3.2 s) is woken by the commit itself, not by its next poll.
      const space = spaces[0];
      const start = proxy.log.length;
      const follow = new Following(store, [space], 60_000);
      await follow.until("history", () => follow.entries.length === 3);
      await probesSeen(proxy, [space], start, 7);
      // Lets the last probe's answer arrive; the next probe is seconds away.
      await sleep(100);
      const beforeCommit = proxy.log.length;
      for await (
        const _ of store.produce({ space, segment: "s" }, [{
          sequence: 4,
          payload: new Uint8Array([4]),
        }])
      ) {
        // committed
      }
      await follow.until(
        "the entry committed through its own factory",
        () => follow.entries.length === 4,
      );
      const between = proxy.log.slice(beforeCommit).map((line) => requestKind(line, [space]));
      await follow.stop();
      const kinds = Object.groupBy(between, (request) => request.kind);
      console.log(
        `own-process commit, follower 7 probes deep into its backoff: delivered after ` +
          `${between.length} requests: probes ${kinds.probe?.length ?? 0}, commit ` +
          `${kinds.other?.length ?? 0}, marker queries ${kinds.markers?.length ?? 0}, space ` +
          `reads ${kinds.scan?.length ?? 0}`,
      );
      assert.equal(follow.entries[3].sequence, 4);
      assert.ok(!between.some((request) => request.kind === "probe"), "woken by a poll");
      assert.ok(between.some((request) => request.kind === "scan"), "no read round");
    } finally {
      await follower.close();
      await writer.close();
      await proxy.stop();
    }
  });
});

/** The two spaces of tests b to d; `orders` is a prefix of `orders2` on purpose. */
const SPACES = ["orders", "orders2"];
const SEGMENTS = ["a", "ab", "z \u{1F680}"];
const STREAMS: Stream[] = SPACES.flatMap((space) =>
  SEGMENTS.map((segment) => ({ space, segment }))
);

Deno.test("azure follow: a follower sees what another factory and another process commit, once and in order", async () => {
  await withFreshAzurite(async ({ azurite, storeId, seed, random }) => {
    const follower = factoryOn(azurite);
    const writer = factoryOn(azurite);
    const POLL_MS = 50;
    const PER_STREAM = 100;
    try {
      const follow = await Following.caughtUp(await follower.newStore(storeId), SPACES, POLL_MS);
      const writerStore = await writer.newStore(storeId);
      await produceConcurrently(writerStore, STREAMS, random, [1, 100], PER_STREAM);
      const byFactory = STREAMS.length * PER_STREAM;
      await follow.until("the other factory's entries", () => follow.entries.length >= byFactory);

      const orders: FollowChildOrders = {
        tablePrefix: PREFIX,
        storeId,
        streams: STREAMS,
        seed: random.u32(),
        produceSizes: [1, 100],
        mode: { kind: "produce", perStream: PER_STREAM, readHeads: false },
      };
      const child = await runChild(orders, azurite.connectionString);
      assert.equal(child.code, 0, `the child failed: ${child.stderr}`);
      assert.equal(child.lines.at(-1)?.type, "done");
      const total = byFactory + STREAMS.length * PER_STREAM;
      await follow.until("the other process's entries", () => follow.entries.length >= total);
      // Anything delivered twice would come in the next rounds.
      await sleep(10 * POLL_MS);
      await follow.stop();
      const committed = await committedTimeline(azurite, storeId, SPACES);
      assert.equal(committed.length, total);
      assertExactlyOnceInOrder(follow.entries, committed);
      console.log(
        `seed ${seed}: delivered ${follow.entries.length} entries once and in order ` +
          `(${byFactory} from another factory, ${total - byFactory} from another process, ` +
          `${child.lines.filter((line) => line.type === "ack").length} chunks), ` +
          `caught-up ${follow.caughtUps} times`,
      );
    } finally {
      await follower.close();
      await writer.close();
    }
  });
});

Deno.test("azure follow: through 10% transient faults on writer and follower, every entry once and in order", async () => {
  await withFreshAzurite(async ({ azurite, storeId, seed, random }) => {
    const FAULT_RATE = 0.1;
    const writerProxy = await startFaultProxy({
      targetPort: azurite.port,
      seed,
      faultRate: FAULT_RATE,
    });
    const followerProxy = await startFaultProxy({
      targetPort: azurite.port,
      seed: seed + 1,
      faultRate: FAULT_RATE,
    });
    const writer = factoryOn(azurite, writerProxy);
    const follower = factoryOn(azurite, followerProxy);
    const POLL_MS = 50;
    const PER_STREAM = 200;
    try {
      const follow = await Following.caughtUp(await follower.newStore(storeId), SPACES, POLL_MS);
      const followerFaultsBefore = Object.values(followerProxy.counts.faults)
        .reduce((sum, count) => sum + count, 0);
      const writerStore = await writer.newStore(storeId);
      await produceConcurrently(writerStore, STREAMS, random, [1, 100], PER_STREAM);
      const total = STREAMS.length * PER_STREAM;
      await follow.until("every entry", () => follow.entries.length >= total, 120_000);
      await sleep(10 * POLL_MS);
      await follow.stop();
      const committed = await committedTimeline(azurite, storeId, SPACES);
      assert.equal(committed.length, total);
      assertExactlyOnceInOrder(follow.entries, committed);
      const faultsWhileFollowing = Object.values(followerProxy.counts.faults)
        .reduce((sum, count) => sum + count, 0) - followerFaultsBefore;
      assert.ok(faultsWhileFollowing > 0, "the follower's reads met no fault");
      for (const [who, proxy] of [["writer", writerProxy], ["follower", followerProxy]] as const) {
        const { requests, faults, retriesObserved } = proxy.counts;
        console.log(
          `${who}: ${requests} requests, faults ${JSON.stringify(faults)}, ` +
            `${retriesObserved} retries of faulted requests`,
        );
      }
      console.log(
        `seed ${seed}: delivered ${follow.entries.length} entries once and in order, ` +
          `${faultsWhileFollowing} faults on the follower's connection while following`,
      );
    } finally {
      await follower.close();
      await writer.close();
      await writerProxy.stop();
      await followerProxy.stop();
    }
  });
});

/** The last sequence of each stream as its head row says, read straight from the table. */
async function headsInTable(table: TableClient, streams: readonly Stream[]): Promise<number[]> {
  return await Promise.all(streams.map(async ({ space, segment }) => {
    try {
      const head = await table.getEntity(segmentPartition(space, segment), HEAD_ROW);
      return Number(head.lastSequence);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return 0;
      throw error;
    }
  }));
}

/** How far `entries` go in each stream. */
function reached(entries: readonly Entry[], streams: readonly Stream[]): number[] {
  return streams.map(({ space, segment }) =>
    entries.findLast((entry) => entry.space === space && entry.segment === segment)?.sequence ??
      0
  );
}

Deno.test("azure follow: a writer SIGKILLed between commit and fanout, five times: the follower skips and repeats nothing", async () => {
  await withFreshAzurite(async ({ azurite, storeId, seed, random }) => {
    const { connectionString } = azurite;
    const table = directTable(connectionString, PREFIX, storeId);
    const proxy = await startFaultProxy({ targetPort: azurite.port, seed, faultRate: 0 });
    // Readers resolve a marker once it is this old: the killed writer's, after two seconds. (A
    // live writer's marker lives for milliseconds, or covers its next chunks for up to a second:
    // the follower leaves it to its writer, so the chunk killed after its commit point is still
    // out of the space index when the test looks.)
    const follower = factoryOn(azurite, proxy, { abandonedMarkerMs: 2_000 });
    const beaconWriter = factoryOn(azurite);
    const KILLS = 5;
    const POLL_MS = 100;
    const [space] = SPACES;
    const streams = SEGMENTS.map((segment) => ({ space, segment }));
    const beacon = { space, segment: "beacon" };
    const summary = {
      seed,
      kills: 0,
      chunksCommittedByChildren: 0,
      /** Markers the children left: of chunks owing their fanout, and of chunks never committed. */
      markersLeft: 0,
      fanoutsOwed: 0,
      entriesHeldByMarker: 0,
      /** Per kill, the follower's requests from the beacon's commit to the delivery. */
      followerRequestsUntilDelivered: [] as number[],
      /** Of those, over all kills: one-row probes, marker queries, space reads, and the rest
       * (resolving the marker: head read, fanout, marker delete, head update). */
      followerRequestsByKind: { probe: 0, markers: 0, scan: 0, other: 0 },
      entriesDelivered: 0,
    };
    try {
      const follow = await Following.caughtUp(await follower.newStore(storeId), [space], POLL_MS);
      const beaconStore = await beaconWriter.newStore(storeId);
      for (let kill = 1; kill <= KILLS; kill++) {
        const orders: FollowChildOrders = {
          tablePrefix: PREFIX,
          storeId,
          streams,
          seed: random.u32(),
          produceSizes: [1, 150],
          mode: { kind: "kill", afterCommits: random.int(1, 8) },
        };
        const child = await runChild(orders, connectionString);
        assert.equal(child.signal, "SIGKILL", `the child was not killed: ${child.stderr}`);
        // Chunks of other segments may have been acknowledged after it.
        const dying = child.lines.find((line) => line.type === "dying");
        assert.ok(dying?.type === "dying", `the child died elsewhere: ${child.stderr}`);
        summary.kills++;
        summary.chunksCommittedByChildren += dying.commits;

        // What the child left: the killed chunk, past its commit point and missing from the
        // space index, with its marker; and the chunks of other segments in flight then: some
        // committed and owing their fanout (with their markers: a later-stamped one waits for
        // the killed chunk's fanout), some with a marker and never committed.
        const markers = await markerKeys(table);
        const unfinished = await unfinishedPendingHeads(table);
        assert.ok(unfinished.length >= 1, "no head owes a fanout after the kill");
        const owing = unfinished.map(({ partitionKey, pending }) => {
          // Its own marker, or an earlier chunk's of the segment that covers it (PROTOCOL.md I3).
          assert.ok(
            markers.some((key) => (markerTimestamp(space, key) ?? Infinity) <= pending.timestamp),
            "a head owes a fanout that no marker covers",
          );
          const { segment } = streams.find((stream) =>
            segmentPartition(space, stream.segment) === partitionKey
          )!;
          return { space, segment, timestamp: pending.timestamp, pending };
        });
        const missing = await Promise.all(
          owing.map(async (chunk) =>
            !await inSpaceIndex(table, { ...chunk, sequence: chunk.pending.lastSequence })
          ),
        );
        assert.ok(missing.includes(true), "every chunk owing a fanout is in the space index");
        summary.markersLeft += markers.length;
        summary.fanoutsOwed += owing.length;
        for (const { pending } of owing) {
          summary.entriesHeldByMarker += pending.lastSequence - pending.firstSequence + 1;
        }

        // A commit of another factory to the space after the killed chunk: the follower's probe
        // finds it, and its read rounds, held below the markers, resolve them once they are old.
        const requestsBefore = proxy.log.length;
        const beaconSequence = kill;
        for await (
          const _ of beaconStore.produce(beacon, [{
            sequence: beaconSequence,
            payload: killPayload(space, beacon.segment, beaconSequence),
          }])
        ) {
          // committed
        }
        const heads = await headsInTable(table, streams);
        await follow.until(
          `delivery of kill ${kill}'s chunks`,
          () =>
            reached(follow.entries, streams).every((last, i) => last === heads[i]) &&
            reached(follow.entries, [beacon])[0] === beaconSequence,
        );
        const requests = proxy.log.slice(requestsBefore).map((line) => requestKind(line, [space]));
        summary.followerRequestsUntilDelivered.push(requests.length);
        for (const { kind } of requests) summary.followerRequestsByKind[kind]++;
        assert.deepEqual(await markerKeys(table), [], "the follower's reads resolved the markers");
        assert.deepEqual(await unfinishedPendingHeads(table), []);
        // Each chunk that owed its fanout was delivered in its place in the timeline, once.
        for (const { segment, timestamp, pending } of owing) {
          const at = follow.entries.findIndex((entry) =>
            entry.segment === segment && entry.sequence === pending.lastSequence
          );
          assert.ok(at >= 0 && follow.entries[at].timestamp === timestamp);
        }
      }
      await sleep(10 * POLL_MS);
      await follow.stop();
      const committed = await committedTimeline(azurite, storeId, [space]);
      assertExactlyOnceInOrder(follow.entries, committed);
      summary.entriesDelivered = follow.entries.length;
      console.log(`azure follow kill summary: ${JSON.stringify(summary)}`);
    } finally {
      await follower.close();
      await beaconWriter.close();
      await proxy.stop();
    }
  });
});

const MARKER_WRITE = new RegExp(
  `\\(PartitionKey='${MARKER_PARTITION}',\\s*RowKey='([0-9a-f]+)'\\)`,
);

/** The row key of the pending marker a request writes (an upsert of a marker row), if it does. */
function markerWritten(request: Pick<ProxiedRequest, "method" | "url">): string | undefined {
  if (request.method !== "PUT") return undefined;
  return MARKER_WRITE.exec(request.url)?.[1];
}

/**
 * Whether a logged request (`METHOD url`) replaces a segment's head row on its own: recovery
 * clearing a pending mark once it completed the fanout (commits write heads in transactions).
 */
function clearsPendingMark(line: string): boolean {
  return line.startsWith("PUT ") && line.includes(`RowKey='${HEAD_ROW}')`);
}

/**
 * A marker's row key ends in its chunk's timestamp (16 hex digits), last sequence (16) and trx
 * id (32).
 */
const MARKER_TIMESTAMP_AT = -64;
const MARKER_SEQUENCE_AT = -48;

/**
 * How many markers reached the proxy for the last time (a faulted write is tried again) after a
 * marker stamped later had first come: chunks that a later chunk of the same writer overtook on
 * the way to the table, which readers in other processes could pass (or, reading several
 * spaces, deliver late) were the later chunk's space rows not to wait. `log` is the proxy's
 * (`METHOD url`).
 */
function overtakenMarkers(log: readonly string[]): number {
  const keys = log.flatMap((line) => {
    const [method, url] = line.split(" ", 2);
    return markerWritten({ method, url }) ?? [];
  });
  const lastWrite = new Map(keys.map((key, at) => [key, at]));
  let latestStamp = "";
  let overtaken = 0;
  keys.forEach((key, at) => {
    // The i64 timestamp in hex sorts as the timestamps do.
    const stamp = key.slice(MARKER_TIMESTAMP_AT, MARKER_SEQUENCE_AT);
    if (lastWrite.get(key) === at && stamp < latestStamp) overtaken++;
    if (stamp > latestStamp) latestStamp = stamp;
  });
  return overtaken;
}

Deno.test("azure follow: a writer process with six segments of a space (and two of another) in flight, its marker writes failing now and then: every entry once and in order", async () => {
  await withFreshAzurite(async ({ azurite, storeId, seed, random }) => {
    const RANDOM_FAULT_RATE = 0.1;
    const writerProxy = await startFaultProxy({
      targetPort: azurite.port,
      seed,
      faultRate: RANDOM_FAULT_RATE,
      classify: (request) => markerWritten(request) === undefined ? "other" : "marker write",
    });
    // The first write of every 7th marker fails before it reaches the table; the driver tries
    // it again after a backoff, while the writer's chunks of other segments go on.
    const FAILED_MARKER_EVERY = 7;
    const markersWritten = new Set<string>();
    const markerWriteFails: ForcedFault = {
      kind: "503-before",
      hits: 0,
      match: (request) => {
        const key = markerWritten(request);
        if (key === undefined || markersWritten.has(key)) return false;
        markersWritten.add(key);
        return markersWritten.size % FAILED_MARKER_EVERY === 0;
      },
    };
    writerProxy.forced = [markerWriteFails];
    const follower = factoryOn(azurite);
    const POLL_MS = 20;
    const PER_STREAM = 150;
    // A second space, whose name begins with the first one's: a follower of both merges them.
    const spaces = ["fanout", "fanout2"];
    const streams = [
      ...["s1", "s2", "s3", "s4", "s5", "s6"].map((segment) => ({ space: spaces[0], segment })),
      ...["s1", "s2"].map((segment) => ({ space: spaces[1], segment })),
    ];
    const total = streams.length * PER_STREAM;
    try {
      const follow = await Following.caughtUp(await follower.newStore(storeId), spaces, POLL_MS);
      const orders: FollowChildOrders = {
        tablePrefix: PREFIX,
        storeId,
        streams,
        seed: random.u32(),
        // Small chunks: many of them, each a marker write that may be late.
        produceSizes: [1, 3],
        // Its head reads complete the fanout of chunks they find committed and not fanned out
        // yet: of one waiting for its turn too.
        mode: { kind: "produce", perStream: PER_STREAM, readHeads: true },
      };
      const child = await runChild(orders, azuriteConnectionString(azurite, writerProxy));
      assert.equal(child.code, 0, `the child failed: ${child.stderr}`);
      const done = child.lines.at(-1);
      assert.ok(done?.type === "done", `the child did not finish: ${JSON.stringify(done)}`);
      const committed = await committedTimeline(azurite, storeId, spaces);
      assert.equal(committed.length, total);
      // The follower reaches the end of the timeline even if it skipped something on the way.
      const last = label(committed[total - 1]);
      await follow.until(
        "the last committed entry",
        () =>
          follow.entries.length >= total ||
          (follow.entries.length > 0 && label(follow.entries.at(-1)!) === last),
      );
      // Anything delivered twice would come in the next rounds.
      await sleep(10 * POLL_MS);
      await follow.stop();

      const delivered = new Set(follow.entries.map(label));
      const count = (counts: Partial<Record<string, number>> = {}) =>
        Object.values(counts).reduce((sum: number, n) => sum + (n ?? 0), 0);
      const seen = {
        seed,
        entries: total,
        chunks: child.lines.filter((line) => line.type === "ack").length,
        writerRequests: writerProxy.counts.requests,
        faultsInjected: count(writerProxy.counts.faults),
        faultsByKind: writerProxy.counts.faults,
        markerWritesFailed: count(writerProxy.counts.faultsByClass["marker write"]),
        /** Of those, the first writes of every FAILED_MARKER_EVERY-th marker. */
        markerFirstWritesFailed: markerWriteFails.hits,
        markersOvertaken: overtakenMarkers(writerProxy.log),
        headReads: done.headReads,
        /** Requests clearing a head's pending mark (retries included): the writer's head
         * reads met a chunk committed and not fanned out yet, and completed its fanout. */
        pendingMarkClears: writerProxy.log.filter(clearsPendingMark).length,
        delivered: follow.entries.length,
        missing: committed.filter((entry) => !delivered.has(label(entry))).length,
        deliveredOutOfOrder: follow.entries.filter((entry, i) =>
          i > 0 && compareTimeline(follow.entries[i - 1], entry) >= 0
        ).length,
      };
      console.log(`azure follow, eight segments of two spaces in flight: ${JSON.stringify(seen)}`);
      assert.ok(markerWriteFails.hits > 0, "no marker write failed");
      assertExactlyOnceInOrder(follow.entries, committed);
    } finally {
      await follower.close();
      await writerProxy.stop();
    }
  });
});
