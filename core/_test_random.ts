/**
 * Test support: a small seeded PRNG, so property and fuzz tests reproduce. Set
 * `STREAMKIT_TEST_SEED` to replay a failing run; the seed is printed when a test fails.
 *
 * @module
 */

/**
 * A seeded pseudo-random generator (sfc32: fast, 128-bit state, good enough for tests).
 *
 * @example
 * ```ts
 * import { SeededRandom } from "./_test_random.ts";
 * const random = new SeededRandom(42);
 * console.log(random.int(1, 6)); // the same die roll on every run
 * ```
 */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Starts the sequence of `seed` (an unsigned 32-bit integer). */
  constructor(readonly seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** A uniform integer in [min, max] (both safe integers, max - min < 2^32). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = this.u32() & 0xff;
    return bytes;
  }
}

/**
 * The seed of this run: `STREAMKIT_TEST_SEED` when set, otherwise a fresh random one.
 *
 * @example
 * ```ts
 * import { testSeed } from "./_test_random.ts";
 * console.log(testSeed() >= 0); // true
 * ```
 */
export function testSeed(): number {
  const fromEnv = Deno.env.get("STREAMKIT_TEST_SEED");
  if (fromEnv !== undefined && fromEnv !== "") return Number(fromEnv) >>> 0;
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * Runs `body` with a generator of a fresh {@linkcode testSeed}, printing the seed (and how to
 * replay it) if the body throws.
 *
 * @example
 * ```ts
 * import { withSeededRandom } from "./_test_random.ts";
 * withSeededRandom((random) => {
 *   if (random.u32() > 4294967295) throw new Error("impossible");
 * });
 * ```
 */
export function withSeededRandom<T>(body: (random: SeededRandom) => T): T {
  const random = new SeededRandom(testSeed());
  try {
    return body(random);
  } catch (error) {
    console.error(
      `failed with seed ${random.seed}: replay with STREAMKIT_TEST_SEED=${random.seed}`,
    );
    throw error;
  }
}
