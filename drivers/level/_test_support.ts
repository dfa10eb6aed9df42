/**
 * What the repository's tests and benchmarks may use of the level driver beyond its public
 * entry: the backend over a given database, its read options and the head codec (for raw
 * references that write the same bytes). Not published.
 *
 * @module
 */

export { LEVEL_READ_OPTIONS, LevelBackend, type LevelDatabase } from "./_level_backend.ts";
export { decodeHead, encodeHead } from "./_head_codec.ts";
