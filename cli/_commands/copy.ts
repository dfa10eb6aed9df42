// `streamkit copy --to <db>`: the store (or some spaces of it) moved exactly into a store of
// another database, resumably: what the destination holds already is checked and continued;
// with --checkpoints, the checkpoints after the entries.

import type { Store } from "@streamkit/core";
import { flagOption, listOption, stringOption } from "../_args.ts";
import {
  checkpointsOption,
  describeCheckpoints,
  readCheckpoints,
  writeCheckpoints,
} from "../_checkpoint_transfer.ts";
import type { Command } from "../_command.ts";
import { DB_VALUE, openDatabase, sameDatabase, storeIdOption, withSelectedStore } from "../_db.ts";
import { UsageError } from "../_errors.ts";
import { formatCount, formatNumberOf, Progress } from "../_progress.ts";
import { selectSpaces, spaceOption } from "../_spaces.ts";
import { moveSegments, type SegmentRun } from "../_transfer.ts";

/** Every segment of `spaces` in `source`, in order. */
async function* segmentsOf(
  source: Store,
  spaces: readonly string[],
  signal: AbortSignal,
): AsyncIterable<SegmentRun> {
  for (const space of spaces) {
    for await (const segment of source.getSegments(space, { signal })) {
      yield { space, segment, entries: source.consumeSegment({ space, segment, signal }) };
    }
  }
}

/** `streamkit copy`. */
export const copyCommand: Command = {
  name: "copy",
  summary: "copy the store into another database exactly (resumable), e.g. LevelDB to Azure",
  usage: "--to <db>",
  arity: [0, 0],
  description: "Copies every segment of every space (or of the --space ones) of the store into " +
    "the store --to-store (default: the same id) of the database --to, entry by entry and " +
    "exactly (sequence, timestamp, trx, metadata, payload). Resumable: where the destination " +
    "holds part of a segment already, those entries must equal the source's (compared one by " +
    "one: trx id, payload, timestamp, trx, metadata) and only the rest is copied, so running " +
    "it again after an interruption goes on where it stopped and never writes an entry twice; " +
    "run again later, it brings the destination up to date. A difference ends it with exit " +
    "code 1, naming the space, segment and sequence. --allow-insecure-http and --table-prefix " +
    "apply to each side that is azure. Copied entries keep their timestamps: copy into a new " +
    "or quiet store, not under live followers. --checkpoints also copies every checkpoint " +
    "(whatever --space says), read before the entries and written after them with the " +
    "destination's own versions: one the destination holds with the same value is left as it " +
    "is, one with another value is overwritten. Leases are never copied: they belong to the " +
    "processes that hold them.",
  options: {
    to: {
      type: "string",
      value: "<db>",
      expects: `a database: ${DB_VALUE}`,
      help: `the destination database: ${DB_VALUE} (as --db)`,
    },
    "to-store": {
      type: "string",
      value: "<uuid>",
      expects: "a store id (a UUID)",
      help: "the destination store, created if it does not exist; default: the source's id",
    },
    space: spaceOption("copy"),
    checkpoints: checkpointsOption("also copy the store's checkpoints, after the entries"),
  },
  database: "store",
  examples: [
    "streamkit copy --db level:./.streamkit-data --to azure",
    "streamkit copy --to level:/backup/orders --space orders",
  ],
  run: ({ values, signal }) => {
    const to = stringOption(values, "to");
    if (to === undefined) {
      throw new UsageError(`copy needs --to <db>: the destination (${DB_VALUE})`);
    }
    const withCheckpoints = flagOption(values, "checkpoints");
    const toStore = stringOption(values, "to-store");
    const requestedId = toStore === undefined ? undefined : storeIdOption("--to-store", toStore);
    return withSelectedStore(values, { mustExist: true, signal }, async (source, from) => {
      const destinationId = requestedId ?? from.storeId;
      // A LevelDB store is opened once per process: within one database, the factory is shared.
      const shared = sameDatabase(to, from.database.name);
      if (shared && destinationId === from.storeId) {
        throw new UsageError(
          `--to ${to}: the destination is the source store ${from.storeId}; name another ` +
            "database or --to-store",
        );
      }
      // Before the destination opens: a --space typo must not leave a new empty store there.
      const spaces = await selectSpaces(source, from.storeId, listOption(values, "space"), signal);
      await using opened = shared ? undefined : await openDatabase("--to", to, values);
      const database = opened ?? from.database;
      await using destination = await database.factory.newStore(destinationId);
      const checkpoints = withCheckpoints ? await readCheckpoints(source, signal) : undefined;
      const progress = new Progress();
      const runs = segmentsOf(source, spaces, signal);
      const moved = await moveSegments(destination, runs, progress, signal);
      const carried = checkpoints && await writeCheckpoints(destination, checkpoints, signal);
      progress.finish(
        `copy: ${progress.describe()}: ${formatNumberOf(moved.segments, "segment")} in ` +
          `${formatNumberOf(spaces.length, "space")} from store ${from.storeId} ` +
          `(${from.database.name}) to store ${destinationId} (${database.name}); ` +
          `${formatCount(moved.checked)} of the entries were there already and equal` +
          (carried ? `; ${describeCheckpoints(carried)}` : ""),
      );
      return 0;
    });
  },
};
