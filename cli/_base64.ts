// Standard base64 (RFC 4648 §4, with padding), strict both ways: the export format and `append`
// carry payloads in it, and a payload must come back byte for byte, so anything that is not
// canonical standard base64 is refused rather than guessed at.

import { Buffer } from "node:buffer";

const STANDARD_BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;

/** `Uint8Array.prototype.toBase64` (standard base64, padded), where the runtime has it. */
const toBase64 = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;

/** `bytes` in standard base64, padded. */
export function encodeBase64(bytes: Uint8Array): string {
  // The built-in, where there is one (Deno; Node from 25): no Buffer made for every payload.
  if (toBase64 !== undefined) return toBase64.call(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** The bytes of canonical standard base64 text, or `undefined` if `text` is anything else. */
export function decodeBase64(text: string): Uint8Array | undefined {
  return STANDARD_BASE64.test(text) ? decodeAnyBase64(text) : undefined;
}

/** The bytes of base64 text as Node decodes it: leniently (any padding, stray bits ignored). */
function decodeAnyBase64(text: string): Uint8Array {
  const buffer = Buffer.from(text, "base64");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Base64 text longer than this is not quoted whole in a message. */
const QUOTED_MAX = 40;

/**
 * What keeps `text` from being canonical standard base64, for a message ("it is not padded:
 * ..."), or `undefined` when it is canonical. Only called once `decodeBase64` refused it.
 */
export function base64Problem(text: string): string | undefined {
  if (STANDARD_BASE64.test(text)) return undefined;
  const bad = /[^A-Za-z0-9+/=]/.exec(text) ?? /=+[^=]/.exec(text);
  if (bad !== null) {
    const at = `at character ${[...text.slice(0, bad.index)].length + 1}`;
    const char = String.fromCodePoint(text.codePointAt(bad.index)!);
    if (char === "-" || char === "_") {
      return `it has ${JSON.stringify(char)} ${at}: URL-safe base64, where standard base64 ` +
        'has "+" and "/"';
    }
    if (char === "=") return `it has "=" ${at}: padding goes only at the end`;
    return `it has ${JSON.stringify(char)} ${at}: standard base64 has only A-Z, a-z, 0-9, ` +
      '"+" and "/", and "=" padding at the end';
  }
  const body = text.replace(/=+$/, "");
  if (body.length % 4 === 1) {
    return `its length (${body.length} without padding) is one more than a multiple of 4, ` +
      "which no base64 text has: a character is missing or one too many";
  }
  const padding = "=".repeat((4 - body.length % 4) % 4);
  const padded = body + padding;
  if (text !== padded) {
    const short = padded.length <= QUOTED_MAX;
    if (text === body) {
      return "it is not padded: standard base64 has a length that is a multiple of 4 " +
        `(${short ? JSON.stringify(padded) : `add ${JSON.stringify(padding)}`})`;
    }
    const end = padding === "" ? 'no "="' : JSON.stringify(padding);
    return "its padding is wrong: standard base64 has a length that is a multiple of 4 " +
      `(${short ? JSON.stringify(padded) : `${end} at the end`})`;
  }
  // Padded right, but the last character carries bits past the data: another text decodes to
  // the same bytes, and only one of them is standard.
  const canonical = encodeBase64(decodeAnyBase64(text));
  return "its last character before the padding has bits set past the data" +
    (canonical.length <= QUOTED_MAX ? ` (standard: ${JSON.stringify(canonical)})` : "");
}
