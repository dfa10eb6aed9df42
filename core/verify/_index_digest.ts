/**
 * What one index holds of one segment, in a few numbers: verify compares these digests instead
 * of keeping entries in memory.
 *
 * @module
 */

/**
 * The count, the first and last sequences and a 64-bit hash of the entries' encodings, in the
 * order added. Two 32-bit lanes, each step `(h ^ byte) * odd` then a rotation, a bijection of
 * the lane: runs of one length that differ in one byte always hash apart, other differences
 * collide with a chance of about 2^-64. A checksum against damage, not against forgery.
 */
export class IndexDigest {
  count = 0;
  first = 0;
  last = 0;
  /** Its sequences were not a contiguous run, or an entry could not be encoded (reported). */
  irregular = false;
  /** The read failed partway (reported): the digest covers only the entries before. */
  incomplete = false;
  #low = 0x811c9dc5;
  #high = 0x2545f491;

  add(sequence: number, encoding: Uint8Array | undefined): void {
    if (this.count === 0) this.first = sequence;
    this.count++;
    this.last = sequence;
    if (encoding === undefined) {
      this.irregular = true;
      return;
    }
    let low = this.#low;
    let high = this.#high;
    for (let i = 0; i < encoding.length; i++) {
      const byte = encoding[i];
      low = Math.imul(low ^ byte, 0x01000193);
      low = (low << 13) | (low >>> 19);
      high = Math.imul(high ^ byte, 0x5bd1e995);
      high = (high << 17) | (high >>> 15);
    }
    this.#low = low;
    this.#high = high;
  }

  sameBytes(other: IndexDigest): boolean {
    return this.#low === other.#low && this.#high === other.#high;
  }
}

/** The digest of an index holding nothing of a segment; shared, so never added to. */
export const EMPTY_DIGEST: IndexDigest = new IndexDigest();
