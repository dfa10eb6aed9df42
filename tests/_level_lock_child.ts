// The child process of level_lock_test.ts: `<path> <storeId> <records>` opens the store, appends
// `records` entries and prints {"type":"ready","lastSequence":n}, then holds the store until its
// stdin closes (exit 0); a store that does not open prints {"type":"error",...} (exit 1).

import { StreamkitError } from "../core/mod.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { printLine } from "./_kill_protocol.ts";

/** The space the child writes to. */
export const LOCK_SPACE = "locks";
/** The segment the child writes to. */
export const LOCK_SEGMENT = "held";

/** The payload of `sequence` in LOCK_SEGMENT. */
export function lockPayload(sequence: number): Uint8Array {
  return new TextEncoder().encode(`lock test entry ${sequence}`);
}

async function main(): Promise<number> {
  const [path, storeId, recordsText] = Deno.args;
  const factory = new LevelStoreFactory({ path });
  try {
    let store;
    try {
      store = await factory.newStore(storeId);
    } catch (error) {
      if (!(error instanceof StreamkitError)) throw error;
      printLine({
        type: "error",
        kind: error.kind,
        transient: error.transient,
        message: error.message,
      });
      return 1;
    }
    const head = await store.getSegmentStatus(LOCK_SPACE, LOCK_SEGMENT);
    const from = (head?.lastSequence ?? 0) + 1;
    const records = Array.from({ length: Number(recordsText) }, (_, i) => ({
      sequence: from + i,
      payload: lockPayload(from + i),
    }));
    let lastSequence = from - 1;
    for await (
      const status of store.produce({ space: LOCK_SPACE, segment: LOCK_SEGMENT }, records)
    ) {
      lastSequence = status.lastSequence;
    }
    printLine({ type: "ready", lastSequence });
    // Hold the store until the parent closes our stdin.
    for await (const _ of Deno.stdin.readable) {
      // The parent sends nothing; only the end of the stream matters.
    }
    return 0;
  } finally {
    await factory.close();
  }
}

if (import.meta.main) Deno.exit(await main());
