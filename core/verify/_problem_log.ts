/**
 * The problems a verify found: the first so many listed, the rest only counted.
 *
 * @module
 */

import { StreamkitError } from "../errors.ts";
import type { VerifyProblem } from "./types.ts";

/** The problems found: the first `max` listed, the rest counted. */
export class ProblemLog {
  readonly max: number;
  readonly listed: VerifyProblem[] = [];
  #omitted = 0;
  #firstOmitted: VerifyProblem | undefined;

  constructor(max: number) {
    this.max = max;
  }

  get count(): number {
    return this.listed.length + this.#omitted;
  }

  /** Whether a further problem would only be counted. */
  get full(): boolean {
    return this.listed.length >= this.max;
  }

  add(space: string, segment: string | undefined, sequence: number | undefined, problem: string) {
    // Absent rather than undefined fields: reports compare and print cleanly.
    const found: VerifyProblem = {
      space,
      ...(segment === undefined ? {} : { segment }),
      ...(sequence === undefined ? {} : { sequence }),
      problem,
    };
    if (this.full) {
      this.#omitted++;
      this.#firstOmitted ??= found;
    } else {
      this.listed.push(found);
    }
  }

  /** Takes over the problems of `other`, a log of one segment's check, after this log's own. */
  absorb(other: ProblemLog): void {
    for (const { space, segment, sequence, problem } of other.listed) {
      this.add(space, segment, sequence, problem);
    }
    if (other.#firstOmitted !== undefined) {
      this.#omitted += other.#omitted;
      this.#firstOmitted ??= other.#firstOmitted;
    }
  }

  /** The problems to report: those listed and, when some were left out, one saying so. */
  problems(): VerifyProblem[] {
    const first = this.#firstOmitted;
    if (first === undefined) return this.listed;
    const more = this.#omitted === 1 ? "1 more problem" : `${this.#omitted} more problems`;
    const summary = `${more} not listed (maxProblems ${this.max}); the first of them: ` +
      first.problem;
    return [...this.listed, { ...first, problem: summary }];
  }
}

/** The message of a `CorruptData` error, which is a finding; any other error is rethrown. */
export function corruption(error: unknown): string {
  if (error instanceof StreamkitError && error.kind === "CorruptData") return error.message;
  throw error;
}
