// What the conformance cases write and compare with: records, payloads, ids, abort reasons.

import type { Entry, ProduceRecord, StoreId } from "../types.ts";

/** The all-zero node UUID of a factory given no `nodeId`. */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

/** A version-4 UUID (any case). */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A payload's text. */
export function textOf(entry: Entry): string {
  return decoder.decode(entry.payload);
}

/** A fresh store id. */
export function newId(): StoreId {
  return crypto.randomUUID();
}

/** A custom abort reason, compared by identity. */
export class ConformanceAbortReason extends Error {
  constructor(message = "conformance abort reason") {
    super(message);
    this.name = "ConformanceAbortReason";
  }
}

/** Records `from`, `from + 1`, ... with payload `"<tag>:<sequence>"`. */
export function records(from: number, count: number, tag = "r"): ProduceRecord[] {
  const list: ProduceRecord[] = [];
  for (let i = 0; i < count; i++) {
    list.push({ sequence: from + i, payload: utf8(tagged(tag, from + i)) });
  }
  return list;
}

/** The payload text {@linkcode records} gives `sequence`. */
export function tagged(tag: string, sequence: number): string {
  return `${tag}:${sequence}`;
}

/** `[from, from + 1, ..., to]`. */
export function range(from: number, to: number): number[] {
  const list: number[] = [];
  for (let i = from; i <= to; i++) list.push(i);
  return list;
}

/** Random bytes of any length. */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, length)));
  }
  return bytes;
}

/** The `spaces` argument of `consume` and `follow` that reads each of `names` from the start. */
export function fromStart(names: readonly string[]): Record<string, undefined> {
  return Object.fromEntries(names.map((name) => [name, undefined]));
}
