/**
 * Fuzzing of every decoder: each input must either decode to a value that re-encodes
 * consistently or fail with `kind: "CorruptData"`. Anything else (another error, a crash, a
 * hang, a huge allocation failing) fails the test. Seeded: replay with STREAMKIT_TEST_SEED.
 */

import assert from "node:assert/strict";
import { decodeEntry, decodeTransaction, EntryDecoder } from "./decode.ts";
import { encodeEntry, encodeTransaction } from "./encode.ts";
import {
  compressEntry,
  compressTransaction,
  decompressEntry,
  decompressTransaction,
} from "../zstd.ts";
import { StreamkitError } from "../errors.ts";
import { fromHex, toHex } from "./lexkey.ts";
import type { TransactionRecord } from "./transaction_record.ts";
import type { Entry } from "../types.ts";
import { ZstdContext } from "./_zstd.ts";
import { drawEntry, drawTransaction } from "./_test_entries.ts";
import { frameOf, headerOnlyFrame, withContentSize } from "./_test_frames.ts";
import { type SeededRandom, withSeededRandom } from "../_test_random.ts";

const zstd = new ZstdContext();

const INPUTS_PER_DECODER = 100_000;

interface Target {
  name: string;
  decode(bytes: Uint8Array): Entry | TransactionRecord;
  /** Encodes a decoded value again, uncompressed. */
  encode(value: Entry | TransactionRecord): Uint8Array;
  /** Valid inputs the mutations start from. */
  corpus: Uint8Array[];
  /** Extra inputs of this target's kind, beyond mutations of the corpus. */
  extras?: (random: SeededRandom) => Uint8Array;
}

const vectors = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/codec.json", import.meta.url)),
) as { entries: { raw_hex: string }[]; transactions: { raw_hex: string }[] };

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

// JavaScript lists integer-like keys first, so re-encoding reorders such metadata pairs.
function keepsMetadataOrder(value: Entry | TransactionRecord): boolean {
  const entries = "entries" in value ? value.entries : [value];
  return entries.every((entry) => {
    const keys = Object.keys(entry.metadata);
    return keys.length < 2 || !keys.some((key) => ARRAY_INDEX.test(key));
  });
}

class Fuzzer {
  inputs = 0;
  decoded = 0;

  constructor(readonly target: Target) {}

  run(input: Uint8Array, how: string): void {
    this.inputs++;
    let value: Entry | TransactionRecord;
    try {
      value = this.target.decode(input);
    } catch (error) {
      if (error instanceof StreamkitError && error.kind === "CorruptData") return;
      throw new Error(
        `${this.target.name} on ${how} threw ${String(error)}; input ${toHex(input)}`,
        { cause: error },
      );
    }
    this.decoded++;
    // Whatever decodes is a valid value: it encodes again and, for raw input, to the same
    // bytes (the decoding is canonical).
    const encoded = this.target.encode(value);
    if (!this.target.name.startsWith("decompress") && keepsMetadataOrder(value)) {
      assert.equal(toHex(encoded), toHex(input), `${this.target.name} on ${how}: not canonical`);
    }
  }
}

function flipBits(random: SeededRandom, base: Uint8Array, flips: number): Uint8Array {
  const copy = base.slice();
  for (let i = 0; i < flips; i++) copy[random.int(0, copy.length - 1)] ^= 1 << random.int(0, 7);
  return copy;
}

const LENGTH_PATCHES = [0xffffffff, 0x80000000, 0x7fffffff, 0x10000];

function patchU32(base: Uint8Array, at: number, value: number): Uint8Array {
  const copy = base.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}

function splice(random: SeededRandom, base: Uint8Array, other: Uint8Array): Uint8Array {
  const cut = random.int(0, base.length);
  const from = random.int(0, other.length);
  const piece = other.subarray(from, from + random.int(0, 64));
  return new Uint8Array([...base.subarray(0, cut), ...piece, ...base.subarray(cut)]);
}

function deleteRange(random: SeededRandom, base: Uint8Array): Uint8Array {
  const at = random.int(0, base.length - 1);
  const count = random.int(1, 8);
  return new Uint8Array([...base.subarray(0, at), ...base.subarray(at + count)]);
}

// Deterministic passes first (every truncation, a huge and a near-miss length at every
// offset), then random mutations until the target has seen its share of inputs.
function fuzz(target: Target, random: SeededRandom): Fuzzer {
  const fuzzer = new Fuzzer(target);
  const { corpus } = target;
  for (const base of corpus) {
    fuzzer.run(base, "the unmodified input");
    for (let length = 0; length < base.length; length++) {
      fuzzer.run(base.subarray(0, length), `truncation to ${length}`);
    }
    fuzzer.run(new Uint8Array([...base, random.u32() & 0xff]), "one trailing byte");
    for (let at = 0; at + 4 <= base.length; at++) {
      const original = new DataView(base.buffer, base.byteOffset).getUint32(at, true);
      fuzzer.run(patchU32(base, at, random.pick(LENGTH_PATCHES)), `huge u32 at ${at}`);
      fuzzer.run(patchU32(base, at, original + random.pick([-1, 1])), `u32 +-1 at ${at}`);
    }
  }
  while (fuzzer.inputs < INPUTS_PER_DECODER) {
    const base = random.pick(corpus);
    const kind = random.int(0, target.extras ? 6 : 5);
    switch (kind) {
      case 0:
        fuzzer.run(flipBits(random, base, 1), "one bit flip");
        break;
      case 1:
        fuzzer.run(flipBits(random, base, random.int(2, 16)), "several bit flips");
        break;
      case 2:
        fuzzer.run(random.bytes(random.int(0, 400)), "random bytes");
        break;
      case 3:
        fuzzer.run(splice(random, base, random.pick(corpus)), "a spliced-in piece");
        break;
      case 4:
        fuzzer.run(deleteRange(random, base), "deleted bytes");
        break;
      case 5: {
        const at = random.int(0, Math.max(base.length - 4, 0));
        fuzzer.run(patchU32(base, at, random.u32()), `random u32 at ${at}`);
        break;
      }
      default:
        fuzzer.run(target.extras!(random), "a target-specific input");
    }
  }
  return fuzzer;
}

function fuzzCorpus(random: SeededRandom) {
  const entries = [
    ...vectors.entries.map((vector) => fromHex(vector.raw_hex)),
    ...Array.from({ length: 30 }, () => encodeEntry(drawEntry(random))),
  ];
  const transactions = [
    ...vectors.transactions.map((vector) => fromHex(vector.raw_hex)),
    ...Array.from({ length: 12 }, () => encodeTransaction(drawTransaction(random, 4))),
  ];
  return { entries, transactions };
}

// Every frame layout a decoder may meet: ours, and without content size and/or checksum.
function framesOf(raw: Uint8Array): Uint8Array[] {
  return [
    zstd.compress(raw),
    frameOf(raw, { contentSize: false, checksum: true }),
    frameOf(raw, { contentSize: true, checksum: false }),
    frameOf(raw, { contentSize: false, checksum: false }),
  ];
}

// Valid frames around damaged content, and damaged headers around valid content.
function compressedExtra(raw: Uint8Array[]) {
  return (random: SeededRandom): Uint8Array => {
    const base = random.pick(raw);
    switch (random.int(0, 3)) {
      case 0:
        return zstd.compress(flipBits(random, base, random.int(1, 4)));
      case 1:
        return frameOf(base.subarray(0, random.int(0, base.length)), {
          contentSize: random.chance(0.5),
          checksum: false,
        });
      case 2: {
        const size = random.pick([0n, 1n, BigInt(base.length - 1), BigInt(base.length + 1)]);
        return withContentSize(zstd.compress(base), size);
      }
      default:
        return withContentSize(
          zstd.compress(base),
          random.pick([2n ** 40n, 2n ** 64n - 1n, BigInt(random.u32()) << 16n]),
        );
    }
  };
}

function targets(random: SeededRandom): Target[] {
  const { entries, transactions } = fuzzCorpus(random);
  const entryDecoder = new EntryDecoder();
  const encodeValue = (value: Entry | TransactionRecord) =>
    "entries" in value ? encodeTransaction(value) : encodeEntry(value);
  return [
    { name: "decodeEntry", decode: decodeEntry, encode: encodeValue, corpus: entries },
    {
      // One decoder for the whole run: its caches see every mutated input.
      name: "EntryDecoder",
      decode: (bytes) => entryDecoder.decode(bytes),
      encode: encodeValue,
      corpus: entries,
    },
    {
      name: "decodeTransaction",
      decode: decodeTransaction,
      encode: encodeValue,
      corpus: transactions,
    },
    {
      name: "decompressEntry",
      decode: decompressEntry,
      encode: encodeValue,
      corpus: entries.slice(0, 12).flatMap(framesOf),
      extras: compressedExtra(entries),
    },
    {
      name: "decompressTransaction",
      decode: decompressTransaction,
      encode: encodeValue,
      corpus: transactions.slice(0, 6).flatMap(framesOf),
      extras: compressedExtra(transactions),
    },
  ];
}

for (
  const name of [
    "decodeEntry",
    "EntryDecoder",
    "decodeTransaction",
    "decompressEntry",
    "decompressTransaction",
  ]
) {
  Deno.test(`codec fuzz: ${name} decodes or fails with CorruptData`, () => {
    withSeededRandom((random) => {
      const target = targets(random).find((candidate) => candidate.name === name)!;
      const fuzzer = fuzz(target, random);
      assert.ok(fuzzer.inputs >= INPUTS_PER_DECODER);
      // Both outcomes occur: some mutations are harmless (a flipped payload bit).
      assert.ok(fuzzer.decoded > 0 && fuzzer.decoded < fuzzer.inputs, `${fuzzer.decoded}`);
      console.log(`${name}: ${fuzzer.inputs} inputs, ${fuzzer.decoded} decoded`);
    });
  });
}

Deno.test("codec fuzz: forged sizes fail fast as CorruptData, never as a huge allocation", () => {
  const corrupt = (error: unknown) =>
    error instanceof StreamkitError && error.kind === "CorruptData";
  // A 16-byte zstd frame claiming 1 TiB, and a real frame whose header now claims 1 TiB.
  const claimsTiB = headerOnlyFrame(2n ** 40n);
  assert.throws(() => decompressEntry(claimsTiB), corrupt);
  assert.throws(() => decompressTransaction(claimsTiB), corrupt);
  const entryFrame = compressEntry(decodeEntry(fromHex(vectors.entries[0].raw_hex)));
  assert.throws(() => decompressEntry(withContentSize(entryFrame, 2n ** 40n)), corrupt);
  const txnFrame = compressTransaction(decodeTransaction(fromHex(vectors.transactions[0].raw_hex)));
  assert.throws(() => decompressTransaction(withContentSize(txnFrame, 2n ** 40n)), corrupt);

  // Length prefixes and counts of 0xFFFFFFFF with a few bytes behind them.
  const entry = fromHex(vectors.entries[1].raw_hex);
  for (const at of [56, 60]) { // payload length; metadata count (empty payload)
    assert.throws(() => decodeEntry(patchU32(entry, at, 0xffffffff)), corrupt, `entry @${at}`);
  }
  const txn = fromHex(vectors.transactions[0].raw_hex);
  // space length, entry count, first entry length
  for (const at of [40, 85, 89]) {
    assert.throws(() => decodeTransaction(patchU32(txn, at, 0xffffffff)), corrupt, `txn @${at}`);
  }
});
