// Crash safety of the LevelDB driver, tested by killing (tests/KILL_TESTS.md). Produces of up to
// 25,000 records span several 10,000-record chunks; aimed kills wait a random part of the time
// the child needs for what is ahead of the aimed-at line.

import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { runKillTest } from "./_kill_harness.ts";

const KILLS = Number(Deno.env.get("STREAMKIT_KILL_ROUNDS") || 24);
const FULL_AUDIT_EVERY = 12;
/** `after-intent` aims at produces at least this large: smaller ones are over too soon. */
const AIMED_PRODUCE_MIN_COUNT = 1_500;
/** Roughly how fast a child produces, for the time an aimed kill waits. */
const RECORDS_PER_MS = 150;

Deno.test("level: a producer SIGKILLed at random moments loses no acknowledged entry and leaves no partial chunk", async () => {
  const path = await Deno.makeTempDir({ prefix: "streamkit-level-kill-" });
  await runKillTest({
    name: "level",
    storeId: crypto.randomUUID(),
    child: {
      store: { driver: "level", path },
      permissions: ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi"],
    },
    openFactory: () => new LevelStoreFactory({ path }),
    // Mostly 1..3,000 records, sometimes several chunks' worth.
    produceSizes: { usual: [1, 3_000], large: { chance: 0.08, range: [10_001, 25_000] } },
    childMaxPauseMs: 1_200,
    kills: KILLS,
    fullAuditEvery: FULL_AUDIT_EVERY,
    killDelayMs: [150, 1_500],
    fallbackMs: 2_000,
    // After an intent the kill lands within the produce; after an ack that leaves its produce
    // unfinished, within the next chunk.
    aimedWait: (maxChunk) => (line, left, fraction) => {
      if (line.type === "intent") {
        return left >= AIMED_PRODUCE_MIN_COUNT ? fraction * left / RECORDS_PER_MS : undefined;
      }
      return left > 0 ? fraction * Math.min(left, maxChunk) / RECORDS_PER_MS : undefined;
    },
    failureNote: `store kept at ${path}`,
  });
  await Deno.remove(path, { recursive: true });
});
