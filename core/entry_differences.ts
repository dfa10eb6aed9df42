/**
 * Entry comparison, field by field: what `verifyStore`, the `streamkit` command's resumable
 * copy and the tests use to tell two entries apart.
 *
 * @module
 */

import type { Entry } from "./types.ts";

/**
 * What differs between two entries, one line per field, `a`'s value first (`trx id "…" vs
 * "…"`); empty when they are the same entry byte for byte: space, segment, sequence, timestamp,
 * trx, payload, and metadata with its key order (the codec encodes keys in their order).
 *
 * @example
 * ```ts
 * import { type Entry, entryDifferences } from "@streamkit/core";
 * const trx = { id: "6ba7b810-9dad-41d1-80b4-00c04fd430c8", node: "00000000-0000-0000-0000-000000000000", number: 1 };
 * const a: Entry = { space: "s", segment: "g", sequence: 1, timestamp: 5, trx, payload: new Uint8Array([1]), metadata: {} };
 * const b: Entry = { ...a, timestamp: 6 };
 * console.log(entryDifferences(a, b)); // [ "timestamp 5 vs 6" ]
 * ```
 */
export function entryDifferences(a: Entry, b: Entry): string[] {
  const found: string[] = [];
  const field = (name: string, valueOfA: unknown, valueOfB: unknown) => {
    if (valueOfA !== valueOfB) {
      found.push(`${name} ${JSON.stringify(valueOfA)} vs ${JSON.stringify(valueOfB)}`);
    }
  };
  field("space", a.space, b.space);
  field("segment", a.segment, b.segment);
  field("sequence", a.sequence, b.sequence);
  field("timestamp", a.timestamp, b.timestamp);
  field("trx id", a.trx.id, b.trx.id);
  field("trx node", a.trx.node, b.trx.node);
  field("trx number", a.trx.number, b.trx.number);
  const payloadOfA = a.payload;
  const payloadOfB = b.payload;
  let at = 0;
  while (
    at < payloadOfA.length && at < payloadOfB.length && payloadOfA[at] === payloadOfB[at]
  ) at++;
  if (at < payloadOfA.length || at < payloadOfB.length) {
    found.push(
      `payload of ${payloadOfA.length} vs ${payloadOfB.length} bytes, first different at byte ${at}`,
    );
  }
  field(
    "metadata",
    JSON.stringify(Object.entries(a.metadata)),
    JSON.stringify(Object.entries(b.metadata)),
  );
  return found;
}
