/**
 * Azure table names of stores.
 *
 * @module
 */

import { StreamkitError, validateStoreId } from "@streamkit/core";

const MAX_TABLE_NAME = 63;
const DEFAULT_PREFIX = "streamkit";

/**
 * The table of a store: `prefix` + the store id without dashes, sanitised to Azure's rules
 * (3-63 letters and digits, starting with a letter). Characters other than ASCII letters and
 * digits are dropped from the prefix; a prefix that is empty afterwards, or starts with a digit,
 * gets `sk` in front; a long prefix is cut so the whole id still fits (ids never collide).
 *
 * @example
 * ```ts
 * import { azureTableName } from "@streamkit/azure";
 * console.log(azureTableName("orders-eu", "0F8FAD5B-D9CB-469F-A165-70867728950E"));
 * // "orderseu0f8fad5bd9cb469fa16570867728950e"
 * ```
 */
export function azureTableName(prefix: string | undefined, storeId: string): string {
  const id = validateStoreId(storeId).replaceAll("-", "");
  if (prefix != null && typeof prefix !== "string") {
    throw new StreamkitError(
      "InvalidArgument",
      `tablePrefix: must be a string, got ${typeof prefix}`,
    );
  }
  let cleaned = (prefix ?? DEFAULT_PREFIX).replace(/[^A-Za-z0-9]/g, "");
  if (!/^[A-Za-z]/.test(cleaned)) cleaned = `sk${cleaned}`;
  return cleaned.slice(0, MAX_TABLE_NAME - id.length) + id;
}
