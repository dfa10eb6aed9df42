/**
 * Test support: random valid entries and transactions for round-trip and fuzz tests.
 *
 * @module
 */

import { toHex } from "./lexkey.ts";
import type { TransactionRecord } from "./transaction_record.ts";
import type { Entry } from "../types.ts";
import type { SeededRandom } from "../_test_random.ts";

const NAME_CHARACTERS = ["a", "b", "-", "/", "#", "?", "%", " ", "\u00e9", "\u65e5", "\u{1f600}"];

function drawText(random: SeededRandom, maxLength: number): string {
  let text = "";
  const length = random.int(0, maxLength);
  for (let i = 0; i < length; i++) text += random.pick(NAME_CHARACTERS);
  return text;
}

function drawUuid(random: SeededRandom): string {
  const hex = toHex(random.bytes(16));
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function drawTimestamp(random: SeededRandom): number {
  return random.pick([
    0,
    -1,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
    1700000000000 + random.int(0, 1e9),
    -random.int(0, 2 ** 31),
  ]);
}

/**
 * A random valid entry; `shared` pins the fields a transaction's entries have in common.
 *
 * @example
 * ```ts
 * import { drawEntry } from "./_test_entries.ts";
 * import { SeededRandom } from "../_test_random.ts";
 * console.log(drawEntry(new SeededRandom(1)).trx.id.length); // 36
 * ```
 */
export function drawEntry(random: SeededRandom, shared?: Partial<Entry>): Entry {
  const metadata: Record<string, string> = {};
  const pairs = random.int(0, 3);
  for (let i = 0; i < pairs; i++) {
    const key = random.chance(0.1) ? "__proto__" : drawText(random, 8);
    Object.defineProperty(metadata, key, {
      value: drawText(random, 20),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return {
    space: drawText(random, 12) || "s",
    segment: drawText(random, 12) || "g",
    sequence: random.chance(0.1)
      ? Number.MAX_SAFE_INTEGER
      : random.int(0, 0xffffffff) * random.pick([1, 2 ** 21]),
    timestamp: drawTimestamp(random),
    trx: {
      id: drawUuid(random),
      node: drawUuid(random),
      number: random.int(0, 0xffffffff) * random.pick([1, 256]),
    },
    payload: random.bytes(random.chance(0.2) ? 0 : random.int(1, 300)),
    metadata,
    ...shared,
  };
}

/**
 * A random valid transaction of 0 to `maxEntries` entries.
 *
 * @example
 * ```ts
 * import { drawTransaction } from "./_test_entries.ts";
 * import { SeededRandom } from "../_test_random.ts";
 * console.log(drawTransaction(new SeededRandom(1), 3).entries.length <= 3); // true
 * ```
 */
export function drawTransaction(random: SeededRandom, maxEntries: number): TransactionRecord {
  const first = random.int(1, 1000);
  const count = random.int(0, maxEntries);
  const space = drawText(random, 12) || "s";
  const segment = drawText(random, 12) || "g";
  const timestamp = drawTimestamp(random);
  const trx = { id: drawUuid(random), node: drawUuid(random), number: random.int(1, 1000) };
  const entries = Array.from(
    { length: count },
    (_, i) => drawEntry(random, { space, segment, timestamp, trx, sequence: first + i }),
  );
  return {
    trx,
    space,
    segment,
    firstSequence: first,
    lastSequence: first + count - 1,
    timestamp,
    entries,
  };
}
