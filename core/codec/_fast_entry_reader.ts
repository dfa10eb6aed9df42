/**
 * The fast entry decoder: plain byte arithmetic, and a {@linkcode DecodeCache} that hands back
 * the same string for repeated trx ids, nodes, spaces and segments. Whatever it does not accept
 * it leaves to the checked reader (`_byte_reader.ts`), which produces the exact error.
 *
 * @module
 */

import { TWO_POW_32 } from "./bytes.ts";
import type { Entry } from "../types.ts";
import { ENTRY_FIXED_BYTES } from "./_codec_layout.ts";
import { formatUuid } from "./_hex.ts";
import { utf8At } from "./_text.ts";

/** Longer strings are not remembered (names are at most 200 bytes): the cache stays small. */
const MAX_REMEMBERED_BYTES = 256;

/** The last string decoded for a field, and its bytes. */
class DecodedText {
  bytes = new Uint8Array(64);
  length = -1;
  text = "";

  matches(b: Uint8Array, at: number, length: number): boolean {
    if (length !== this.length) return false;
    const cached = this.bytes;
    for (let i = 0; i < length; i++) {
      if (b[at + i] !== cached[i]) return false;
    }
    return true;
  }

  remember(b: Uint8Array, at: number, length: number, text: string): void {
    if (length > MAX_REMEMBERED_BYTES) return;
    if (this.bytes.length < length) this.bytes = new Uint8Array(length);
    this.bytes.set(b.subarray(at, at + length));
    this.length = length;
    this.text = text;
  }
}

/** What a run of decodings remembers: the last trx id, trx node, space and segment. */
export class DecodeCache {
  readonly trxId = new DecodedText();
  readonly trxNode = new DecodedText();
  readonly space = new DecodedText();
  readonly segment = new DecodedText();
}

function u32At(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

function uuidAt(b: Uint8Array, at: number, last: DecodedText | undefined): string {
  if (last === undefined) return formatUuid(b, at);
  if (last.matches(b, at, 16)) return last.text;
  const text = formatUuid(b, at);
  last.remember(b, at, 16, text);
  return text;
}

function nameAt(
  b: Uint8Array,
  at: number,
  length: number,
  last: DecodedText | undefined,
): string | undefined {
  if (last === undefined) return utf8At(b, at, length);
  if (last.matches(b, at, length)) return last.text;
  const text = utf8At(b, at, length);
  if (text !== undefined) last.remember(b, at, length, text);
  return text;
}

/** The entry in `b`, or `undefined` when anything is off (the checked path then reports it). */
export function readEntryFast(b: Uint8Array, cache: DecodeCache | undefined): Entry | undefined {
  const end = b.length;
  if (end < ENTRY_FIXED_BYTES) return undefined;
  const sequenceHigh = u32At(b, 4);
  const numberHigh = u32At(b, 52);
  if (sequenceHigh > 0x1fffff || numberHigh > 0x1fffff) return undefined;
  const sequence = sequenceHigh * TWO_POW_32 + u32At(b, 0);
  const timestamp = (b[12] | (b[13] << 8) | (b[14] << 16) | (b[15] << 24)) * TWO_POW_32 +
    u32At(b, 8);
  if (!Number.isSafeInteger(timestamp)) return undefined;
  const number = numberHigh * TWO_POW_32 + u32At(b, 48);
  const payloadLength = u32At(b, 56);
  let at = 60;
  // What must follow the payload: metadata count, space and segment lengths.
  if (payloadLength > end - at - 12) return undefined;
  const payload = new Uint8Array(b.buffer, b.byteOffset + at, payloadLength);
  at += payloadLength;
  const count = u32At(b, at);
  at += 4;
  const metadata: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    if (end - at < 4) return undefined;
    const keyLength = u32At(b, at);
    at += 4;
    if (keyLength > end - at - 4) return undefined;
    const key = utf8At(b, at, keyLength);
    at += keyLength;
    const valueLength = u32At(b, at);
    at += 4;
    if (valueLength > end - at) return undefined;
    const value = utf8At(b, at, valueLength);
    at += valueLength;
    if (key === undefined || value === undefined || key === "__proto__") return undefined;
    if (Object.hasOwn(metadata, key)) return undefined;
    metadata[key] = value;
  }
  if (end - at < 8) return undefined;
  const spaceLength = u32At(b, at);
  at += 4;
  if (spaceLength > end - at - 4) return undefined;
  const space = nameAt(b, at, spaceLength, cache?.space);
  at += spaceLength;
  const segmentLength = u32At(b, at);
  at += 4;
  if (segmentLength !== end - at) return undefined;
  const segment = nameAt(b, at, segmentLength, cache?.segment);
  if (space === undefined || segment === undefined) return undefined;
  const id = uuidAt(b, 16, cache?.trxId);
  const node = uuidAt(b, 32, cache?.trxNode);
  return { space, segment, sequence, timestamp, trx: { id, node, number }, payload, metadata };
}
