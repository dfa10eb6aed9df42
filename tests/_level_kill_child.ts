// The child process of level_kill_test.ts: produces into a LevelDB store until it is killed.
//
// Run as `deno run --allow-read --allow-write --allow-env --allow-ffi tests/_level_kill_child.ts
// <path> <storeId> <seed> [maxPauseMs]`. It produces forever to every segment of the kill
// spaces (see _kill_protocol.ts, which also describes its output), with random produce sizes
// (some above the chunk limit, so the engine splits them) and pauses of 0..maxPauseMs.

import { SeededRandom } from "../core/_test_random.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { produceToEverySegment } from "./_kill_protocol.ts";

/** A produce's size: mostly 1..3,000 records, sometimes 10,001..25,000 (several chunks). */
function produceSize(random: SeededRandom): number {
  return random.chance(0.08) ? random.int(10_001, 25_000) : random.int(1, 3_000);
}

async function main(): Promise<void> {
  const [path, storeId, seedText, maxPauseText = "0"] = Deno.args;
  const seed = Number(seedText) >>> 0;
  const maxPauseMs = Number(maxPauseText);
  const factory = new LevelStoreFactory({ path });
  const store = await factory.newStore(storeId);
  await produceToEverySegment(store, new SeededRandom(seed), produceSize, maxPauseMs);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error("level kill child failed:", error);
    Deno.exit(3);
  }
}
