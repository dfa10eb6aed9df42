/**
 * The public shapes of `verifyStore`: its options, progress, problems and report.
 *
 * @module
 */

/**
 * One thing `verifyStore` found wrong: where, and what differs.
 *
 * @example
 * ```ts
 * import type { VerifyProblem } from "@streamkit/core";
 * function describe(problem: VerifyProblem): string {
 *   const { space, segment, sequence } = problem;
 *   const at = [space, segment, sequence].filter((part) => part !== undefined);
 *   return `${at.join(" / ")}: ${problem.problem}`;
 * }
 * ```
 */
export interface VerifyProblem {
  /**
   * The space of the problem: for a problem with a name `getSpaces` lists, that name as listed;
   * empty when `getSpaces` itself cannot be read.
   */
  space: string;
  /** The segment of the problem, when it concerns one. */
  segment?: string;
  /** The sequence of the (first) entry concerned, when the problem is about entries. */
  sequence?: number;
  /** What is wrong, in words: what one side holds and what the other. */
  problem: string;
}

/**
 * How far a `verifyStore` has come: spaces and segments checked, and the entries and
 * payload bytes read from the segment indexes (each stored entry counts once, though the space
 * index is read too).
 *
 * @example
 * ```ts
 * import type { VerifyProgress } from "@streamkit/core";
 * function show(progress: VerifyProgress): string {
 *   return `${progress.entries} entries, ${(progress.bytes / 1e6).toFixed(1)} MB`;
 * }
 * ```
 */
export interface VerifyProgress {
  /** Spaces checked. */
  spaces: number;
  /** Segments checked. */
  segments: number;
  /** Entries read from the segment indexes. */
  entries: number;
  /** Payload bytes of those entries. */
  bytes: number;
}

/**
 * The outcome of a `verifyStore`: whether the store is sound, each problem found, and
 * what was checked (the counts of its last {@linkcode VerifyProgress}).
 *
 * @example
 * ```ts
 * import type { VerifyReport } from "@streamkit/core";
 * function summary(report: VerifyReport): string {
 *   return report.sound
 *     ? `sound: ${report.entries} entries in ${report.segments} segments`
 *     : `${report.problems.length} problems`;
 * }
 * ```
 */
export interface VerifyReport extends VerifyProgress {
  /** True exactly when no problem was found. */
  sound: boolean;
  /**
   * The problems found, at most `maxProblems` of them; when there were more, one last problem
   * says how many were left out and describes the first of those.
   */
  problems: VerifyProblem[];
}

/**
 * Options of `verifyStore`.
 *
 * @example
 * ```ts
 * import type { VerifyOptions } from "@streamkit/core";
 * const options: VerifyOptions = {
 *   signal: AbortSignal.timeout(60_000),
 *   onProgress: (progress) => console.error(`${progress.entries} entries checked`),
 *   maxProblems: 100,
 * };
 * ```
 */
export interface VerifyOptions {
  /** Aborts the check: `verifyStore` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called every 1,000 entries read (from either index) and once at the end. */
  onProgress?: (progress: VerifyProgress) => void;
  /**
   * The most problems listed (default 1,000): beyond it problems are only counted, and one last
   * problem says how many were left out.
   */
  maxProblems?: number;
}
