// Checkpoints carried by `export --checkpoints`, `copy --checkpoints` and `import`: read from the
// source before its data and written after it, so that no position carried points past the
// entries carried with it, even from a store written meanwhile.

import type { Checkpoint, Store } from "@streamkit/core";
import { equalBytes } from "@streamkit/core/driver";
import type { OptionSpec } from "./_args.ts";
import { formatCount, formatNumberOf } from "./_progress.ts";

/** The `--checkpoints` flag of `export` and `copy`, with help saying what it does to them. */
export function checkpointsOption(help: string): OptionSpec {
  return { type: "boolean", help };
}

/** What writing checkpoints did. */
export interface CheckpointsMove {
  /** Checkpoints written. */
  written: number;
  /** Checkpoints the destination held already with the same value, left as they were. */
  equal: number;
}

/**
 * Every checkpoint of `source`, read before its entries are: a position saved by then points at
 * entries committed by then, which a read of the entries after it finds.
 */
export async function readCheckpoints(source: Store, signal: AbortSignal): Promise<Checkpoint[]> {
  const checkpoints: Checkpoint[] = [];
  for await (const checkpoint of source.getCheckpoints({ signal })) checkpoints.push(checkpoint);
  return checkpoints;
}

/**
 * Writes each of `checkpoints` into `destination`. One the destination holds with the same
 * value is left alone, so a run again bumps no version; one it holds with another value is
 * overwritten (a checkpoint is a position that moves on; the source's is the one copied).
 * The destination gives each write its own next version and time.
 */
export async function writeCheckpoints(
  destination: Store,
  checkpoints: Iterable<Checkpoint>,
  signal: AbortSignal,
): Promise<CheckpointsMove> {
  const moved: CheckpointsMove = { written: 0, equal: 0 };
  for (const { name, value } of checkpoints) {
    const held = await destination.getCheckpoint(name, { signal });
    if (held !== undefined && equalBytes(held.value, value)) {
      moved.equal++;
      continue;
    }
    signal.throwIfAborted();
    await destination.putCheckpoint(name, value, { signal });
    moved.written++;
  }
  return moved;
}

/** What a summary line says of `moved`: "2 checkpoints written, 1 there already and equal". */
export function describeCheckpoints(moved: CheckpointsMove): string {
  return `${formatNumberOf(moved.written, "checkpoint")} written, ${
    formatCount(moved.equal)
  } there already and equal`;
}
