/**
 * The sizes of the entry and transaction layouts (see `FORMAT.md`), shared by the
 * encoder and the decoders.
 *
 * @module
 */

/**
 * sequence 8, timestamp 8, trx id 16, trx node 16, trx number 8, and the four u32 prefixes of
 * payload, metadata, space and segment.
 */
export const ENTRY_FIXED_BYTES = 72;
/**
 * trx id 16, trx node 16, trx number 8, space and segment prefixes 4 + 4, firstSequence 8,
 * lastSequence 8, timestamp 8, entry count 4.
 */
export const TRANSACTION_FIXED_BYTES = 76;
/** The u32 length before each entry of a transaction. */
export const ENTRY_LENGTH_BYTES = 4;
/** The u32 lengths of a metadata key and its value. */
export const METADATA_PAIR_PREFIX_BYTES = 8;
export const MAX_U32 = 0xffffffff;
/**
 * Strings up to this many UTF-16 units are copied unit by unit while they are ASCII; beyond
 * it, `TextEncoder.encodeInto` and `TextDecoder.decode` beat a JavaScript byte loop.
 */
export const SHORT_STRING_UNITS = 32;
