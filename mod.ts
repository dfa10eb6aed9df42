/**
 * streamkit: a storage engine for hierarchical, append-only event streams. This umbrella
 * module re-exports `@streamkit/core`; drivers live in `@streamkit/memory`,
 * `@streamkit/level` and `@streamkit/azure`.
 *
 * @example
 * ```ts
 * import { isTransient, StreamkitError } from "./mod.ts";
 * console.log(isTransient(new StreamkitError("Unavailable", "try again")));
 * ```
 *
 * @module
 */

export * from "./core/mod.ts";
