import assert from "node:assert/strict";
import { StreamkitError } from "../errors.ts";
import {
  compareKeys,
  encodeFirst,
  encodeKey,
  encodeLast,
  END,
  f64,
  fromHex,
  i64,
  type KeyPart,
  toHex,
  u64,
  uuid,
} from "./lexkey.ts";
import { type SeededRandom, withSeededRandom } from "../_test_random.ts";

// --- shared vectors ---------------------------------------------------------------------------

interface VectorPart {
  type: "string" | "bytes" | "uuid" | "i64" | "u64" | "f64" | "bool" | "nil" | "end";
  value?: string | number | boolean;
}

interface KeyVector {
  name: string;
  fn?: "first" | "last";
  parts: VectorPart[];
  hex: string;
}

const vectors: { keys: KeyVector[]; ranges: KeyVector[] } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/lexkey.json", import.meta.url)),
);

function vectorPart(part: VectorPart): KeyPart {
  switch (part.type) {
    case "string":
      return part.value as string;
    case "bytes":
      return fromHex(part.value as string);
    case "uuid":
      return uuid(part.value as string);
    case "i64":
      return i64(BigInt(part.value as string));
    case "u64":
      return u64(BigInt(part.value as string));
    case "f64":
      return f64(part.value === "NaN" ? NaN : part.value as number);
    case "bool":
      return part.value as boolean;
    case "nil":
      return null;
    case "end":
      return END;
  }
}

// The same value as a plain number where it is a safe integer: both forms must agree.
function numberFormOf(part: VectorPart): KeyPart | undefined {
  if (part.type !== "i64" && part.type !== "u64") return undefined;
  const value = Number(part.value);
  if (!Number.isSafeInteger(value)) return undefined;
  return part.type === "i64" ? value : u64(value);
}

Deno.test("lexkey: every key vector encodes byte for byte", () => {
  assert.ok(vectors.keys.length > 0);
  for (const vector of vectors.keys) {
    assert.equal(toHex(encodeKey(...vector.parts.map(vectorPart))), vector.hex, vector.name);
    if (vector.parts.some((part) => numberFormOf(part) !== undefined)) {
      const parts = vector.parts.map((part) => numberFormOf(part) ?? vectorPart(part));
      assert.equal(toHex(encodeKey(...parts)), vector.hex, `${vector.name} (number form)`);
    }
  }
});

Deno.test("lexkey: every range vector encodes byte for byte", () => {
  assert.ok(vectors.ranges.length > 0);
  for (const vector of vectors.ranges) {
    const parts = vector.parts.map(vectorPart);
    const key = vector.fn === "first" ? encodeFirst(...parts) : encodeLast(...parts);
    assert.equal(toHex(key), vector.hex, vector.name);
  }
});

Deno.test("lexkey: toHex and fromHex round-trip; fromHex refuses non-hex", () => {
  withSeededRandom((random) => {
    for (let i = 0; i < 200; i++) {
      const bytes = random.bytes(random.int(0, 40));
      assert.deepEqual(fromHex(toHex(bytes)), bytes);
      assert.deepEqual(fromHex(toHex(bytes).toUpperCase()), bytes);
    }
  });
  for (const bad of ["0", "zz", "0g", "00 "]) {
    assert.throws(
      () => fromHex(bad),
      (e) => e instanceof StreamkitError && e.kind === "InvalidArgument",
    );
  }
});

Deno.test("lexkey: out-of-range numbers are InvalidArgument", () => {
  const invalid = (e: unknown) => e instanceof StreamkitError && e.kind === "InvalidArgument";
  assert.throws(() => i64(2 ** 53), invalid);
  assert.throws(() => i64(1.5), invalid);
  assert.throws(() => i64(2n ** 63n), invalid);
  assert.throws(() => u64(-1), invalid);
  assert.throws(() => u64(2n ** 64n), invalid);
  assert.throws(() => encodeKey(0.5), invalid);
  assert.throws(() => uuid("550e8400e29b41d4a716446655440000"), invalid);
});

// --- order preservation -------------------------------------------------------------------------

/** A value domain: how to draw a value, order values, and encode one as a key. */
interface Domain<T> {
  name: string;
  draw(random: SeededRandom): T;
  compare(a: T, b: T): number;
  encode(value: T): Uint8Array;
}

const VALUES_PER_DOMAIN = 4000;

function show(value: unknown): string {
  return JSON.stringify(value, (_, v) => typeof v === "bigint" ? `${v}n` : v);
}

// Sorting by value and checking every neighbouring pair proves the encoding is monotone:
// equal values give equal keys and each strictly greater value a strictly greater key.
function assertOrderPreserved<T>(domain: Domain<T>, random: SeededRandom): void {
  const values = Array.from({ length: VALUES_PER_DOMAIN }, () => domain.draw(random));
  values.sort(domain.compare);
  let previousKey = domain.encode(values[0]);
  for (let i = 1; i < values.length; i++) {
    const key = domain.encode(values[i]);
    const expected = Math.sign(domain.compare(values[i - 1], values[i]));
    const actual = Math.sign(compareKeys(previousKey, key));
    if (actual !== expected) {
      assert.fail(
        `${domain.name}: ${show(values[i - 1])} vs ${show(values[i])}: value order ${expected}, ` +
          `key order ${actual} (${toHex(previousKey)} vs ${toHex(key)})`,
      );
    }
    previousKey = key;
  }
}

const I64_EXTREMES = [-(2n ** 63n), -(2n ** 63n) + 1n, -1n, 0n, 1n, 2n ** 63n - 2n, 2n ** 63n - 1n];
const SAFE_EXTREMES = [Number.MIN_SAFE_INTEGER, -1, -0, 0, 1, Number.MAX_SAFE_INTEGER];

// Magnitudes spread over every bit length, not clustered near 2^53.
function drawSafeInteger(random: SeededRandom, signed: boolean): number {
  if (random.chance(0.05)) return random.pick(SAFE_EXTREMES.filter((n) => signed || n >= 0));
  const bits = random.int(0, 53);
  const magnitude = Math.min(Math.floor(random.float() * 2 ** bits), Number.MAX_SAFE_INTEGER);
  return signed && random.chance(0.5) ? -magnitude : magnitude;
}

function drawU64Bigint(random: SeededRandom): bigint {
  const value = (BigInt(random.u32()) << 32n) | BigInt(random.u32());
  return value >> BigInt(random.int(0, 63));
}

function drawI64Bigint(random: SeededRandom): bigint {
  if (random.chance(0.05)) return random.pick(I64_EXTREMES);
  const magnitude = drawU64Bigint(random) >> 1n;
  return random.chance(0.5) ? -magnitude - 1n : magnitude;
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const F64_SPECIALS = [
  -Infinity,
  -Number.MAX_VALUE,
  -1,
  -Number.MIN_VALUE,
  -0,
  0,
  Number.MIN_VALUE,
  Number.EPSILON,
  1,
  Number.MAX_VALUE,
  Infinity,
];

function drawF64(random: SeededRandom): number {
  if (random.chance(0.05)) return random.pick(F64_SPECIALS);
  if (random.chance(0.3)) return (random.float() - 0.5) * 2 ** random.int(-30, 30);
  // Any bit pattern but NaN: covers subnormals, huge and tiny exponents, both signs.
  const view = new DataView(new ArrayBuffer(8));
  for (;;) {
    view.setUint32(0, random.u32());
    view.setUint32(4, random.u32());
    const value = view.getFloat64(0);
    if (!Number.isNaN(value)) return value;
  }
}

// Code points from every UTF-8 length class, never U+0000 or a lone surrogate.
function drawCodePoint(random: SeededRandom): number {
  switch (random.int(0, 3)) {
    case 0:
      return random.int(1, 0x7f);
    case 1:
      return random.int(0x80, 0x7ff);
    case 2: {
      const codePoint = random.int(0x800, 0xfffd);
      return codePoint >= 0xd800 && codePoint <= 0xdfff ? codePoint - 0x800 : codePoint;
    }
    default:
      return random.int(0x10000, 0x10ffff);
  }
}

function drawString(random: SeededRandom, pool: string[]): string {
  let text = "";
  // Often extend or cut an earlier string, so shared prefixes (`a` vs `ab`) are common.
  if (pool.length > 0 && random.chance(0.4)) {
    const base = [...random.pick(pool)];
    text = base.slice(0, random.int(0, base.length)).join("");
  }
  const length = random.int(0, 6);
  for (let i = 0; i < length; i++) {
    text += String.fromCodePoint(
      random.chance(0.3) ? random.int(0x61, 0x63) : drawCodePoint(random),
    );
  }
  pool.push(text);
  if (pool.length > 200) pool.shift();
  return text;
}

/** Code point order, which is UTF-8 byte order (unlike `<`, which is UTF-16 unit order). */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j);
}

type Tuple = readonly unknown[];

function compareTuples(comparators: ((a: never, b: never) => number)[]) {
  return (a: Tuple, b: Tuple): number => {
    for (let i = 0; i < comparators.length; i++) {
      const order = comparators[i](a[i] as never, b[i] as never);
      if (order !== 0) return order;
    }
    return 0;
  };
}

function domains(): Domain<never>[] {
  const strings: string[] = [];
  const list: Domain<never>[] = [];
  const add = <T>(domain: Domain<T>) => list.push(domain as unknown as Domain<never>);
  add<number>({
    name: "i64 (number, plain part)",
    draw: (random) => drawSafeInteger(random, true),
    compare: compareNumbers,
    encode: (n) => encodeKey(n),
  });
  add<bigint>({
    name: "i64 (bigint)",
    draw: drawI64Bigint,
    compare: compareBigints,
    encode: (n) => i64(n).bytes,
  });
  add<number | bigint>({
    name: "i64 (numbers and bigints mixed)",
    draw: (random) => random.chance(0.5) ? drawSafeInteger(random, true) : drawI64Bigint(random),
    compare: (a, b) => compareBigints(BigInt(a), BigInt(b)),
    encode: (n) => i64(n).bytes,
  });
  add<number | bigint>({
    name: "u64 (numbers and bigints mixed)",
    draw: (random) => random.chance(0.5) ? drawSafeInteger(random, false) : drawU64Bigint(random),
    compare: (a, b) => compareBigints(BigInt(a), BigInt(b)),
    encode: (n) => u64(n).bytes,
  });
  add<number>({
    name: "f64",
    draw: drawF64,
    compare: compareNumbers,
    encode: (x) => f64(x).bytes,
  });
  add<string>({
    name: "string",
    draw: (random) => drawString(random, strings),
    compare: compareCodePoints,
    encode: (text) => encodeKey(text),
  });
  add<Tuple>({
    name: "composite string, i64",
    draw: (random) => [drawString(random, strings), drawSafeInteger(random, true)],
    compare: compareTuples([compareCodePoints, compareNumbers]),
    encode: ([text, n]) => encodeKey(text as string, n as number),
  });
  add<Tuple>({
    name: "composite segment key: DAT, SEGMENTS, string, string, u64",
    draw: (random) => [
      drawString(random, strings),
      drawString(random, strings),
      drawSafeInteger(random, false),
    ],
    compare: compareTuples([compareCodePoints, compareCodePoints, compareNumbers]),
    encode: ([space, segment, sequence]) =>
      encodeKey("DAT", "SEGMENTS", space as string, segment as string, u64(sequence as number)),
  });
  add<Tuple>({
    name: "composite space key: DAT, SPACES, orders, i64, string, u64",
    draw: (random) => [
      drawSafeInteger(random, true),
      drawString(random, strings),
      drawU64Bigint(random),
    ],
    compare: compareTuples([compareNumbers, compareCodePoints, compareBigints]),
    encode: ([timestamp, segment, sequence]) =>
      encodeKey(
        "DAT",
        "SPACES",
        "orders",
        i64(timestamp as number),
        segment as string,
        u64(sequence as bigint),
      ),
  });
  add<Tuple>({
    name: "composite bool, f64, string",
    draw: (random) => [random.chance(0.5), drawF64(random), drawString(random, strings)],
    compare: compareTuples([
      (a: boolean, b: boolean) => Number(a) - Number(b),
      compareNumbers,
      compareCodePoints,
    ]),
    encode: ([flag, x, text]) => encodeKey(flag as boolean, f64(x as number), text as string),
  });
  return list;
}

for (const domain of domains()) {
  Deno.test(`lexkey: byte order equals value order: ${domain.name}`, () => {
    withSeededRandom((random) => assertOrderPreserved(domain, random));
  });
}

Deno.test("lexkey: number and bigint forms of safe integers encode alike", () => {
  withSeededRandom((random) => {
    for (let i = 0; i < 4000; i++) {
      const signed = drawSafeInteger(random, true);
      assert.deepEqual(i64(signed).bytes, i64(BigInt(signed)).bytes, `i64 ${signed}`);
      const unsigned = drawSafeInteger(random, false);
      assert.deepEqual(u64(unsigned).bytes, u64(BigInt(unsigned)).bytes, `u64 ${unsigned}`);
    }
  });
});

Deno.test("lexkey: encodeFirst and encodeLast bracket every key that extends the prefix", () => {
  withSeededRandom((random) => {
    const strings: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const prefix = [drawString(random, strings), drawSafeInteger(random, true)] as const;
      const key = encodeKey(...prefix, drawString(random, strings), u64(drawU64Bigint(random)));
      const first = encodeFirst(...prefix);
      const last = encodeLast(...prefix);
      assert.ok(compareKeys(first, key) <= 0, `first <= key for ${show(prefix)}`);
      assert.ok(compareKeys(key, last) < 0, `key < last for ${show(prefix)}`);
    }
  });
});
