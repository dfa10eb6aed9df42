// The `--space` option of `export` and `copy`, and the spaces it selects: those named, or all.

import type { Store } from "@streamkit/core";
import { nameArgument, type OptionSpec } from "./_args.ts";
import { UsageError } from "./_errors.ts";

/** The `--space` option of a command that works on all spaces or on those named (`verb` them). */
export function spaceOption(verb: string): OptionSpec {
  return {
    type: "string",
    multiple: true,
    value: "<space>",
    expects: "a space name",
    help: `${verb} only this space (repeat for more); default: every space`,
  };
}

/**
 * The store's spaces in its order (ascending UTF-8 bytes), only those `requested` when any are;
 * a requested space the store does not hold is a usage error (a typo must not make an empty
 * backup).
 */
export async function selectSpaces(
  store: Store,
  requested: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const wanted = new Set(requested.map((space) => nameArgument("--space", space)));
  const spaces: string[] = [];
  for await (const space of store.getSpaces({ signal })) {
    if (wanted.size === 0 || wanted.has(space)) spaces.push(space);
  }
  const missing = [...wanted].filter((space) => !spaces.includes(space));
  if (missing.length > 0) {
    throw new UsageError(
      `--space ${JSON.stringify(missing[0])}: the store holds no such space ` +
        "(`streamkit spaces` lists them)",
    );
  }
  return spaces;
}
