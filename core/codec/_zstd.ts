/**
 * zstd through `zstd-napi`: a {@linkcode ZstdContext} reuses one compression and one
 * decompression context, and bounds what a frame may claim before allocating (the library's
 * `Decompressor` trusts the frame header).
 *
 * @module
 */

// zstd-napi is CommonJS whose `module.exports` is assigned whole, so only the default import
// works at runtime (in Deno and in Node); the subpath needs its `.js` (no `exports` map).
import binding from "zstd-napi/binding.js";
import { allocateBytes } from "./_byte_pool.ts";
import { concatBytes } from "./bytes.ts";
import { StreamkitError } from "../errors.ts";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
// Compression scratch up to this size is kept between calls; larger calls allocate their own.
const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;

function corrupt(message: string, cause?: unknown): StreamkitError {
  return new StreamkitError("CorruptData", `zstd: ${message}`, { cause });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One compression and one decompression context of `zstd-napi` with their scratch memory,
 * reused by every call: creating a context per call costs more than compressing an entry.
 * Synchronous calls only, so one context never serves two calls at once.
 */
export class ZstdContext {
  #compressionContext = new binding.CCtx();
  #compressionScratch = new Uint8Array(0);
  #decompressionContext = new binding.DCtx();
  #streamChunk = new Uint8Array(binding.dStreamOutSize());

  constructor() {
    // A checksum makes a flipped bit in stored data a CorruptData error instead of silently
    // different bytes; XXH64 costs little next to compression itself.
    this.#compressionContext.setParameter(binding.CParameter.checksumFlag, 1);
  }

  /**
   * Compresses `bytes` into one standard zstd frame (default level, content size and checksum
   * in the frame). Returns a plain `Uint8Array` of exactly the frame, small ones a view into a
   * shared slab (see `allocateBytes`).
   *
   * @example
   * ```ts
   * import { ZstdContext } from "./_zstd.ts";
   * const frame = new ZstdContext().compress(new TextEncoder().encode("hello hello hello"));
   * console.log(frame.subarray(0, 4)); // Uint8Array(4) [ 40, 181, 47, 253 ]
   * ```
   */
  compress(bytes: Uint8Array): Uint8Array {
    if (!(bytes instanceof Uint8Array)) {
      throw new StreamkitError("InvalidArgument", "compress: expected a Uint8Array");
    }
    const bound = binding.compressBound(bytes.length);
    let target: Uint8Array;
    if (bound <= MAX_KEPT_SCRATCH_BYTES) {
      if (this.#compressionScratch.length < bound) this.#compressionScratch = new Uint8Array(bound);
      target = this.#compressionScratch;
    } else {
      target = new Uint8Array(bound);
    }
    const written = this.#compressionContext.compress2(target, bytes);
    const frame = allocateBytes(written);
    frame.set(target.subarray(0, written));
    return frame;
  }

  /**
   * Decompresses exactly one standard zstd frame of at most `maxOutputBytes` decompressed
   * bytes. Empty input, anything but a single complete frame (bad magic, truncation, trailing
   * bytes, several frames), a declared or actual size above the bound, and every error of the
   * native decoder fail with `kind: "CorruptData"`. Returns a fresh `Uint8Array`.
   *
   * @example
   * ```ts
   * import { ZstdContext } from "./_zstd.ts";
   * const zstd = new ZstdContext();
   * const frame = zstd.compress(new Uint8Array(1000));
   * console.log(zstd.decompress(frame, 1024).length); // 1000
   * try {
   *   zstd.decompress(frame, 100);
   * } catch (error) {
   *   console.log((error as { kind: string }).kind); // "CorruptData"
   * }
   * ```
   */
  decompress(frame: Uint8Array, maxOutputBytes: number): Uint8Array {
    if (!(frame instanceof Uint8Array)) throw corrupt("expected a Uint8Array");
    if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
      throw new StreamkitError(
        "InvalidArgument",
        `decompress: maxOutputBytes must be a non-negative safe integer, got ${maxOutputBytes}`,
      );
    }
    if (frame.length === 0) throw corrupt("empty input");
    // Only standard frames: a skippable frame would "decompress" to nothing.
    for (let i = 0; i < ZSTD_MAGIC.length; i++) {
      if (frame[i] !== ZSTD_MAGIC[i]) throw corrupt("not a zstd frame (bad magic number)");
    }
    let frameLength: number;
    let contentSize: number | null;
    try {
      frameLength = binding.findFrameCompressedSize(frame);
      contentSize = binding.getFrameContentSize(frame);
    } catch (error) {
      throw corrupt(`invalid or truncated frame (${describe(error)})`, error);
    }
    if (frameLength !== frame.length) {
      throw corrupt(`${frame.length - frameLength} bytes after the frame (trailing data)`);
    }
    if (contentSize === null) return this.#decompressStreaming(frame, maxOutputBytes);
    if (contentSize > maxOutputBytes) {
      throw corrupt(`frame declares ${contentSize} bytes, more than the bound ${maxOutputBytes}`);
    }
    const output = new Uint8Array(contentSize);
    let written: number;
    try {
      // One-shot decoding fails when the frame produces more or less than it declares.
      written = this.#decompressionContext.decompress(output, frame);
    } catch (error) {
      throw corrupt(describe(error), error);
    }
    if (written !== contentSize) {
      throw corrupt(`frame declares ${contentSize} bytes but holds ${written}`);
    }
    return output;
  }

  // A frame without a declared size: stream it through one reused chunk, stopping as soon as
  // the output passes the bound, so memory follows the real output and never the header.
  #decompressStreaming(frame: Uint8Array, maxOutputBytes: number): Uint8Array {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let input = frame;
    try {
      this.#decompressionContext.reset(binding.ResetDirective.sessionOnly);
      for (;;) {
        const [toFlush, produced, consumed] = this.#decompressionContext.decompressStream(
          this.#streamChunk,
          input,
        );
        total += produced;
        if (total > maxOutputBytes) {
          throw corrupt(`frame holds more than the bound ${maxOutputBytes} bytes`);
        }
        if (produced > 0) chunks.push(this.#streamChunk.slice(0, produced));
        input = input.subarray(consumed);
        if (toFlush === 0) break;
        if (produced === 0 && consumed === 0) throw corrupt("truncated frame");
      }
    } catch (error) {
      if (error instanceof StreamkitError) throw error;
      throw corrupt(describe(error), error);
    }
    if (input.length !== 0) throw corrupt("trailing data after the frame");
    return chunks.length === 1 ? chunks[0] : concatBytes(...chunks);
  }
}
