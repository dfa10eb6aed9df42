// Crash safety of the Azure driver, by SIGKILL (the test itself is _kill_harness.ts): chunks
// pipeline (drivers/azure/PROTOCOL.md I7) and kills land inside commits. After every kill the
// table as the child left it is counted (markers, heads owing a fanout, chunks missing from the
// space index); recovery must leave no marker, the audit no head owing a fanout.
// STREAMKIT_AZURE_KILL_ROUNDS sets the number of kills.

import assert from "node:assert/strict";
import type { TableClient } from "@azure/data-tables";
import { segmentPartition, startAzurite } from "../drivers/azure/_test_support.ts";
import {
  directTable,
  inSpaceIndex,
  markerKeys,
  pendingHeads,
  unfinishedPendingHeads,
} from "./_azure_inspect.ts";
import { azuriteFactory } from "./_azure_test_store.ts";
import { runKillTest, type StorageAudit } from "./_kill_harness.ts";
import { AZURE_CONNECTION_ENV, KILL_SEGMENTS, KILL_SPACES } from "./_kill_protocol.ts";

const KILLS = Number(Deno.env.get("STREAMKIT_AZURE_KILL_ROUNDS") || 12);
/** An aimed kill waits at most this long after the line it aims at: about one commit. */
const AIM_WINDOW_MS = 40;
const PREFIX = "kill";

/** What a killed child left, seen straight in the table before any recovery. */
interface Leftovers {
  /** Markers of chunks whose commit did not happen. */
  uncommittedMarkers: number;
  /** Heads marking a pending fanout whose marker is still there: the commit point passed. */
  pendingWithMarker: number;
  /** Heads marking a pending fanout whose marker is gone (fanout done, mark not cleared). */
  pendingWithoutMarker: number;
  /** Pending chunks missing from the space index: consumeSpace would miss them. */
  missingFromSpaceIndex: number;
  /** Heads owing the fanout of several chunks: a later chunk committed during an earlier fanout. */
  pendingOverSeveralChunks: number;
}

/** The segments of the kill spaces by their partition key. */
const segmentsByPartition = new Map(
  KILL_SPACES.flatMap((space) =>
    KILL_SEGMENTS.map((segment) => [segmentPartition(space, segment), { space, segment }])
  ),
);

async function leftovers(table: TableClient): Promise<Leftovers> {
  const markers = await markerKeys(table);
  const heads = await pendingHeads(table);
  const result: Leftovers = {
    uncommittedMarkers: markers.length,
    pendingWithMarker: 0,
    pendingWithoutMarker: 0,
    missingFromSpaceIndex: 0,
    pendingOverSeveralChunks: 0,
  };
  for (const head of heads) {
    // A chunk holds at most 90 entries: a longer range spans chunks.
    if (head.pending.lastSequence - head.pending.firstSequence + 1 > 90) {
      result.pendingOverSeveralChunks++;
    }
    const trx = head.pending.trxId.replaceAll("-", "");
    if (markers.some((key) => key.endsWith(trx))) {
      result.pendingWithMarker++;
      result.uncommittedMarkers--;
    } else {
      result.pendingWithoutMarker++;
    }
    const owner = segmentsByPartition.get(head.partitionKey);
    assert.ok(owner !== undefined, `pending head of an unknown partition ${head.partitionKey}`);
    const { timestamp, lastSequence: sequence } = head.pending;
    if (!await inSpaceIndex(table, { ...owner, timestamp, sequence })) {
      result.missingFromSpaceIndex++;
    }
  }
  return result;
}

/** The checks of the store's table: leftovers after a kill, none after recovery. */
function tableAudit(table: TableClient): StorageAudit {
  const counts = {
    killsWithUncommittedMarker: 0,
    killsBetweenCommitAndFanout: 0,
    killsWithSpaceIndexBehind: 0,
    killsBetweenMarkerDeletionAndHeadClear: 0,
    killsWithSeveralChunksOwed: 0,
    leftovers: {
      uncommittedMarkers: 0,
      pendingWithMarker: 0,
      pendingWithoutMarker: 0,
      missingFromSpaceIndex: 0,
      pendingOverSeveralChunks: 0,
    } satisfies Leftovers,
  };
  return {
    counts,
    async afterKill() {
      const left = await leftovers(table);
      for (const key of Object.keys(left) as (keyof Leftovers)[]) {
        counts.leftovers[key] += left[key];
      }
      if (left.uncommittedMarkers > 0) counts.killsWithUncommittedMarker++;
      if (left.pendingWithMarker > 0) counts.killsBetweenCommitAndFanout++;
      if (left.missingFromSpaceIndex > 0) counts.killsWithSpaceIndexBehind++;
      if (left.pendingWithoutMarker > 0) counts.killsBetweenMarkerDeletionAndHeadClear++;
      if (left.pendingOverSeveralChunks > 0) counts.killsWithSeveralChunksOwed++;
    },
    async afterOpen() {
      assert.deepEqual(await markerKeys(table), [], "markers left after recovery");
    },
    async afterAudit() {
      assert.deepEqual(
        await unfinishedPendingHeads(table),
        [],
        "heads left owing a fanout after the audit",
      );
    },
  };
}

Deno.test("azure: a producer SIGKILLed at random moments loses no acknowledged entry and leaves no partial chunk", async () => {
  const azurite = await startAzurite();
  try {
    const { connectionString } = azurite;
    const storeId = crypto.randomUUID();
    await runKillTest({
      name: "azure",
      storeId,
      child: {
        store: { driver: "azure", tablePrefix: PREFIX },
        permissions: ["--allow-read", "--allow-env", "--allow-net", "--allow-sys", "--allow-ffi"],
        env: { [AZURE_CONNECTION_ENV]: connectionString },
      },
      // The child is dead: whatever it did not commit is abandoned now.
      openFactory: () => azuriteFactory(azurite, PREFIX, { abandonedMarkerMs: 0 }),
      chunkRecords: 90,
      produceSizes: { usual: [1, 720] },
      childMaxPauseMs: 250,
      kills: KILLS,
      fullAuditEvery: 1,
      killDelayMs: [100, 1_200],
      fallbackMs: 1_500,
      // Any intent or ack: a commit takes about AIM_WINDOW_MS, whatever its size.
      aimedWait: () => (_line, _left, fraction) => fraction * AIM_WINDOW_MS,
      storage: tableAudit(directTable(connectionString, PREFIX, storeId)),
    });
  } finally {
    await azurite.stop();
  }
});
