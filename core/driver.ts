/**
 * `@streamkit/core/driver`: what a storage backend needs to become a streamkit driver. A
 * driver implements the small {@linkcode StoreBackend} contract (read a segment's head, commit
 * a chunk, scan the two indexes, list the inventory) and subclasses
 * {@linkcode BackendStoreFactory}, which gives it every semantic of the store: validation,
 * chunking, sequence checks, single winner, timestamps, watermarks, notifications, lifecycle.
 * The key layout, the transaction record and its codec, the reusable encoder and decoder and
 * the byte helpers here are for backends that store entries under lexkeys.
 *
 * @example
 * ```ts
 * import { BackendStoreFactory, type StoreBackend } from "@streamkit/core/driver";
 * declare function openMyBackend(storeId: string): Promise<StoreBackend>;
 * class MyStoreFactory extends BackendStoreFactory {
 *   protected openBackend(storeId: string): Promise<StoreBackend> {
 *     return openMyBackend(storeId);
 *   }
 * }
 * ```
 *
 * @module
 */

export * from "./backend.ts";
export { abortableSleep } from "./abortable_sleep.ts";
export * from "./engine/backend_store_factory.ts";
export * from "./codec/keys.ts";
export { decodeTransaction, EntryDecoder } from "./codec/decode.ts";
export { encodeTransaction, EntryEncoder } from "./codec/encode.ts";
export type * from "./codec/transaction_record.ts";
export type { Clock } from "./clock.ts";
export {
  concatBytes,
  decodeUtf8,
  equalBytes,
  readI64LE,
  writeI64LE,
  writeU64BE,
} from "./codec/bytes.ts";
