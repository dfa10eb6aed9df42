/**
 * Checking a store through the public {@linkcode Store} API alone, so one check serves every
 * driver. How it reads a store in passes with bounded memory, and what it cannot see:
 * `verify/README.md`.
 *
 * @module
 */

import type { Store } from "./types.ts";
import { SEGMENTS_PER_PASS, verifyStoreInPasses } from "./verify/_passes.ts";
import type { VerifyOptions, VerifyReport } from "./verify/types.ts";

export type { VerifyOptions, VerifyProblem, VerifyProgress, VerifyReport } from "./verify/types.ts";

/**
 * Checks a whole store through its public API, on any driver: every segment is contiguous from
 * its first sequence, its timestamps never decrease, its trx numbers never decrease, the entries
 * of one trx are contiguous and share its number, node and timestamp, and no trx number is used
 * by two trx ids; its status and `peek` match its first and last entries; each space index holds
 * exactly the entries of its segment indexes, with the same bytes, in (timestamp, segment,
 * sequence) order; and `getSpaces`/`getSegments` list exactly the spaces and segments holding
 * entries. Memory stays bounded however large the store (how: `verify/README.md`).
 *
 * Stored data that fails to decode (`CorruptData`) is reported as a problem; any other error
 * (a closed store, an unreachable backend, an abort) rejects. Check a quiet store: entries
 * written during the check show up as differences. A space `getSpaces` does not list, or a
 * segment neither `getSegments` nor its space index holds, cannot be found.
 *
 * @example
 * ```ts
 * import { type Store, verifyStore } from "@streamkit/core";
 * async function check(store: Store): Promise<boolean> {
 *   const report = await verifyStore(store, {
 *     onProgress: ({ entries }) => console.error(`${entries} entries checked`),
 *   });
 *   for (const { space, segment, sequence, problem } of report.problems) {
 *     console.log(space, segment ?? "", sequence ?? "", problem);
 *   }
 *   return report.sound;
 * }
 * ```
 */
export function verifyStore(store: Store, options: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyStoreInPasses(store, options, SEGMENTS_PER_PASS);
}
