/**
 * @streamkit/core: the contracts, errors, names, encodings and shared machinery of streamkit,
 * a storage engine for hierarchical, append-only event streams
 * (store → space → segment → entry). Drivers build on {@linkcode BackendStoreFactory}; the
 * conformance suite lives in `@streamkit/core/conformance`.
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
export * from "./lexkey.ts";
export * from "./keys.ts";
export * from "./codec.ts";
export * from "./txn.ts";
export * from "./clock.ts";
export * from "./lock.ts";
export * from "./watermark.ts";
export * from "./bus.ts";
export * from "./backend.ts";
export * from "./backend_store_factory.ts";
