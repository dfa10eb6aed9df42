// Sorted arrays keyed by bytes, read by re-seeking: safe while writers insert mid-iteration.

import { compareKeys } from "@streamkit/core";

/** A row of a sorted index. */
export interface Row<T> {
  key: Uint8Array;
  value: T;
}

/** The index of the first row whose key is strictly above `key`. */
export function firstAbove<T>(rows: readonly Row<T>[], key: Uint8Array): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareKeys(rows[middle].key, key) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Inserts `row` in key order; appends cheaply when it sorts last, as new entries mostly do. */
export function insertRow<T>(rows: Row<T>[], row: Row<T>): void {
  const last = rows[rows.length - 1];
  if (last === undefined || compareKeys(last.key, row.key) < 0) {
    rows.push(row);
    return;
  }
  rows.splice(firstAbove(rows, row.key), 0, row);
}

/**
 * Yields the rows strictly between `gt` and `lt`. Each step seeks past the last yielded key, so
 * rows inserted meanwhile are neither skipped before nor repeated after the cursor.
 */
export function* rowsBetween<T>(
  rows: readonly Row<T>[],
  gt: Uint8Array,
  lt: Uint8Array | undefined,
): Generator<Row<T>> {
  let after = gt;
  while (true) {
    const row = rows[firstAbove(rows, after)];
    if (row === undefined || (lt !== undefined && compareKeys(row.key, lt) >= 0)) return;
    yield row;
    after = row.key;
  }
}
