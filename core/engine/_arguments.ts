/**
 * Checks of the arguments of reads, follows and restores that go beyond a name: counts,
 * the `spaces` of `consume` and `follow`, poll intervals, restored entries.
 *
 * @module
 */

import { isUuid } from "../codec/_hex.ts";
import { compareKeys } from "../codec/lexkey.ts";
import { StreamkitError } from "../errors.ts";
import { validateName } from "../names.ts";
import { parseSpaceOffset } from "../offsets.ts";
import type { Entry } from "../types.ts";

/** A space being read, and the offset its read resumes strictly after. */
export interface SpaceCursor {
  space: string;
  offset: Uint8Array | undefined;
}

/** A count or bound that may be absent: a non-negative safe integer, 0 when absent. */
export function optionalCount(argument: string, value: unknown): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be a non-negative safe integer (0 for unbounded), got ${String(value)}`,
    );
  }
  return value as number;
}

const utf8 = new TextEncoder();

/** The `spaces` of `consume` and `follow`, checked, in UTF-8 byte order of their names. */
export function spaceCursors(spaces: unknown): SpaceCursor[] {
  if (typeof spaces !== "object" || spaces === null || Array.isArray(spaces)) {
    throw new StreamkitError(
      "InvalidArgument",
      "spaces: must be an object of space names to offsets (or undefined)",
    );
  }
  const cursors = Object.entries(spaces as Record<string, unknown>).map(([space, offset]) => {
    validateName("spaces (a space name)", space);
    if (offset !== undefined) parseSpaceOffset(space, offset as Uint8Array);
    return { space, offset: offset as Uint8Array | undefined, key: utf8.encode(space) };
  });
  if (cursors.length === 0) {
    throw new StreamkitError("InvalidArgument", "spaces: must name at least one space");
  }
  cursors.sort((a, b) => compareKeys(a.key, b.key));
  return cursors.map(({ space, offset }) => ({ space, offset }));
}

/** A follower's longest idle wait between polls when none is given. */
const DEFAULT_POLL_INTERVAL_MS = 1_000;

/** `pollIntervalMs` of a follow: a positive safe integer, or the default. */
export function pollInterval(value: unknown): number {
  if (value === undefined) return DEFAULT_POLL_INTERVAL_MS;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new StreamkitError(
      "InvalidArgument",
      `pollIntervalMs: must be a positive safe integer (milliseconds), got ${String(value)}`,
    );
  }
  return value as number;
}

/** What `restore` requires of each entry beyond what `produce` requires of a record. */
export function checkRestoredEntry(
  entry: Entry,
  index: number,
  space: string,
  segment: string,
): void {
  const invalid = (why: string) =>
    new StreamkitError("InvalidArgument", `entries[${index}].${why}`);
  if (entry.space !== space) {
    throw invalid(
      `space: must be ${JSON.stringify(space)} (the restore's), got ${JSON.stringify(entry.space)}`,
    );
  }
  if (entry.segment !== segment) {
    throw invalid(
      `segment: must be ${JSON.stringify(segment)} (the restore's), got ${
        JSON.stringify(entry.segment)
      }`,
    );
  }
  if (!Number.isSafeInteger(entry.timestamp) || entry.timestamp < 0) {
    throw invalid(
      `timestamp: must be a non-negative safe integer (Unix ms), got ${String(entry.timestamp)}`,
    );
  }
  const trx = entry.trx;
  if (typeof trx !== "object" || trx === null) {
    throw invalid("trx: must be an object { id, node, number }");
  }
  if (!isUuid(trx.id)) throw invalid(`trx.id: must be a UUID, got ${JSON.stringify(trx.id)}`);
  if (!isUuid(trx.node)) {
    throw invalid(`trx.node: must be a UUID, got ${JSON.stringify(trx.node)}`);
  }
  if (!Number.isSafeInteger(trx.number) || trx.number < 1) {
    throw invalid(`trx.number: must be a safe integer >= 1, got ${String(trx.number)}`);
  }
}
