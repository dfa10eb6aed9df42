/**
 * How verify's problems name sequences, segments and the order of names.
 *
 * @module
 */

import { compareKeys } from "../codec/lexkey.ts";

const utf8 = new TextEncoder();

/** `#5` or `#5..#9`. */
export function span(first: number, last: number): string {
  return first === last ? `#${first}` : `#${first}..#${last}`;
}

/** `"space"/"segment"`. */
export function where(space: string, segment: string): string {
  return `${JSON.stringify(space)}/${JSON.stringify(segment)}`;
}

/** A name's UTF-8 bytes: the order the store lists names in. */
export function nameBytes(name: string): Uint8Array {
  return utf8.encode(name);
}

/** Orders names as the store lists them: by UTF-8 bytes. */
export function compareNames(a: string, b: string): number {
  return compareKeys(utf8.encode(a), utf8.encode(b));
}
