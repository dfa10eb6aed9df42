// `streamkit append <space> <segment>`: records from stdin (NDJSON), appended to the segment
// after its last entry.

import process from "node:process";
import type { ProduceRecord } from "@streamkit/core";
import { nameArgument } from "../_args.ts";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { UsageError } from "../_errors.ts";
import {
  FormatError,
  metadataOf,
  objectWith,
  parseJsonLine,
  payloadOf,
} from "../_export_format.ts";
import { openInput } from "../_input.ts";
import { formatNumberOf } from "../_progress.ts";
import { segmentLabel } from "../_transfer.ts";

const RECORD_FIELDS = new Set(["payload", "metadata"]);

/** The payload and metadata one line of `append`'s input holds. */
export function parseRecord(line: string): Omit<ProduceRecord, "sequence"> {
  const fields = objectWith("record", parseJsonLine(line), RECORD_FIELDS);
  if (fields.payload === undefined) throw new FormatError("payload: missing");
  return { payload: payloadOf(fields.payload), metadata: metadataOf(fields.metadata) };
}

/** `streamkit append`. */
export const appendCommand: Command = {
  name: "append",
  summary: "append records from stdin (NDJSON) to a segment",
  usage: "<space> <segment>",
  arity: [2, 2],
  description: "Reads records from stdin, one JSON object per line: " +
    '{"payload": "<standard base64>", "metadata": {"key": "value"}} (metadata optional; blank ' +
    "lines are skipped), and appends them to the segment after its last entry, in chunks, " +
    "each committed atomically. Another writer appending meanwhile makes it fail " +
    "(SequenceMismatch) with nothing of the failing chunk written. It says on stderr how many " +
    "entries were appended, at which sequences. The store is created if it does not exist.",
  options: {},
  database: "store",
  examples: [
    `echo '{"payload":"aGVsbG8="}' | streamkit append orders order-1`,
    `printf '%s\\n' '{"payload":"e30=","metadata":{"content-type":"application/json"}}' | ` +
    "streamkit append orders order-1",
  ],
  run: async ({ args, values, signal }) => {
    const space = nameArgument("<space>", args[0]);
    const segment = nameArgument("<segment>", args[1]);
    const input = await openInput("stdin", undefined, 'records {"payload":"<base64>"}');
    return withSelectedStore(values, { mustExist: false, signal }, async (store) => {
      const head = await store.getSegmentStatus(space, segment, { signal });
      const first = (head?.lastSequence ?? 0) + 1;
      let last = first - 1;
      const records = async function* (): AsyncIterable<ProduceRecord> {
        let sequence = first;
        for await (const { text, number } of input.lines()) {
          if (text.trim() === "") continue;
          let record;
          try {
            record = parseRecord(text);
          } catch (error) {
            if (error instanceof FormatError) {
              throw new UsageError(`${input.name} line ${number}: ${error.message}`);
            }
            throw error;
          }
          yield { sequence: sequence++, ...record };
        }
      };
      const label = segmentLabel(space, segment);
      try {
        for await (const status of store.produce({ space, segment, signal }, records())) {
          last = status.lastSequence;
        }
      } finally {
        process.stderr.write(
          last < first
            ? `append: ${label}: nothing appended\n`
            : `append: ${label}: ${formatNumberOf(last - first + 1, "entry")} appended, ` +
              `sequences ${first} to ${last}\n`,
        );
      }
      return 0;
    });
  },
};
