import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decompress as referenceDecompress } from "zstd-napi";
import { decodeEntry, decodeTransaction } from "./decode.ts";
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
import { drawEntry, drawTransaction } from "./_test_entries.ts";
import { withSeededRandom } from "../_test_random.ts";

// --- shared vectors ---------------------------------------------------------------------------

interface VectorEntry extends Omit<Entry, "payload"> {
  payload_hex: string;
}

interface CodecVectors {
  entries: { name: string; entry: VectorEntry; raw_hex: string }[];
  transactions: {
    name: string;
    transaction: Omit<TransactionRecord, "entries"> & { entries: VectorEntry[] };
    raw_hex: string;
  }[];
}

const vectors: CodecVectors = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/codec.json", import.meta.url)),
);

function entryOf({ payload_hex, ...fields }: VectorEntry): Entry {
  return { ...fields, payload: fromHex(payload_hex) };
}

function transactionOf(
  vector: CodecVectors["transactions"][number]["transaction"],
): TransactionRecord {
  return { ...vector, entries: vector.entries.map(entryOf) };
}

const ZSTD_MAGIC = "28b52ffd";

function isKind(kind: string) {
  return (error: unknown) => error instanceof StreamkitError && error.kind === kind;
}

Deno.test("codec: entry vectors encode and decode byte for byte", () => {
  assert.ok(vectors.entries.length > 0);
  for (const vector of vectors.entries) {
    const entry = entryOf(vector.entry);
    assert.equal(toHex(encodeEntry(entry)), vector.raw_hex, vector.name);
    assert.deepStrictEqual(decodeEntry(fromHex(vector.raw_hex)), entry, vector.name);
  }
});

Deno.test("codec: transaction vectors encode and decode byte for byte", () => {
  assert.ok(vectors.transactions.length > 0);
  for (const vector of vectors.transactions) {
    const txn = transactionOf(vector.transaction);
    assert.equal(toHex(encodeTransaction(txn)), vector.raw_hex, vector.name);
    assert.deepStrictEqual(decodeTransaction(fromHex(vector.raw_hex)), txn, vector.name);
  }
});

Deno.test("codec: compressed vectors are standard zstd frames of the raw bytes", () => {
  for (const vector of vectors.entries) {
    const entry = entryOf(vector.entry);
    const frame = compressEntry(entry);
    assert.equal(toHex(frame.subarray(0, 4)), ZSTD_MAGIC, vector.name);
    assert.equal(toHex(referenceDecompress(frame)), vector.raw_hex, vector.name);
    assert.deepStrictEqual(decompressEntry(frame), entry, vector.name);
  }
  for (const vector of vectors.transactions) {
    const txn = transactionOf(vector.transaction);
    const frame = compressTransaction(txn);
    assert.equal(toHex(frame.subarray(0, 4)), ZSTD_MAGIC, vector.name);
    assert.equal(toHex(referenceDecompress(frame)), vector.raw_hex, vector.name);
    assert.deepStrictEqual(decompressTransaction(frame), txn, vector.name);
  }
});

// --- round trips ----------------------------------------------------------------------------------

Deno.test("codec: random entries and transactions round-trip, raw and compressed", () => {
  withSeededRandom((random) => {
    for (let i = 0; i < 500; i++) {
      const entry = drawEntry(random);
      const bytes = encodeEntry(entry);
      assert.deepStrictEqual(decodeEntry(bytes), entry);
      assert.deepStrictEqual(decompressEntry(compressEntry(entry)), entry);
    }
    for (let i = 0; i < 100; i++) {
      const txn = drawTransaction(random, 8);
      const bytes = encodeTransaction(txn);
      assert.deepStrictEqual(decodeTransaction(bytes), txn);
      assert.deepStrictEqual(decompressTransaction(compressTransaction(txn)), txn);
      // After the header, each entry is a u32 length and exactly its own encoding.
      const utf8 = new TextEncoder();
      let at = 76 + utf8.encode(txn.space).length + utf8.encode(txn.segment).length;
      for (const entry of txn.entries) {
        const entryBytes = encodeEntry(entry);
        assert.equal(
          new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true),
          entryBytes.length,
        );
        assert.deepStrictEqual(bytes.subarray(at + 4, at + 4 + entryBytes.length), entryBytes);
        at += 4 + entryBytes.length;
      }
      assert.equal(at, bytes.length);
    }
  });
});

Deno.test("codec: a 16 MiB payload round-trips compressed within the default bound", () => {
  const payload = new Uint8Array(16 * 1024 * 1024);
  for (let at = 0; at < payload.length; at += 65536) {
    crypto.getRandomValues(payload.subarray(at, at + 65536));
  }
  const entry: Entry = {
    space: "s",
    segment: "g",
    sequence: 1,
    timestamp: 1,
    trx: {
      id: "550e8400-e29b-41d4-a716-446655440000",
      node: "00000000-0000-0000-0000-000000000000",
      number: 1,
    },
    payload,
    metadata: {},
  };
  const frame = compressEntry(entry);
  assert.deepStrictEqual(decompressEntry(frame), entry);
  assert.throws(
    () => decompressEntry(frame, { maxDecompressedBytes: payload.length }),
    isKind("CorruptData"),
  );
});

// --- encoding details -----------------------------------------------------------------------------

function sampleEntry(overrides: Partial<Entry> = {}): Entry {
  return { ...entryOf(vectors.entries[0].entry), ...overrides };
}

Deno.test("codec: trx ids are accepted in any case and decoded lower-case", () => {
  const entry = sampleEntry({
    trx: {
      id: "550E8400-E29B-41D4-A716-446655440000",
      node: "AbCdEf00-0000-0000-0000-00000000000F",
      number: 1,
    },
  });
  const decoded = decodeEntry(encodeEntry(entry));
  assert.equal(decoded.trx.id, "550e8400-e29b-41d4-a716-446655440000");
  assert.equal(decoded.trx.node, "abcdef00-0000-0000-0000-00000000000f");
});

Deno.test("codec: a metadata key __proto__ round-trips as an own property", () => {
  const metadata: Record<string, string> = JSON.parse('{"__proto__":"polluted?","a":"b"}');
  const decoded = decodeEntry(encodeEntry(sampleEntry({ metadata })));
  assert.ok(Object.hasOwn(decoded.metadata, "__proto__"));
  assert.equal(Object.getPrototypeOf(decoded.metadata), Object.prototype);
  assert.deepStrictEqual(Object.entries(decoded.metadata), [["__proto__", "polluted?"], [
    "a",
    "b",
  ]]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("codec: strings keep a leading BOM, astral characters and long text", () => {
  const long = "x\u00e9\u{1f600}".repeat(1000);
  const entry = sampleEntry({
    space: "\ufeffspace",
    segment: "\u{1f600}",
    metadata: { "\ufeff": long, [long]: "" },
  });
  assert.deepStrictEqual(decodeEntry(encodeEntry(entry)), entry);
});

Deno.test("codec: decoded payloads are plain Uint8Array views, also from a Buffer", () => {
  const raw = fromHex(vectors.entries[0].raw_hex);
  for (const input of [raw, Buffer.from(raw)]) {
    const entry = decodeEntry(input);
    assert.equal(Object.getPrototypeOf(entry.payload), Uint8Array.prototype);
    assert.equal(entry.payload.buffer, input.buffer, "a view, not a copy");
  }
  const fromFrame = decompressEntry(compressEntry(decodeEntry(raw)));
  assert.equal(Object.getPrototypeOf(fromFrame.payload), Uint8Array.prototype);
});

Deno.test("codec: encodings are plain Uint8Arrays that never overlap", () => {
  const entry = decodeEntry(fromHex(vectors.entries[0].raw_hex));
  const txn = decodeTransaction(fromHex(vectors.transactions[0].raw_hex));
  const outputs = [];
  for (let i = 0; i < 2000; i++) {
    outputs.push(encodeEntry(entry), compressEntry(entry), encodeTransaction(txn));
    outputs.push(compressTransaction(txn));
  }
  const expected = [
    vectors.entries[0].raw_hex,
    toHex(compressEntry(entry)),
    vectors.transactions[0].raw_hex,
    toHex(compressTransaction(txn)),
  ];
  outputs.forEach((bytes, i) => {
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    assert.equal(toHex(bytes), expected[i % 4], `output ${i} was overwritten`);
  });
});

Deno.test("codec: decoding an input at an offset inside a larger buffer", () => {
  const raw = fromHex(vectors.transactions[0].raw_hex);
  const padded = new Uint8Array(raw.length + 10);
  padded.set(raw, 7);
  assert.deepStrictEqual(
    decodeTransaction(padded.subarray(7, 7 + raw.length)),
    transactionOf(vectors.transactions[0].transaction),
  );
});

Deno.test("codec: extreme safe integers round-trip; unsafe ones decode as CorruptData", () => {
  const entry = sampleEntry({
    sequence: Number.MAX_SAFE_INTEGER,
    timestamp: Number.MIN_SAFE_INTEGER,
    trx: { ...sampleEntry().trx, number: Number.MAX_SAFE_INTEGER },
  });
  const bytes = encodeEntry(entry);
  assert.deepStrictEqual(decodeEntry(bytes), entry);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const patched = (at: number, value: bigint) => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setBigUint64(at, BigInt.asUintN(64, value), true);
    return copy;
  };
  assert.equal(view.getBigInt64(8, true), -(2n ** 53n) + 1n);
  const unsafe: [offset: number, value: bigint][] = [
    [0, 2n ** 53n], // sequence
    [0, 2n ** 64n - 1n],
    [8, -(2n ** 53n)], // timestamp
    [8, 2n ** 53n],
    [8, -(2n ** 63n)],
    [48, 2n ** 53n], // trx number
  ];
  for (const [at, value] of unsafe) {
    assert.throws(() => decodeEntry(patched(at, value)), isKind("CorruptData"), `${at}=${value}`);
  }
  assert.equal(decodeEntry(patched(8, 2n ** 53n - 1n)).timestamp, Number.MAX_SAFE_INTEGER);
});

Deno.test("codec: invalid entries and transactions are InvalidArgument naming the field", () => {
  const trx = sampleEntry().trx;
  const cases: [Partial<Entry> | Record<string, unknown>, RegExp][] = [
    [{ sequence: -1 }, /entry\.sequence/],
    [{ sequence: 1.5 }, /entry\.sequence/],
    [{ sequence: 2 ** 53 }, /entry\.sequence/],
    [{ sequence: NaN }, /entry\.sequence/],
    [{ sequence: "1" }, /entry\.sequence/],
    [{ timestamp: 2 ** 53 }, /entry\.timestamp/],
    [{ timestamp: -(2 ** 53) }, /entry\.timestamp/],
    [{ trx: { ...trx, number: -1 } }, /entry\.trx\.number/],
    [{ trx: { ...trx, id: "not-a-uuid" } }, /entry\.trx\.id/],
    [{ trx: { ...trx, id: "550e8400-e29b-41d4-a716-44665544000g" } }, /entry\.trx\.id/],
    [{ trx: { ...trx, id: "550e8400xe29b-41d4-a716-446655440000" } }, /entry\.trx\.id/],
    [{ trx: { ...trx, node: "550e8400-e29b-41d4-a716-44665544000\u0660" } }, /entry\.trx\.node/],
    [{ trx: { ...trx, node: 7 } }, /entry\.trx\.node/],
    [{ trx: null }, /entry\.trx/],
    [{ payload: [1, 2, 3] }, /entry\.payload/],
    [{ space: 5 }, /entry\.space/],
    [{ segment: "lone \ud800 surrogate" }, /entry\.segment/],
    [{ metadata: { a: 1 } }, /entry\.metadata\["a"\]/],
    [{ metadata: { a: "\udc00" } }, /entry\.metadata\["a"\]/],
    [{ metadata: { "\ud800": "a" } }, /entry\.metadata key/],
    [{ metadata: null }, /entry\.metadata/],
  ];
  for (const [overrides, field] of cases) {
    const entry = { ...sampleEntry(), ...overrides } as Entry;
    assert.throws(() => encodeEntry(entry), (error) => {
      assert.ok(isKind("InvalidArgument")(error), String(error));
      assert.match((error as Error).message, field);
      return true;
    });
    assert.throws(() => compressEntry(entry), isKind("InvalidArgument"));
  }
  assert.throws(() => encodeEntry(null as unknown as Entry), isKind("InvalidArgument"));

  const txn = transactionOf(vectors.transactions[0].transaction);
  const txnCases: [Record<string, unknown>, RegExp][] = [
    [{ firstSequence: -1 }, /transaction\.firstSequence/],
    [{ lastSequence: 2 ** 60 }, /transaction\.lastSequence/],
    [{ timestamp: Infinity }, /transaction\.timestamp/],
    [{ trx: { ...txn.trx, id: "x" } }, /transaction\.trx\.id/],
    [{ trx: { ...txn.trx, number: 0.5 } }, /transaction\.trx\.number/],
    [{ space: "\udfff" }, /transaction\.space/],
    [{ entries: "none" }, /transaction\.entries/],
    [{ entries: [txn.entries[0], { ...txn.entries[1], sequence: -2 }] }, /entries\[1\]\.sequence/],
  ];
  for (const [overrides, field] of txnCases) {
    const bad = { ...txn, ...overrides } as TransactionRecord;
    assert.throws(() => encodeTransaction(bad), (error) => {
      assert.ok(isKind("InvalidArgument")(error), String(error));
      assert.match((error as Error).message, field);
      return true;
    });
    assert.throws(() => compressTransaction(bad), isKind("InvalidArgument"));
  }
});

// --- decoding details -----------------------------------------------------------------------------

Deno.test("codec: duplicate metadata keys, trailing bytes and bad UTF-8 are CorruptData", () => {
  const bytes = encodeEntry(sampleEntry({ metadata: { a: "1", b: "2" } }));
  const hex = toHex(bytes);
  // The second key "b" (0x62) follows a u32 length of 1: make it "a".
  const duplicate = fromHex(hex.replace("0100000062", "0100000061"));
  assert.throws(() => decodeEntry(duplicate), isKind("CorruptData"));
  assert.throws(() => decodeEntry(fromHex(hex + "00")), isKind("CorruptData"));
  // Space "orders" -> "\xffrders": not UTF-8.
  const badUtf8 = fromHex(hex.replace("6f7264657273", "ff7264657273"));
  assert.throws(() => decodeEntry(badUtf8), isKind("CorruptData"));
  assert.throws(() => decodeEntry(new Uint8Array(0)), isKind("CorruptData"));
  assert.throws(() => decodeEntry("bytes" as unknown as Uint8Array), isKind("CorruptData"));
  assert.throws(() => decompressEntry(null as unknown as Uint8Array), isKind("CorruptData"));
});

Deno.test("codec: an entry's own encoding is no transaction, and the reverse", () => {
  const entryBytes = fromHex(vectors.entries[0].raw_hex);
  const txnBytes = fromHex(vectors.transactions[0].raw_hex);
  assert.throws(() => decodeTransaction(entryBytes), isKind("CorruptData"));
  assert.throws(() => decodeEntry(txnBytes), isKind("CorruptData"));
});
