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
  if (!STANDARD_BASE64.test(text)) return undefined;
  const buffer = Buffer.from(text, "base64");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
