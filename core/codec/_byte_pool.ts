/**
 * Small byte arrays carved out of shared slabs, as Node's `Buffer` pool does: allocating an
 * `ArrayBuffer` costs far more than filling a few hundred bytes, and encodings are allocated
 * once per entry on the write path.
 *
 * @module
 */

const SLAB_BYTES = 64 * 1024;
/** Larger requests get their own buffer, so one slab serves at least 16 of them. */
const MAX_POOLED_BYTES = 4 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * A zero-filled `Uint8Array` of `size` bytes. Up to 4 KiB it is a view into a shared 64 KiB
 * slab (so its `buffer` is shared and its `byteOffset` is usually not 0); each view is handed
 * out once and never reused. Larger sizes get a buffer of their own.
 *
 * @example
 * ```ts
 * import { allocateBytes } from "./_byte_pool.ts";
 * const bytes = allocateBytes(100);
 * console.log(bytes.length); // 100
 * ```
 */
export function allocateBytes(size: number): Uint8Array {
  if (size > MAX_POOLED_BYTES) return new Uint8Array(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const bytes = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += size;
  return bytes;
}
