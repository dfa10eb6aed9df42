/**
 * The checked decoder: a bounds-checked cursor over the codec's layout that reports exactly
 * what is wrong with bytes that do not decode. Decoding never trusts the input: every length
 * and count is checked against the bytes that remain before anything is allocated, strings
 * must be valid UTF-8, and trailing bytes are refused; whatever does not decode fails with
 * `kind: "CorruptData"`.
 *
 * @module
 */

import { TWO_POW_32 } from "./bytes.ts";
import { StreamkitError } from "../errors.ts";
import type { TransactionRecord } from "./transaction_record.ts";
import type { Entry } from "../types.ts";
import {
  ENTRY_FIXED_BYTES,
  ENTRY_LENGTH_BYTES,
  METADATA_PAIR_PREFIX_BYTES,
} from "./_codec_layout.ts";
import { formatUuid } from "./_hex.ts";
import { utf8At } from "./_text.ts";

export function corrupt(message: string, cause?: unknown): StreamkitError {
  return new StreamkitError("CorruptData", message, { cause });
}

/** A bounds-checked cursor over `bytes[at, end)`; every read fails as CorruptData. */
export class ByteReader {
  constructor(
    readonly what: string,
    readonly bytes: Uint8Array,
    readonly view: DataView,
    public at: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.at;
  }

  need(count: number, field: string): void {
    if (count > this.end - this.at) {
      throw corrupt(
        `${this.what}: truncated at ${field}: needs ${count} bytes, ${this.end - this.at} remain`,
      );
    }
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  u64(field: string): number {
    this.need(8, field);
    const low = this.view.getUint32(this.at, true);
    const high = this.view.getUint32(this.at + 4, true);
    this.at += 8;
    if (high > 0x1fffff) throw corrupt(`${this.what}: ${field} is above 2^53-1`);
    return high * TWO_POW_32 + low;
  }

  i64(field: string): number {
    this.need(8, field);
    const low = this.view.getUint32(this.at, true);
    const high = this.view.getInt32(this.at + 4, true);
    this.at += 8;
    // Exact while the result is safe; anything beyond rounds to a value that is not.
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) {
      throw corrupt(`${this.what}: ${field} is outside -(2^53-1)..2^53-1`);
    }
    return value;
  }

  uuid(field: string): string {
    this.need(16, field);
    const at = this.at;
    this.at += 16;
    return formatUuid(this.bytes, at);
  }

  /** A u32 length and that many bytes, as a plain `Uint8Array` view (no copy). */
  lengthPrefixedBytes(field: string): Uint8Array {
    const length = this.u32(field);
    this.need(length, field);
    const view = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.at, length);
    this.at += length;
    return view;
  }

  string(field: string): string {
    const length = this.u32(field);
    this.need(length, field);
    const text = utf8At(this.bytes, this.at, length);
    if (text === undefined) throw corrupt(`${this.what}: ${field} is not valid UTF-8`);
    this.at += length;
    return text;
  }

  expectEnd(): void {
    if (this.at !== this.end) {
      throw corrupt(`${this.what}: ${this.end - this.at} unexpected bytes after the end`);
    }
  }
}

export function readerOf(what: string, bytes: unknown): ByteReader {
  if (!(bytes instanceof Uint8Array)) throw corrupt(`${what}: expected a Uint8Array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new ByteReader(what, bytes, view, 0, bytes.length);
}

export function readEntry(reader: ByteReader): Entry {
  const sequence = reader.u64("sequence");
  const timestamp = reader.i64("timestamp");
  const id = reader.uuid("trx.id");
  const node = reader.uuid("trx.node");
  const number = reader.u64("trx.number");
  const payload = reader.lengthPrefixedBytes("payload");
  const count = reader.u32("metadata count");
  if (count > reader.remaining / METADATA_PAIR_PREFIX_BYTES) {
    throw corrupt(`${reader.what}: metadata count ${count} exceeds the remaining bytes`);
  }
  const metadata: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const key = reader.string("metadata key");
    const value = reader.string("metadata value");
    if (Object.hasOwn(metadata, key)) {
      throw corrupt(`${reader.what}: duplicate metadata key ${JSON.stringify(key)}`);
    }
    if (key === "__proto__") {
      // Plain assignment would set the prototype; define it as the own property it is.
      Object.defineProperty(metadata, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      metadata[key] = value;
    }
  }
  const space = reader.string("space");
  const segment = reader.string("segment");
  return { space, segment, sequence, timestamp, trx: { id, node, number }, payload, metadata };
}

/** The transaction in `bytes`, checked field by field (`decodeTransaction` documents it). */
export function readTransaction(bytes: Uint8Array): TransactionRecord {
  const reader = readerOf("decodeTransaction", bytes);
  const id = reader.uuid("trx.id");
  const node = reader.uuid("trx.node");
  const number = reader.u64("trx.number");
  const space = reader.string("space");
  const segment = reader.string("segment");
  const firstSequence = reader.u64("firstSequence");
  const lastSequence = reader.u64("lastSequence");
  const timestamp = reader.i64("timestamp");
  const count = reader.u32("entry count");
  if (count > reader.remaining / (ENTRY_LENGTH_BYTES + ENTRY_FIXED_BYTES)) {
    throw corrupt(`decodeTransaction: entry count ${count} exceeds the remaining bytes`);
  }
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const length = reader.u32("entry length");
    reader.need(length, `entry ${i}`);
    const entryReader = new ByteReader(
      `decodeTransaction: entry ${i}`,
      reader.bytes,
      reader.view,
      reader.at,
      reader.at + length,
    );
    entries.push(readEntry(entryReader));
    entryReader.expectEnd();
    reader.at += length;
  }
  reader.expectEnd();
  return {
    trx: { id, node, number },
    space,
    segment,
    firstSequence,
    lastSequence,
    timestamp,
    entries,
  };
}
