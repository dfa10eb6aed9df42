// A processor's position (each space's offset after its last handled entry) as the store's
// checkpoint keeps it: UTF-8 JSON of hex offsets, readable with any JSON tool.

import { fromHex, toHex } from "../codec/lexkey.ts";
import { StreamkitError } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes of a checkpoint holding `position`. */
export function encodePosition(position: Record<string, Uint8Array>): Uint8Array {
  const json: Record<string, string> = {};
  for (const [space, offset] of Object.entries(position)) json[space] = toHex(offset);
  return encoder.encode(JSON.stringify(json));
}

/** The position a checkpoint's bytes hold; `CorruptData` when they are no position. */
export function decodePosition(name: string, bytes: Uint8Array): Record<string, Uint8Array> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw corrupt(name, "not UTF-8 JSON", error);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw corrupt(name, "not a JSON object");
  }
  const position: Record<string, Uint8Array> = {};
  for (const [space, offset] of Object.entries(json)) {
    if (typeof offset !== "string") throw corrupt(name, `space ${JSON.stringify(space)}`);
    try {
      position[space] = fromHex(offset);
    } catch (error) {
      throw corrupt(name, `space ${JSON.stringify(space)}: no hex`, error);
    }
  }
  return position;
}

function corrupt(name: string, why: string, cause?: unknown): StreamkitError {
  return new StreamkitError(
    "CorruptData",
    `checkpoint ${JSON.stringify(name)}: holds no processor position (${why})`,
    { cause },
  );
}
