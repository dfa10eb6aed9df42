// Crash safety of the Azure driver, tested by killing (DESIGN 4 "a chunk is atomic", 7.3
// "Recovery"): this test starts one Azurite, which outlives every child; a child process
// (tests/_azure_kill_child.ts, given the connection string in its environment) produces
// continuously into one store — two spaces, three segments each, concurrently, produces of
// 1..300 records cut into chunks of at most 90 — and prints every produce it starts and every
// status it is acknowledged. The parent SIGKILLs it at a random moment (any time, or shortly
// after a produce starts or a chunk is acknowledged, so the kill lands inside a commit), looks
// at the table as the child left it (pending markers, heads whose fanout is unfinished), then
// opens the store anew — newStore runs the driver's recovery — and audits it:
//   a. every acknowledged entry is there, with its exact payload, and sequences run 1..last;
//   b. no chunk is partly there: entries group by trx into exactly the chunks the announced
//      produces are cut into, with one timestamp and consecutive trx numbers each;
//   c. the space index holds exactly the segment indexes' entries, in space-offset order (a
//      kill between the commit point and the fanout leaves the chunk out of the space index
//      until recovery completes it: the audit checks that it did);
//   d. peek, getSegmentStatus, getSpaces and getSegments agree with the data;
//   e. recovery leaves no marker, and after the audit no head marks a pending fanout.
// Then the next child resumes from the segments' heads. STREAMKIT_AZURE_KILL_ROUNDS sets the
// number of kills (default 12); STREAMKIT_TEST_SEED replays the random choices (kill moments
// still vary with timing).

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { TableClient } from "@azure/data-tables";
import { SeededRandom, testSeed } from "../core/_test_random.ts";
import type { Entry, SegmentStatus, Store } from "../core/mod.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import { segmentPartition, spacePartition, spaceRow } from "../drivers/azure/_entities.ts";
import { type Azurite, startAzurite } from "../scripts/azurite.ts";
import { CONNECTION_ENV } from "./_azure_kill_child.ts";
import {
  auditBothIndexes,
  collect,
  directTable,
  expect,
  markerKeys,
  pendingHeads,
  sameBytes,
  unfinishedPendingHeads,
} from "./_azure_inspect.ts";
import {
  announce,
  KILL_SEGMENTS,
  KILL_SPACES,
  killPayload,
  type Line,
  readLines,
  where,
} from "./_kill_protocol.ts";

const ROUNDS = Number(Deno.env.get("STREAMKIT_AZURE_KILL_ROUNDS") || 12);
/** The kill comes this long after the child reported ready (or is aimed from then on). */
const KILL_DELAY_MS: readonly [number, number] = [100, 1_200];
/** An aimed kill waits this long at most after the line it aims at: about one commit. */
const AIM_WINDOW_MS = 40;
/** An aimed kill that finds nothing to aim at kills anyway after this long. */
const FALLBACK_MS = 1_500;
/** The child pauses up to this long between two produces of one segment. */
const CHILD_MAX_PAUSE_MS = 250;
const NIL_NODE = "00000000-0000-0000-0000-000000000000";
const PREFIX = "kill";

const childScript = fileURLToPath(new URL("./_azure_kill_child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

// ---------------------------------------------------------------------------------------------
// What the parent knows from the children's output.

interface Track {
  space: string;
  segment: string;
  /** The chunks the announced produces are cut into: start sequence → size. */
  predicted: Map<number, number>;
  /** The stored end the last audit found; the next child resumes after it. */
  end: number;
  /** The end of the last announced produce. */
  announcedEnd: number;
  /** The highest acknowledged sequence over all rounds. */
  maxAcked: number;
  /** This round's acknowledged statuses, by last sequence. */
  acks: Map<number, SegmentStatus>;
  /** This round's last intent. */
  lastIntent: { from: number; count: number } | undefined;
}

/** Folds one child's output into the tracks, checking its continuity; returns the new acks. */
function absorb(lines: Line[], tracks: Map<string, Track>, maxChunk: number): number {
  let acked = 0;
  for (const track of tracks.values()) {
    track.acks.clear();
    track.lastIntent = undefined;
    track.announcedEnd = track.end;
  }
  for (const line of lines) {
    if (line.type === "ready") continue;
    const track = tracks.get(`${line.space}\u0000${line.segment}`);
    assert.ok(track !== undefined, `child wrote to unknown ${where(line.space, line.segment)}`);
    if (line.type === "intent") {
      assert.equal(
        line.from,
        track.announcedEnd + 1,
        `${where(line.space, line.segment)}: produce does not continue the head`,
      );
      announce(track.predicted, line.from, line.count, maxChunk);
      track.announcedEnd = line.from + line.count - 1;
      track.lastIntent = { from: line.from, count: line.count };
    } else {
      const { type: _type, ...status } = line;
      assert.ok(status.lastSequence > track.maxAcked, `${where(line.space, line.segment)}: ack`);
      assert.ok(status.lastSequence <= track.announcedEnd, "ack beyond its produce");
      acked += status.lastSequence - Math.max(track.maxAcked, track.end);
      track.maxAcked = status.lastSequence;
      track.acks.set(status.lastSequence, status);
    }
  }
  return acked;
}

// ---------------------------------------------------------------------------------------------
// The audit of one segment (a, b, d).

interface Stats {
  entries: number;
  chunks: number;
  maxChunk: number;
}

async function auditSegment(
  store: Store,
  track: Track,
  entries: Entry[],
  stats: Stats,
): Promise<void> {
  const { space, segment, predicted, acks } = track;
  const trxIds = new Set<string>();
  let chunkStart = 0;
  let trxNumber = 0;
  const closeChunk = (endIndex: number) => {
    const start = entries[chunkStart];
    const size = endIndex - chunkStart;
    const expected = predicted.get(start.sequence);
    assert.ok(
      expected !== undefined,
      `${where(space, segment, start.sequence)}: a stored chunk starts here, no produce's does`,
    );
    assert.equal(
      size,
      expected,
      `${where(space, segment, start.sequence)}: stored chunk of trx ${start.trx.number} has ` +
        `${size} entries, its produce's chunk ${expected} (partial chunk?)`,
    );
    const last = entries[endIndex - 1];
    const ack = acks.get(last.sequence);
    if (ack !== undefined) {
      assert.deepEqual(ack, {
        space,
        segment,
        firstSequence: 1,
        firstTimestamp: entries[0].timestamp,
        lastSequence: last.sequence,
        lastTimestamp: last.timestamp,
      }, `${where(space, segment, last.sequence)}: acknowledged status vs stored chunk`);
      acks.delete(last.sequence);
    }
    stats.chunks++;
    stats.maxChunk = Math.max(stats.maxChunk, size);
  };
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const at = () => where(space, segment, entry.sequence);
    expect(entry.sequence === i + 1, () => `${at()}: gap or disorder at index ${i}`);
    expect(
      sameBytes(entry.payload, killPayload(space, segment, entry.sequence)),
      () => `${at()}: payload differs from what was produced`,
    );
    expect(entry.trx.node === NIL_NODE && Object.keys(entry.metadata).length === 0, at);
    if (i > 0 && entry.trx.id === entries[i - 1].trx.id) {
      expect(entry.trx.number === trxNumber, () => `${at()}: trx.number within its chunk`);
      expect(entry.timestamp === entries[i - 1].timestamp, () => `${at()}: timestamp in chunk`);
      continue;
    }
    if (i > 0) {
      closeChunk(i);
      expect(entry.timestamp >= entries[i - 1].timestamp, () => `${at()}: timestamp went back`);
    }
    expect(!trxIds.has(entry.trx.id), () => `${at()}: trx of an earlier chunk reused`);
    trxIds.add(entry.trx.id);
    expect(entry.trx.number === ++trxNumber, () => `${at()}: trx.number ${entry.trx.number}`);
    chunkStart = i;
  }
  if (entries.length > 0) closeChunk(entries.length);
  stats.entries += entries.length;
  const end = entries.length;
  assert.ok(end >= track.maxAcked, `${where(space, segment)}: acked ${track.maxAcked}, has ${end}`);
  assert.deepEqual([...acks.keys()], [], `${where(space, segment)}: acks that end no chunk`);
  track.end = end;

  const status = await store.getSegmentStatus(space, segment);
  const peeked = await store.peek(space, segment);
  if (end === 0) {
    assert.equal(status, undefined, `${where(space, segment)}: status of an empty segment`);
    assert.equal(peeked, undefined, `${where(space, segment)}: peek of an empty segment`);
    return;
  }
  assert.deepEqual(status, {
    space,
    segment,
    firstSequence: 1,
    firstTimestamp: entries[0].timestamp,
    lastSequence: end,
    lastTimestamp: entries[end - 1].timestamp,
  }, `${where(space, segment)}: getSegmentStatus vs data`);
  assert.deepEqual(peeked, entries[end - 1], `${where(space, segment)}: peek vs last entry`);
}

// ---------------------------------------------------------------------------------------------
// The children.

type KillAim = "anytime" | "after-intent" | "after-ack";

interface KillPlan {
  aim: KillAim;
  delayMs: number;
  /** After the aimed-at line, the kill waits this long (0..AIM_WINDOW_MS). */
  windowMs: number;
}

/** Runs one child and SIGKILLs it as `plan` says; returns its lines and whether it fell back. */
async function runChild(
  azurite: Azurite,
  storeId: string,
  seed: number,
  plan: KillPlan,
): Promise<{ lines: Line[]; fellBack: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-net",
      "--allow-sys",
      "--allow-ffi",
      childScript,
      PREFIX,
      storeId,
      String(seed),
      String(CHILD_MAX_PAUSE_MS),
    ],
    cwd: repoRoot,
    env: { [CONNECTION_ENV]: azurite.connectionString },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  let killSent = false;
  let fellBack = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const kill = () => {
    if (killSent || exited) return;
    killSent = true;
    child.kill("SIGKILL");
  };
  const lines: Line[] = [];
  let aimAt: ((line: Line) => boolean) | undefined;
  let firstLine: () => void = () => {};
  const started = new Promise<void>((resolve) => firstLine = resolve);
  const stdout = readLines(child.stdout, (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    firstLine();
    if (aimAt?.(line)) {
      aimAt = undefined;
      timers.push(setTimeout(kill, plan.windowMs));
    }
  });
  const stderr = new Response(child.stderr).text();
  const status = child.status.then((status) => {
    exited = true;
    firstLine();
    return status;
  });

  await started;
  await new Promise((resolve) => timers.push(setTimeout(resolve, plan.delayMs)));
  if (plan.aim === "anytime") {
    kill();
  } else {
    aimAt = (line) => line.type === (plan.aim === "after-intent" ? "intent" : "ack");
    timers.push(setTimeout(() => {
      fellBack = !killSent;
      kill();
    }, FALLBACK_MS));
  }
  const [{ code, signal }, rest, errors] = await Promise.all([status, stdout, stderr]);
  for (const timer of timers) clearTimeout(timer);
  if (signal !== "SIGKILL" || !killSent) {
    assert.fail(`child exited by itself (code ${code}, signal ${signal}): ${errors}`);
  }
  assert.equal(rest, "", `child left a partial line on stdout: ${JSON.stringify(rest)}`);
  return { lines, fellBack };
}

// ---------------------------------------------------------------------------------------------

/** What the killed child left, seen straight in the table before any recovery. */
interface Leftovers {
  /** Markers of chunks whose commit did not happen. */
  uncommittedMarkers: number;
  /** Heads marking a pending fanout whose marker is still there: the commit point passed. */
  pendingWithMarker: number;
  /** Heads marking a pending fanout whose marker is gone (fanout done, mark not cleared). */
  pendingWithoutMarker: number;
  /** Pending chunks missing from the space index: consumeSpace would miss them. */
  missingFromSpaceIndex: number;
}

async function leftovers(table: TableClient, tracks: Track[]): Promise<Leftovers> {
  const markers = await markerKeys(table);
  const heads = await pendingHeads(table);
  const result: Leftovers = {
    uncommittedMarkers: markers.length,
    pendingWithMarker: 0,
    pendingWithoutMarker: 0,
    missingFromSpaceIndex: 0,
  };
  for (const head of heads) {
    const trx = head.pending.trxId.replaceAll("-", "");
    if (markers.some((key) => key.endsWith(trx))) {
      result.pendingWithMarker++;
      result.uncommittedMarkers--;
    } else {
      result.pendingWithoutMarker++;
    }
    const track = tracks.find((track) =>
      segmentPartition(track.space, track.segment) === head.partitionKey
    );
    assert.ok(track !== undefined, `pending head of an unknown partition ${head.partitionKey}`);
    const { pending } = head;
    try {
      await table.getEntity(
        spacePartition(track.space),
        spaceRow(pending.timestamp, track.segment, pending.lastSequence),
      );
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      result.missingFromSpaceIndex++;
    }
  }
  return result;
}

Deno.test("azure: a producer SIGKILLed at random moments loses no acknowledged entry and leaves no partial chunk", async () => {
  const seed = testSeed();
  const random = new SeededRandom(seed);
  const azurite = await startAzurite();
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  const tracks = new Map<string, Track>();
  for (const space of KILL_SPACES) {
    for (const segment of KILL_SEGMENTS) {
      tracks.set(`${space}\u0000${segment}`, {
        space,
        segment,
        predicted: new Map(),
        end: 0,
        announcedEnd: 0,
        maxAcked: 0,
        acks: new Map(),
        lastIntent: undefined,
      });
    }
  }
  const summary = {
    seed,
    kills: 0,
    aims: { "anytime": 0, "after-intent": 0, "after-ack": 0, "fallback": 0 },
    killsMidProduce: 0,
    killsWithUncommittedMarker: 0,
    killsBetweenCommitAndFanout: 0,
    killsWithSpaceIndexBehind: 0,
    killsBetweenMarkerDeletionAndHeadClear: 0,
    leftovers: {
      uncommittedMarkers: 0,
      pendingWithMarker: 0,
      pendingWithoutMarker: 0,
      missingFromSpaceIndex: 0,
    } satisfies Leftovers,
    ackedEntries: 0,
    committedBeyondLastAck: 0,
    storedEntries: 0,
    storedChunks: 0,
    maxChunkSeen: 0,
    seconds: 0,
    auditSeconds: 0,
  };
  const startedAt = performance.now();

  /** Opens the store anew (newStore recovers), audits everything, and closes it. */
  async function audit(): Promise<number> {
    const auditStarted = performance.now();
    const factory = new AzureStoreFactory({
      connectionString: azurite.connectionString,
      allowInsecureHttp: true,
      tablePrefix: PREFIX,
      sweepIntervalMs: 0,
      // The child is dead: whatever it did not commit is abandoned now.
      abandonedMarkerMs: 0,
    });
    try {
      const store = await factory.newStore(storeId);
      assert.deepEqual(await markerKeys(table), [], "markers left after recovery");
      const stats: Stats = { entries: 0, chunks: 0, maxChunk: 0 };
      const all = [...tracks.values()];
      for (const space of KILL_SPACES) {
        const bySegment = await auditBothIndexes(store, space, KILL_SEGMENTS);
        for (const track of all.filter((track) => track.space === space)) {
          await auditSegment(store, track, bySegment.get(track.segment)!, stats);
        }
      }
      const withData = all.filter((track) => track.end > 0);
      assert.deepEqual(
        await collect(store.getSpaces()),
        KILL_SPACES.filter((space) => withData.some((track) => track.space === space)),
        "getSpaces vs data",
      );
      for (const space of KILL_SPACES) {
        assert.deepEqual(
          await collect(store.getSegments(space)),
          withData.filter((track) => track.space === space).map((track) => track.segment),
          `getSegments(${JSON.stringify(space)}) vs data`,
        );
      }
      assert.deepEqual(
        await unfinishedPendingHeads(table),
        [],
        "heads left owing a fanout after the audit",
      );
      summary.storedEntries = stats.entries;
      summary.storedChunks = stats.chunks;
      summary.maxChunkSeen = Math.max(summary.maxChunkSeen, stats.maxChunk);
      return store.limits.maxChunkRecords;
    } finally {
      await factory.close();
      summary.auditSeconds += (performance.now() - auditStarted) / 1000;
    }
  }

  let round = 0;
  try {
    const maxChunk = await audit();
    assert.equal(maxChunk, 90);
    for (round = 1; round <= ROUNDS; round++) {
      const plan: KillPlan = {
        aim: random.pick(["anytime", "after-intent", "after-ack"] as const),
        delayMs: random.int(KILL_DELAY_MS[0], KILL_DELAY_MS[1]),
        windowMs: random.int(0, AIM_WINDOW_MS),
      };
      const run = await runChild(azurite, storeId, random.u32(), plan);
      summary.kills++;
      summary.aims[run.fellBack ? "fallback" : plan.aim]++;
      summary.ackedEntries += absorb(run.lines, tracks, maxChunk);
      if (
        [...tracks.values()].some((track) =>
          track.lastIntent !== undefined &&
          track.maxAcked < track.lastIntent.from + track.lastIntent.count - 1
        )
      ) {
        summary.killsMidProduce++;
      }

      const left = await leftovers(table, [...tracks.values()]);
      for (const key of Object.keys(left) as (keyof Leftovers)[]) {
        summary.leftovers[key] += left[key];
      }
      if (left.uncommittedMarkers > 0) summary.killsWithUncommittedMarker++;
      if (left.pendingWithMarker > 0) summary.killsBetweenCommitAndFanout++;
      if (left.missingFromSpaceIndex > 0) summary.killsWithSpaceIndexBehind++;
      if (left.pendingWithoutMarker > 0) summary.killsBetweenMarkerDeletionAndHeadClear++;

      const ends = new Map([...tracks.values()].map((track) => [track, track.end]));
      await audit();
      for (const track of tracks.values()) {
        // Committed but not acknowledged when the child died: legal, and kept from now on.
        summary.committedBeyondLastAck += track.end - Math.max(track.maxAcked, ends.get(track)!);
      }
    }
    assert.equal(summary.storedEntries, summary.ackedEntries + summary.committedBeyondLastAck);
    summary.seconds = Math.round((performance.now() - startedAt) / 100) / 10;
    summary.auditSeconds = Math.round(summary.auditSeconds * 10) / 10;
    console.log(`azure kill test summary: ${JSON.stringify(summary)}`);
  } catch (error) {
    console.error(
      `azure kill test failed in round ${round} (seed ${seed}; replay the random choices with ` +
        `STREAMKIT_TEST_SEED=${seed})`,
    );
    throw error;
  } finally {
    await azurite.stop();
  }
});
