/**
 * The transaction record: one committed chunk of a segment, as drivers that need a
 * write-ahead record store it (see `encodeTransaction` / `decodeTransaction`).
 *
 * @module
 */

import type { Entry, Trx } from "../types.ts";

/**
 * One chunk of entries committed to a segment together: the entries share `trx` and
 * `timestamp`, and run from `firstSequence` to `lastSequence`.
 *
 * @example
 * ```ts
 * import type { TransactionRecord } from "@streamkit/core/driver";
 * const trx = {
 *   id: "550e8400-e29b-41d4-a716-446655440000",
 *   node: "00000000-0000-0000-0000-000000000000",
 *   number: 1,
 * };
 * const timestamp = 1700000000000;
 * const txn: TransactionRecord = {
 *   trx,
 *   space: "orders",
 *   segment: "order-1",
 *   firstSequence: 1,
 *   lastSequence: 1,
 *   timestamp,
 *   entries: [{
 *     space: "orders",
 *     segment: "order-1",
 *     sequence: 1,
 *     timestamp,
 *     trx,
 *     payload: new TextEncoder().encode("placed"),
 *     metadata: {},
 *   }],
 * };
 * ```
 */
export interface TransactionRecord {
  /** The transaction every entry of the chunk carries. */
  trx: Trx;
  /** The space of the segment. */
  space: string;
  /** The segment the chunk is committed to. */
  segment: string;
  /** The sequence of the chunk's first entry. */
  firstSequence: number;
  /** The sequence of the chunk's last entry. */
  lastSequence: number;
  /** The timestamp every entry of the chunk carries, in Unix milliseconds. */
  timestamp: number;
  /** The chunk's entries, in ascending sequence. */
  entries: Entry[];
}
