// A segment's pipeline: the chunks a committer is committing or still owes a fanout, and the
// state of the two lanes of work behind their commits (see PROTOCOL.md I7, I8).

import type { Trx } from "@streamkit/core";
import type { Row } from "./_entities.ts";

/** How a chunk's commit ended, for the work behind it. */
export type Outcome =
  /** Its transaction applied: its fanout is owed. */
  | "committed"
  /** It certainly did not apply: nothing is owed, its marker goes. */
  | "failed"
  /** Unknown, or a simulated crash: the work behind it stops, as a crash would leave it. */
  | "stopped";

/** A pending marker a committer wrote. */
export interface OwnMarker {
  rowKey: string;
}

/** A chunk a committer is committing or still owes a fanout. */
export interface OwedChunk {
  space: string;
  segment: string;
  trx: Trx;
  firstSequence: number;
  lastSequence: number;
  /** The timestamp in its marker's key: the lowest it may take, known before it is stamped. */
  markerAt: number;
  /** Its timestamp once stamped (until then, `markerAt`). */
  timestamp: number;
  spaceRows: Row[];
  /** The segment's first chunk: its fanout writes the inventory. */
  createsSegment: boolean;
  /** Its marker in the table: written before its commit, or by the marker lane. */
  marker: OwnMarker | undefined;
  /** Set once the commit applied. */
  committed: boolean;
  outcome: Promise<Outcome>;
  decide: (outcome: Outcome) => void;
  /** Resolves once the work behind it ended, fanned out or not. */
  done: Promise<void>;
  finish: () => void;
}

/** A chunk about to commit, before its outcome is known. */
export type NewChunk = Omit<
  OwedChunk,
  "marker" | "committed" | "outcome" | "decide" | "done" | "finish"
>;

/** An {@linkcode OwedChunk} of `chunk`, with no marker yet and its outcome undecided. */
export function owedChunk(chunk: NewChunk): OwedChunk {
  let decide!: (outcome: Outcome) => void;
  let finish!: () => void;
  const outcome = new Promise<Outcome>((resolve) => decide = resolve);
  const done = new Promise<void>((resolve) => finish = resolve);
  return { ...chunk, marker: undefined, committed: false, outcome, decide, done, finish };
}

/** One segment's chunks in a committer, and the work behind them. */
export interface SegmentPipeline {
  space: string;
  segment: string;
  partition: string;
  /** Chunks committing or owed a fanout, in commit order. */
  chunks: OwedChunk[];
  /** The rows lane: the fanouts, one after another. */
  work: Promise<void>;
  /** Markers of chunks no longer owed, for the marker lane to delete. */
  retired: string[];
  /** The marker lane's run, while one is under way. */
  markerWork: Promise<void> | undefined;
  /** Set when that work failed: the chunks left are owed until a commit or a sweep repairs them. */
  failure: { error: unknown } | undefined;
  /** A repair under way. */
  repairing?: Promise<void>;
}

/** An empty pipeline of the segment. */
export function newPipeline(space: string, segment: string, partition: string): SegmentPipeline {
  return {
    space,
    segment,
    partition,
    chunks: [],
    work: Promise.resolve(),
    retired: [],
    markerWork: undefined,
    failure: undefined,
  };
}

/** Whether the pipeline has nothing left to do (its committer may forget it). */
export function isIdle(pipeline: SegmentPipeline): boolean {
  return pipeline.chunks.length === 0 && pipeline.retired.length === 0 && !pipeline.failure &&
    !pipeline.markerWork;
}

/** Takes `owed` out of the chunks its pipeline still owes. */
export function forget(pipeline: SegmentPipeline, owed: OwedChunk): void {
  const at = pipeline.chunks.indexOf(owed);
  if (at >= 0) pipeline.chunks.splice(at, 1);
}

/** Whether a chunk the pipeline still owes has a marker in the table (a cover, I3). */
export function hasMarker(pipeline: SegmentPipeline): boolean {
  return pipeline.chunks.some((chunk) => chunk.marker !== undefined);
}
