// Entries, trxs and statuses as plain values and labels, for deep comparison and short messages.

import assert from "node:assert/strict";
import type { Entry, SegmentStatus, Trx } from "../types.ts";

/** The sequences of entries. */
export function sequencesOf(entries: readonly Entry[]): number[] {
  return entries.map((entry) => entry.sequence);
}

/** `segment#sequence` of entries, to compare orders. */
export function labelsOf(entries: readonly Entry[]): string[] {
  return entries.map((entry) => `${entry.segment}#${entry.sequence}`);
}

/** `"space"/"segment"#sequence` of entries, to compare orders across spaces. */
export function spaceLabelsOf(entries: readonly Entry[]): string[] {
  return entries.map((entry) =>
    `${JSON.stringify(entry.space)}/${JSON.stringify(entry.segment)}#${entry.sequence}`
  );
}

/** The hex of bytes. */
export function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** An entry as a plain, comparable object. */
export interface PlainEntry {
  space: string;
  segment: string;
  sequence: number;
  timestamp: number;
  trx: Trx;
  payload: string;
  metadata: Record<string, string>;
}

/** Normalizes an entry (class instances, Buffers) for deep comparison. */
export function plainEntry(entry: Entry): PlainEntry {
  assert.ok(entry.payload instanceof Uint8Array, "entry.payload must be a Uint8Array");
  return {
    space: entry.space,
    segment: entry.segment,
    sequence: entry.sequence,
    timestamp: entry.timestamp,
    trx: copyOfTrx(entry.trx),
    payload: hex(entry.payload),
    metadata: { ...entry.metadata },
  };
}

/** A plain copy of a trx, for deep comparison. */
export function copyOfTrx(trx: Trx): Trx {
  return { id: trx.id, node: trx.node, number: trx.number };
}

/** A plain copy of a status (or undefined), for deep comparison. */
export function copyOfStatus(status: SegmentStatus | undefined): SegmentStatus | undefined {
  if (status === undefined) return undefined;
  return {
    space: status.space,
    segment: status.segment,
    firstSequence: status.firstSequence,
    firstTimestamp: status.firstTimestamp,
    lastSequence: status.lastSequence,
    lastTimestamp: status.lastTimestamp,
  };
}

/** The status a segment with these entries (all of them, ascending) must report. */
export function expectedStatus(entries: readonly Entry[], upTo = entries.length): SegmentStatus {
  assert.ok(entries.length > 0 && upTo > 0, "expectedStatus needs entries");
  const first = entries[0];
  const last = entries[upTo - 1];
  return {
    space: first.space,
    segment: first.segment,
    firstSequence: first.sequence,
    firstTimestamp: first.timestamp,
    lastSequence: last.sequence,
    lastTimestamp: last.timestamp,
  };
}
