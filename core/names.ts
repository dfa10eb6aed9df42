/**
 * Validation of space names, segment names and store ids: names are non-empty, well-formed
 * Unicode without U+0000 and at most 200 UTF-8 bytes; store ids are UUIDs.
 *
 * @module
 */

import { isUuid } from "./codec/_hex.ts";
import { StreamkitError } from "./errors.ts";
import type { StoreId } from "./types.ts";

/**
 * The longest space or segment name, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { MAX_NAME_BYTES } from "@streamkit/core";
 * console.log(MAX_NAME_BYTES); // 200
 * ```
 */
export const MAX_NAME_BYTES = 200;

const utf8 = new TextEncoder();

/**
 * Checks a space or segment name and returns it: a non-empty, well-formed Unicode string
 * without U+0000 and at most {@linkcode MAX_NAME_BYTES} UTF-8 bytes. Anything else throws
 * `InvalidArgument` naming `argument` and the rule it broke.
 *
 * @example
 * ```ts
 * import { validateName } from "@streamkit/core";
 * validateName("space", "orders/2024 #1?"); // every character but U+0000 is legal
 * try {
 *   validateName("segment", "");
 * } catch (error) {
 *   console.log((error as Error).message); // segment: must not be empty
 * }
 * ```
 */
export function validateName(argument: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be a string, got ${typeof value}`,
    );
  }
  if (value.length === 0) {
    throw new StreamkitError("InvalidArgument", `${argument}: must not be empty`);
  }
  if (!value.isWellFormed()) {
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be well-formed Unicode (it contains a lone surrogate)`,
    );
  }
  if (value.includes("\u0000")) {
    throw new StreamkitError("InvalidArgument", `${argument}: must not contain U+0000`);
  }
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (value.length * 3 > MAX_NAME_BYTES) {
    const bytes = utf8.encode(value).length;
    if (bytes > MAX_NAME_BYTES) {
      throw new StreamkitError(
        "InvalidArgument",
        `${argument}: must be at most ${MAX_NAME_BYTES} UTF-8 bytes, got ${bytes}`,
      );
    }
  }
  return value;
}

/**
 * Checks a UUID (any case) given as `argument` and returns it lower-cased; anything else throws
 * `InvalidArgument` naming `argument`.
 *
 * @example
 * ```ts
 * import { validateUuid } from "@streamkit/core";
 * console.log(validateUuid("nodeId", "00000000-0000-0000-0000-00000000000A"));
 * // "00000000-0000-0000-0000-00000000000a"
 * ```
 */
export function validateUuid(argument: string, value: unknown): string {
  if (!isUuid(value)) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be a UUID (8-4-4-4-12 hex digits), got ${shown}`,
    );
  }
  return value.toLowerCase();
}

/**
 * Checks a store id (a UUID in any case) and returns it lower-cased; anything else throws
 * `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { validateStoreId } from "@streamkit/core";
 * console.log(validateStoreId("0F8FAD5B-D9CB-469F-A165-70867728950E"));
 * // "0f8fad5b-d9cb-469f-a165-70867728950e"
 * ```
 */
export function validateStoreId(storeId: unknown): StoreId {
  return validateUuid("storeId", storeId);
}
