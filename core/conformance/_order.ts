// The orders of consumeSpace, consume and follow, computed independently of lexkey.

import assert from "node:assert/strict";
import { compareKeys } from "../codec/lexkey.ts";
import type { Entry } from "../types.ts";
import { spaceLabelsOf } from "./_comparable.ts";
import { utf8 } from "./_fixtures.ts";

/** Names sorted by their UTF-8 bytes (not by JS string order). */
export function byteSort(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, bytes: utf8(name) }))
    .sort((a, b) => compareKeys(a.bytes, b.bytes))
    .map((item) => item.name);
}

/** The space order: timestamp, segment UTF-8 bytes, sequence. */
export function compareSpaceOrder(a: Entry, b: Entry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const bySegment = compareKeys(utf8(a.segment), utf8(b.segment));
  if (bySegment !== 0) return bySegment;
  return a.sequence - b.sequence;
}

/** The order of `consume` and `follow`: timestamp, space UTF-8 bytes, segment bytes, sequence. */
export function compareConsumeOrder(a: Entry, b: Entry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const bySpace = compareKeys(utf8(a.space), utf8(b.space));
  if (bySpace !== 0) return bySpace;
  return compareSpaceOrder(a, b);
}

/** Asserts every entry sorts strictly after the one before it in the order of `consume`. */
export function assertConsumeOrder(entries: readonly Entry[], what: string): void {
  for (let i = 1; i < entries.length; i++) {
    const [before, after] = spaceLabelsOf([entries[i - 1], entries[i]]);
    assert.ok(
      compareConsumeOrder(entries[i - 1], entries[i]) < 0,
      `${what}: ${after} (entry ${i}) does not sort after ${before}`,
    );
  }
}
