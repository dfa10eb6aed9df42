/**
 * Decoding the UTF-8 strings of the codec's layout.
 *
 * @module
 */

import { decodeUtf8 } from "./bytes.ts";
import { SHORT_STRING_UNITS } from "./_codec_layout.ts";

/** The UTF-8 text at `b[at, at + length)`, or `undefined` when it is not valid UTF-8. */
export function utf8At(b: Uint8Array, at: number, length: number): string | undefined {
  if (length <= SHORT_STRING_UNITS) {
    // Short ASCII (most names and metadata) is cheaper to build unit by unit than through the
    // decoder; the first non-ASCII byte hands the whole string to it.
    let text = "";
    for (let i = at; i < at + length; i++) {
      const byte = b[i];
      if (byte >= 0x80) return strictOrUndefined(b, at, length);
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return strictOrUndefined(b, at, length);
}

function strictOrUndefined(b: Uint8Array, at: number, length: number): string | undefined {
  try {
    return decodeUtf8(b.subarray(at, at + length));
  } catch {
    return undefined;
  }
}
