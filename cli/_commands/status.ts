// `streamkit status <space> <segment>`: a segment's first and last sequence and timestamp.

import { nameArgument } from "../_args.ts";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { LineOutput } from "../_output.ts";
import { segmentNotFound } from "../_spaces.ts";
import { formatStatusText } from "../_text_format.ts";
import { formatOption, outputFormat } from "./_format.ts";

/** `streamkit status`. */
export const statusCommand: Command = {
  name: "status",
  summary: "show a segment's first and last sequence and timestamp",
  usage: "<space> <segment>",
  arity: [2, 2],
  description: "Prints the segment's status (first and last sequence and timestamp) without " +
    "reading its entries. A segment (or space) the store does not hold has no status: the " +
    "command says so on stderr and exits with 1.",
  options: {
    format: formatOption(
      "the status as one JSON object {space, segment, firstSequence, firstTimestamp, " +
        "lastSequence, lastTimestamp}",
    ),
  },
  database: "store",
  examples: ["streamkit status orders order-1", "streamkit status orders order-1 --format jsonl"],
  run: ({ args, values, signal }) => {
    const space = nameArgument("<space>", args[0]);
    const segment = nameArgument("<segment>", args[1]);
    const format = outputFormat(values);
    return withSelectedStore(values, { mustExist: true, signal }, async (store, { storeId }) => {
      const status = await store.getSegmentStatus(space, segment, { signal });
      if (status === undefined) {
        throw await segmentNotFound(store, storeId, space, segment, signal);
      }
      const output = LineOutput.stdout();
      const { firstSequence, firstTimestamp, lastSequence, lastTimestamp } = status;
      const lines = format === "jsonl"
        ? [
          JSON.stringify({
            space,
            segment,
            firstSequence,
            firstTimestamp,
            lastSequence,
            lastTimestamp,
          }),
        ]
        : formatStatusText(status);
      for (const line of lines) await output.line(line);
      await output.finish(true);
      return 0;
    });
  },
};
