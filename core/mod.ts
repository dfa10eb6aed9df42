/**
 * @streamkit/core: the contracts, errors, names, encodings and notifications of streamkit, a
 * storage engine for hierarchical, append-only event streams (store → space → segment →
 * entry). Pure TypeScript, for applications on every runtime. Two more entry points serve
 * narrower needs: `@streamkit/core/driver` for authors of backends, and `@streamkit/core/zstd`
 * for the compressed forms of the codec (native `zstd-napi`); the conformance suite lives in
 * `@streamkit/core/conformance`.
 *
 * @example
 * ```ts
 * import { encodeKey, StreamkitError, toHex, u64 } from "@streamkit/core";
 * console.log(toHex(encodeKey("DAT", "SEGMENTS", "orders", "order-1", u64(7))));
 * console.log(new StreamkitError("Closed", "store is closed").kind);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export * from "./names.ts";
export * from "./codec/lexkey.ts";
export * from "./offsets.ts";
export { encodeEntry } from "./codec/encode.ts";
export { decodeEntry } from "./codec/decode.ts";
export * from "./bus.ts";
export * from "./processor/run_processor.ts";
export { MAX_CHECKPOINT_BYTES, validateCheckpointValue } from "./engine/_meta.ts";
export { entryDifferences } from "./entry_differences.ts";
export {
  type VerifyOptions,
  type VerifyProblem,
  type VerifyProgress,
  type VerifyReport,
  verifyStore,
} from "./verify.ts";
