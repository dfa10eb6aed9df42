// The spaces and segments a command names: the `--space` option of `export` and `copy` and the
// spaces it selects, and the one error for a space or segment the store does not hold (exit 1,
// saying how to list what is there), so that a typo never reads as an empty space.

import type { Store, StoreId } from "@streamkit/core";
import { nameArgument, type OptionSpec } from "./_args.ts";
import { NotFound } from "./_errors.ts";

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

// Names a shell takes as they are, and names whose characters all show (plain spaces included).
const SHELL_WORD = /^[A-Za-z0-9_.\/:@%+=,-]+$/;
const VISIBLE = /^(?:[^\p{C}\p{Z}]| )+$/u;

/** `name` as a shell argument, for a command line to copy; `<space>` if it would not show. */
function shellArgument(name: string): string {
  if (SHELL_WORD.test(name)) return name;
  return VISIBLE.test(name) ? `'${name.replaceAll("'", `'\\''`)}'` : "<space>";
}

/** The error for a space the store does not hold. */
export function spaceNotFound(storeId: StoreId, space: string): NotFound {
  return new NotFound(
    `store ${storeId} holds no space ${JSON.stringify(space)}`,
    "`streamkit spaces` lists them",
  );
}

/**
 * The error for `space` when the store does not hold it (a space exists from its first entry
 * on), `undefined` when it does: one page of the space's segments is all it reads, on every
 * driver.
 */
export async function missingSpace(
  store: Store,
  storeId: StoreId,
  space: string,
  signal: AbortSignal,
): Promise<NotFound | undefined> {
  for await (const _ of store.getSegments(space, { signal })) return undefined;
  return spaceNotFound(storeId, space);
}

/**
 * The error for `segment` of `space`, which the store was found not to hold (it has no status):
 * names the space instead when that is missing too, as a typo there is the likelier one.
 */
export async function segmentNotFound(
  store: Store,
  storeId: StoreId,
  space: string,
  segment: string,
  signal: AbortSignal,
): Promise<NotFound> {
  return await missingSpace(store, storeId, space, signal) ??
    new NotFound(
      `space ${JSON.stringify(space)} holds no segment ${JSON.stringify(segment)}`,
      `\`streamkit segments ${shellArgument(space)}\` lists them`,
    );
}

/**
 * The error for `space`, or with `segment` for that segment of it, when the store does not hold
 * it; `undefined` when it does. For a read that found nothing: that must not hide a typo.
 */
export async function missingTarget(
  store: Store,
  storeId: StoreId,
  space: string,
  segment: string | undefined,
  signal: AbortSignal,
): Promise<NotFound | undefined> {
  if (segment === undefined) return await missingSpace(store, storeId, space, signal);
  if (await store.getSegmentStatus(space, segment, { signal }) !== undefined) return undefined;
  return await segmentNotFound(store, storeId, space, segment, signal);
}

/**
 * The store's spaces in its order (ascending UTF-8 bytes), only those `requested` when any are;
 * a requested space the store does not hold is {@linkcode NotFound} (a typo must not make an
 * empty backup).
 */
export async function selectSpaces(
  store: Store,
  storeId: StoreId,
  requested: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const wanted = new Set(requested.map((space) => nameArgument("--space", space)));
  const spaces: string[] = [];
  for await (const space of store.getSpaces({ signal })) {
    if (wanted.size === 0 || wanted.has(space)) spaces.push(space);
  }
  const missing = [...wanted].find((space) => !spaces.includes(space));
  if (missing !== undefined) throw spaceNotFound(storeId, missing);
  return spaces;
}
