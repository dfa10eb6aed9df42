/**
 * Test support: zstd frames our compressor never writes (no content size, no checksum) and
 * frames with a forged content size, built with the low-level `zstd-napi` binding.
 *
 * @module
 */

import binding from "zstd-napi/binding.js";

/** Which optional fields a test frame carries. */
export interface FrameFields {
  /** Whether the header declares the content size. */
  contentSize: boolean;
  /** Whether the frame ends with a checksum. */
  checksum: boolean;
}

const contexts = new Map<string, InstanceType<typeof binding.CCtx>>();

/**
 * Compresses `bytes` into a frame with exactly the given optional fields.
 *
 * @example
 * ```ts
 * import { frameOf } from "./_test_frames.ts";
 * const frame = frameOf(new Uint8Array(10), { contentSize: false, checksum: false });
 * ```
 */
export function frameOf(bytes: Uint8Array, fields: FrameFields): Uint8Array {
  const name = `${fields.contentSize}/${fields.checksum}`;
  let context = contexts.get(name);
  if (context === undefined) {
    context = new binding.CCtx();
    context.setParameter(binding.CParameter.contentSizeFlag, Number(fields.contentSize));
    context.setParameter(binding.CParameter.checksumFlag, Number(fields.checksum));
    contexts.set(name, context);
  }
  const target = new Uint8Array(binding.compressBound(bytes.length));
  return target.slice(0, context.compress2(target, bytes));
}

const DICTIONARY_ID_BYTES = [0, 1, 2, 4];

/**
 * The frame with its header rewritten to declare `size` content bytes (in an 8-byte field),
 * blocks unchanged: what a corrupted or malicious header looks like.
 *
 * @example
 * ```ts
 * import { frameOf, withContentSize } from "./_test_frames.ts";
 * const frame = frameOf(new Uint8Array(10), { contentSize: true, checksum: true });
 * const forged = withContentSize(frame, 2n ** 40n); // claims 1 TiB
 * ```
 */
export function withContentSize(frame: Uint8Array, size: bigint): Uint8Array {
  const descriptor = frame[4];
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const windowBytes = singleSegment ? 0 : 1;
  const dictionaryBytes = DICTIONARY_ID_BYTES[descriptor & 3];
  const contentSizeBytes = [singleSegment, 2, 4, 8][contentSizeFlag];
  const keptHeader = 5 + windowBytes + dictionaryBytes;
  const blocks = frame.subarray(keptHeader + contentSizeBytes);
  const forged = new Uint8Array(keptHeader + 8 + blocks.length);
  forged.set(frame.subarray(0, keptHeader));
  forged[4] = (3 << 6) | (descriptor & 0x3f);
  new DataView(forged.buffer).setBigUint64(keptHeader, BigInt.asUintN(64, size), true);
  forged.set(blocks, keptHeader + 8);
  return forged;
}

/**
 * A frame of nothing but a header that declares `size` content bytes and one empty last raw
 * block: 16 bytes claiming any size.
 *
 * @example
 * ```ts
 * import { headerOnlyFrame } from "./_test_frames.ts";
 * console.log(headerOnlyFrame(2n ** 40n).length); // 16
 * ```
 */
export function headerOnlyFrame(size: bigint): Uint8Array {
  const frame = new Uint8Array(16);
  frame.set([0x28, 0xb5, 0x2f, 0xfd]);
  frame[4] = 0xe0; // 8-byte content size, single segment, no dictionary, no checksum
  new DataView(frame.buffer).setBigUint64(5, size, true);
  frame.set([0x01, 0x00, 0x00], 13); // last block, raw, 0 bytes
  return frame;
}
