// `streamkit read <space> [<segment>]`: a space's timeline or a segment's entries, once or
// following live until SIGINT.

import process from "node:process";
import { type Entry, fromHex, parseSpaceOffset } from "@streamkit/core";
import { countOption, flagOption, nameArgument, stringOption } from "../_args.ts";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { UsageError } from "../_errors.ts";
import { formatEntry } from "../_export_format.ts";
import { LineOutput } from "../_output.ts";
import { missingTarget } from "../_spaces.ts";
import { formatEntryText } from "../_text_format.ts";
import { formatOption, outputFormat } from "./_format.ts";

/** The space offset `--after` gives, checked against the space. */
function spaceOffsetOption(space: string, hex: string): Uint8Array {
  try {
    const offset = fromHex(hex);
    parseSpaceOffset(space, offset);
    return offset;
  } catch {
    throw new UsageError(
      `--after expects a space offset of space ${JSON.stringify(space)} in hex ` +
        "(as an application saves it: toHex(spaceOffset(entry)))",
    );
  }
}

/** `streamkit read`. */
export const readCommand: Command = {
  name: "read",
  summary: "print the entries of a space or a segment, or follow them live",
  usage: "<space> [<segment>]",
  arity: [1, 2],
  description: "Prints the entries of a space as one timeline, ordered by (timestamp, segment, " +
    "sequence), or with <segment> the entries of that segment by sequence. --follow keeps " +
    "printing entries as they are committed, from this or any other process, until SIGINT " +
    "(Ctrl-C) or SIGTERM ends it, with exit code 130 as any interrupted command, or --limit " +
    "does, with 0. A space or segment the store does not hold is told on stderr, with exit " +
    "code 1; --follow says so once and waits for its first entry. --format text prints one " +
    "line per entry for people (time, space, segment, #sequence, trx number, [metadata], " +
    "payload as text, or base64: when it is binary); --format jsonl prints the export format.",
  options: {
    after: {
      type: "string",
      value: "<offset hex>",
      expects: "a space offset in hex",
      help: "a space only: start after this space offset (hex, as toHex(spaceOffset(entry)) " +
        "gives it)",
    },
    "after-sequence": {
      type: "string",
      value: "<n>",
      expects: "a sequence number (a whole number >= 0)",
      help: "a segment only: start after this sequence",
    },
    limit: {
      type: "string",
      value: "<n>",
      expects: "a number of entries (a whole number >= 1)",
      help: "stop after this many entries",
    },
    follow: {
      type: "boolean",
      help: "keep printing new entries as they are committed, until SIGINT",
    },
    format: formatOption("one entry per line in the export format"),
  },
  database: "store",
  examples: [
    "streamkit read orders",
    "streamkit read orders order-1 --after-sequence 100 --limit 10",
    "streamkit read orders --follow",
    "streamkit read orders --format jsonl | jq .sequence",
  ],
  run: ({ args, values, signal }) => {
    const space = nameArgument("<space>", args[0]);
    const segment = args.length > 1 ? nameArgument("<segment>", args[1]) : undefined;
    const after = stringOption(values, "after");
    const afterSequence = countOption(
      values,
      "after-sequence",
      0,
      "a sequence number (a whole number >= 0)",
    );
    const limit = countOption(values, "limit", 1, "a number of entries (a whole number >= 1)");
    const follow = flagOption(values, "follow");
    const show: (entry: Entry) => string = outputFormat(values) === "jsonl"
      ? formatEntry
      : formatEntryText;
    if (after !== undefined && segment !== undefined) {
      throw new UsageError(
        "--after takes a space offset: give it without <segment> (for a segment use " +
          "--after-sequence)",
      );
    }
    if (afterSequence !== undefined && segment === undefined) {
      throw new UsageError(
        "--after-sequence needs a <segment> (for a space use --after <offset hex>)",
      );
    }
    const offset = after === undefined ? undefined : spaceOffsetOption(space, after);
    return withSelectedStore(values, { mustExist: true, signal }, async (store, { storeId }) => {
      const output = LineOutput.stdout();
      let count = 0;
      // Checked only when nothing was read: a typo must not look like an empty space.
      const missing = () =>
        count === 0 ? missingTarget(store, storeId, space, segment, signal) : undefined;
      if (!follow) {
        const entries = segment === undefined
          ? store.consumeSpace({ space, offset, limit, signal })
          : store.consumeSegment({
            space,
            segment,
            minSequence: (afterSequence ?? 0) + 1,
            limit,
            signal,
          });
        for await (const entry of entries) {
          await output.line(show(entry));
          count++;
        }
        await output.finish(true);
        const absent = await missing();
        if (absent !== undefined) throw absent;
        return 0;
      }
      const events = segment === undefined
        ? store.follow({ spaces: { [space]: offset }, signal })
        : store.followSegment({ space, segment, afterSequence, signal });
      let caughtUp = false;
      try {
        for await (const event of events) {
          // Caught up: what is printed so far is all there is; show it now.
          if (event.type === "caught-up") {
            await output.flush();
            // The first time only: a follow waits for a space or segment yet to be written.
            const absent = caughtUp ? undefined : await missing();
            if (absent !== undefined) {
              process.stderr.write(
                `streamkit read: ${absent.what} yet: waiting for its first entry\n`,
              );
            }
            caughtUp = true;
          } else {
            await output.line(show(event.entry));
            if (++count === limit) break;
          }
        }
      } catch (error) {
        // An interruption is told below, once what was read is out.
        if (!signal.aborted) throw error;
      }
      await output.finish(true);
      // Ended by SIGINT or SIGTERM rather than --limit: exit 130, as any interrupted command.
      if (count !== limit) signal.throwIfAborted();
      return 0;
    });
  },
};
