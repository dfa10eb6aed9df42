// The value of a segment's status snapshot (INV,SEGMENT_STATUSES,space,segment): the head.

import { StreamkitError } from "@streamkit/core";
import { readI64LE, type SegmentHead, writeI64LE } from "@streamkit/core/driver";

const FORMAT_VERSION = 1;
const FIELDS = 5;
const HEAD_BYTES = 1 + FIELDS * 8;

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
  fields.forEach((value, i) => writeI64LE(view, 1 + i * 8, value));
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
    (_, i) => readI64LE(view, 1 + i * 8),
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
