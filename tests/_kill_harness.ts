// The kill test of a persistent driver: children SIGKILLed again and again, the store reopened
// and audited after each kill (tests/KILL_TESTS.md).

import assert from "node:assert/strict";
import { SeededRandom, testSeed } from "../core/_test_random.ts";
import type { StoreFactory } from "../core/mod.ts";
import { KillAudit } from "./_kill_audit.ts";
import { type ChildStore, maxProduce, type ProduceSizes } from "./_kill_protocol.ts";
import { type AimedWait, type KillPlan, runChild } from "./_kill_runner.ts";
import { absorb, newTracks } from "./_kill_tracks.ts";

/** Checks of a driver's raw storage, bypassing the driver, around each audit. */
export interface StorageAudit {
  /** After a kill, before the store is reopened: looks at what the child left. */
  afterKill(): Promise<void>;
  /** After the store is reopened (its recovery has run), before it is read. */
  afterOpen(): Promise<void>;
  /** After the audit has read the whole store. */
  afterAudit(): Promise<void>;
  /** What the checks counted over all kills, for the summary. */
  readonly counts: Record<string, unknown>;
}

/** A driver under the kill test, and how hard to test it. */
export interface KillDriver {
  /** Names the driver in messages and the summary line. */
  name: string;
  storeId: string;
  /** The store the children open, and the `deno run` permissions they need for it. */
  child: { store: ChildStore; permissions: readonly string[]; env?: Record<string, string> };
  /** A factory on the children's store, for the audits. */
  openFactory(): StoreFactory;
  /** The `maxChunkRecords` the driver must report, when it is known in advance. */
  chunkRecords?: number;
  produceSizes: ProduceSizes;
  /** The child pauses up to this long between two produces of one segment. */
  childMaxPauseMs: number;
  kills: number;
  /** Every this many kills, and after the last, the audit reads the whole store again. */
  fullAuditEvery: number;
  /** The kill comes this long after the child's first line (or starts aiming then). */
  killDelayMs: readonly [number, number];
  /** An aimed kill that finds nothing to aim at kills anyway this long after it started. */
  fallbackMs: number;
  /** Which lines the driver's aimed kills aim at and how long they wait; given maxChunkRecords. */
  aimedWait(maxChunk: number): AimedWait;
  storage?: StorageAudit;
  /** Said when the test fails, e.g. where the store was kept. */
  failureNote?: string;
}

/** Runs `driver.kills` children, killing and auditing each, and prints what it saw. */
export async function runKillTest(driver: KillDriver): Promise<void> {
  const seed = testSeed();
  const random = new SeededRandom(seed);
  const tracks = newTracks();
  const killAudit = new KillAudit([...tracks.values()]);
  const summary = {
    seed,
    kills: 0,
    aims: { "anytime": 0, "after-intent": 0, "after-ack": 0, "fallback": 0 },
    killsMidProduce: 0,
    killsMidMultiChunkProduce: 0,
    producesCutBetweenChunks: 0,
    ackedEntries: 0,
    committedBeyondLastAck: 0,
    storedEntries: 0,
    chunksStored: 0,
    maxChunkSeen: 0,
    chunkChecks: 0,
    entriesRead: 0,
    fullAudits: 0,
    storage: driver.storage?.counts,
    seconds: 0,
    auditSeconds: 0,
  };
  const startedAt = performance.now();

  /** Opens the store in this process, audits it and closes it again; returns maxChunkRecords. */
  async function audit(full: boolean): Promise<number> {
    const auditStarted = performance.now();
    const factory = driver.openFactory();
    try {
      const store = await factory.newStore(driver.storeId);
      await driver.storage?.afterOpen();
      const stats = await killAudit.run(store, full);
      await driver.storage?.afterAudit();
      if (full) summary.fullAudits++;
      summary.entriesRead += stats.entries;
      summary.chunkChecks += stats.chunks;
      summary.maxChunkSeen = Math.max(summary.maxChunkSeen, stats.maxChunk);
      return store.limits.maxChunkRecords;
    } finally {
      await factory.close();
      summary.auditSeconds += (performance.now() - auditStarted) / 1000;
    }
  }

  let round = 0;
  try {
    const maxChunk = await audit(true);
    if (driver.chunkRecords !== undefined) assert.equal(maxChunk, driver.chunkRecords);
    // Payloads are small: the chunk byte cap never cuts before the record cap does, and the
    // largest produces are cut into several chunks.
    assert.ok(
      maxChunk > 0 && maxChunk < maxProduce(driver.produceSizes),
      `maxChunkRecords ${maxChunk}`,
    );
    const aimedWait = driver.aimedWait(maxChunk);
    for (round = 1; round <= driver.kills; round++) {
      const plan: KillPlan = {
        aim: random.pick(["anytime", "after-intent", "after-ack"] as const),
        delayMs: random.int(driver.killDelayMs[0], driver.killDelayMs[1]),
        fraction: random.float(),
      };
      const run = await runChild(
        {
          orders: {
            store: driver.child.store,
            storeId: driver.storeId,
            seed: random.u32(),
            produceSizes: driver.produceSizes,
            maxPauseMs: driver.childMaxPauseMs,
          },
          permissions: driver.child.permissions,
          env: driver.child.env,
        },
        plan,
        aimedWait,
        driver.fallbackMs,
      );
      summary.kills++;
      summary.aims[run.fellBack ? "fallback" : plan.aim]++;
      summary.ackedEntries += absorb(run.lines, tracks, maxChunk);
      const inFlight = [...tracks.values()].filter((track) =>
        track.lastIntent !== undefined &&
        track.maxAcked < track.lastIntent.from + track.lastIntent.count - 1
      );
      if (inFlight.length > 0) summary.killsMidProduce++;
      if (inFlight.some((track) => track.lastIntent!.count > maxChunk)) {
        summary.killsMidMultiChunkProduce++;
      }

      await driver.storage?.afterKill();
      await audit(round % driver.fullAuditEvery === 0 || round === driver.kills);
      for (const track of tracks.values()) {
        const end = track.audited.end;
        // Committed but not acknowledged when the child died: legal, and kept from now on.
        summary.committedBeyondLastAck += end - Math.max(track.maxAcked, track.roundStart);
        if (track.lastIntent === undefined) continue;
        const { from, count } = track.lastIntent;
        if (end >= from && end < from + count - 1) summary.producesCutBetweenChunks++;
      }
    }
    for (const track of tracks.values()) {
      summary.storedEntries += track.audited.end;
      summary.chunksStored += track.audited.trxNumber;
    }
    assert.equal(summary.storedEntries, summary.ackedEntries + summary.committedBeyondLastAck);
    summary.seconds = Math.round((performance.now() - startedAt) / 100) / 10;
    summary.auditSeconds = Math.round(summary.auditSeconds * 10) / 10;
    console.log(`${driver.name} kill test summary: ${JSON.stringify(summary)}`);
  } catch (error) {
    console.error(
      `${driver.name} kill test failed in round ${round} (seed ${seed}; replay the random ` +
        `choices with STREAMKIT_TEST_SEED=${seed})${
          driver.failureNote ? `; ${driver.failureNote}` : ""
        }`,
    );
    throw error;
  }
}
