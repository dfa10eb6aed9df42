// The listings: `stores`, `spaces` and `segments <space>`, one name per line, as it is, or JSON
// lines with --format jsonl.

import { nameArgument } from "../_args.ts";
import type { Command } from "../_command.ts";
import { sourceDatabase, withSelectedStore } from "../_db.ts";
import { LineOutput } from "../_output.ts";
import { spaceNotFound } from "../_spaces.ts";
import { formatOption, type OutputFormat, outputFormat } from "./_format.ts";

/**
 * Prints one line per name on stdout: the name as it is, or with `jsonl` the JSON of `object`
 * of it. Resolves to how many there were.
 */
async function printNames(
  names: Iterable<string> | AsyncIterable<string>,
  format: OutputFormat,
  object: (name: string) => Record<string, string>,
): Promise<number> {
  const output = LineOutput.stdout();
  let count = 0;
  for await (const name of names) {
    await output.line(format === "jsonl" ? JSON.stringify(object(name)) : name);
    count++;
  }
  await output.finish(true);
  return count;
}

/** `streamkit stores`. */
export const storesCommand: Command = {
  name: "stores",
  summary: "list the stores of the database",
  usage: "",
  arity: [0, 0],
  description: "Prints the id of every store the database holds, one per line, in ascending " +
    "order: the LevelDB directories under <dir> named by a store id, or the Azure tables with " +
    "the table prefix (a <dir> that does not exist is told on stderr, exit code 1). memory: " +
    "starts empty in every process and lists none.",
  options: { format: formatOption('one {"store": id} object per line') },
  database: "database",
  examples: ["streamkit stores", "streamkit stores --db level:/var/lib/orders"],
  async run({ values, signal }) {
    const format = outputFormat(values);
    await using database = await sourceDatabase(values, { mustExist: true });
    const stores = await database.factory.listStores?.({ signal }) ?? [];
    await printNames(stores, format, (store) => ({ store }));
    return 0;
  },
};

/** `streamkit spaces`. */
export const spacesCommand: Command = {
  name: "spaces",
  summary: "list the spaces of the store",
  usage: "",
  arity: [0, 0],
  description:
    "Prints every space of the store, one per line, as it is (no quoting), in ascending " +
    "UTF-8 byte order. Names may hold any character but U+0000, line breaks included: use " +
    "--format jsonl where that matters.",
  options: { format: formatOption('one {"space": name} object per line') },
  database: "store",
  examples: ["streamkit spaces", "streamkit spaces --format jsonl"],
  run: ({ values, signal }) => {
    const format = outputFormat(values);
    return withSelectedStore(values, { mustExist: true, signal }, async (store) => {
      await printNames(store.getSpaces({ signal }), format, (space) => ({ space }));
      return 0;
    });
  },
};

/** `streamkit segments <space>`. */
export const segmentsCommand: Command = {
  name: "segments",
  summary: "list the segments of a space",
  usage: "<space>",
  arity: [1, 1],
  description: "Prints every segment of the space, one per line, as it is (no quoting), in " +
    "ascending UTF-8 byte order. A space the store does not hold is told on stderr, exit code 1.",
  options: { format: formatOption('one {"space": name, "segment": name} object per line') },
  database: "store",
  examples: ["streamkit segments orders", "streamkit segments 'orders/eu #1' --format jsonl"],
  run: ({ args, values, signal }) => {
    const space = nameArgument("<space>", args[0]);
    const format = outputFormat(values);
    return withSelectedStore(values, { mustExist: true, signal }, async (store, { storeId }) => {
      const segments = store.getSegments(space, { signal });
      // A space exists from its first entry on, so one without segments is not there.
      if (await printNames(segments, format, (segment) => ({ space, segment })) === 0) {
        throw spaceNotFound(storeId, space);
      }
      return 0;
    });
  },
};
