// The value of a segment's status snapshot (INV,SEGMENT_STATUSES,space,segment): the head.

import { type SegmentHead, StreamkitError } from "@streamkit/core";

const FORMAT_VERSION = 1;
const FIELDS = 5;
const HEAD_BYTES = 1 + FIELDS * 8;
const TWO_POW_32 = 4294967296;

function writeInt(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setUint32(at, value - high * TWO_POW_32, true);
  view.setInt32(at + 4, high, true);
}

function readInt(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * TWO_POW_32 + view.getUint32(at, true);
}

/**
 * Encodes a head as a version byte and five little-endian i64s: first sequence, first
 * timestamp, last sequence, last timestamp, trx number.
 */
export function encodeHead(head: SegmentHead): Uint8Array {
  const bytes = new Uint8Array(HEAD_BYTES);
  const view = new DataView(bytes.buffer);
  bytes[0] = FORMAT_VERSION;
  const { status } = head;
  const fields = [
    status.firstSequence,
    status.firstTimestamp,
    status.lastSequence,
    status.lastTimestamp,
    head.trxNumber,
  ];
  fields.forEach((value, i) => writeInt(view, 1 + i * 8, value));
  return bytes;
}

/** Decodes {@linkcode encodeHead}'s bytes; anything else is `CorruptData`. */
export function decodeHead(space: string, segment: string, bytes: Uint8Array): SegmentHead {
  const where = `status of segment ${JSON.stringify(segment)} in space ${JSON.stringify(space)}`;
  if (bytes.length !== HEAD_BYTES || bytes[0] !== FORMAT_VERSION) {
    throw new StreamkitError("CorruptData", `${where}: not a version ${FORMAT_VERSION} head`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [firstSequence, firstTimestamp, lastSequence, lastTimestamp, trxNumber] = Array.from(
    { length: FIELDS },
    (_, i) => readInt(view, 1 + i * 8),
  );
  if (
    ![firstSequence, firstTimestamp, lastSequence, lastTimestamp, trxNumber].every(
      Number.isSafeInteger,
    ) || firstSequence < 1 || lastSequence < firstSequence || trxNumber < 1
  ) {
    throw new StreamkitError("CorruptData", `${where}: fields out of range`);
  }
  return {
    status: { space, segment, firstSequence, firstTimestamp, lastSequence, lastTimestamp },
    trxNumber,
  };
}
