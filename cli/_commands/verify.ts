// `streamkit verify`: the store checked through the API (core's verifyStore); each problem on
// stdout, exit code 1 if there is any.

import { verifyStore } from "@streamkit/core";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { LineOutput } from "../_output.ts";
import { formatNumberOf, Progress } from "../_progress.ts";
import { showText } from "../_text_format.ts";
import { formatOption, outputFormat } from "./_format.ts";

/** `streamkit verify`. */
export const verifyCommand: Command = {
  name: "verify",
  summary: "check the store for damage (exit code 1 if it finds any)",
  usage: "",
  arity: [0, 0],
  description: "Reads the whole store through the API, so it works on every driver, and checks " +
    "that every segment is contiguous from its first sequence, its timestamps never decrease, " +
    "its trx numbers and ids are consistent and its status equals its first and last entries; " +
    "that each space's index holds exactly its segments' entries; and that the inventory " +
    "lists exactly the spaces and segments that hold entries. Each problem found is printed " +
    "on stdout (space, segment, sequence, what differs); a summary goes to stderr. Exit code " +
    "0: the store is sound; 1: problems were found.",
  options: {
    format: formatOption("one problem per line as {space, segment?, sequence?, problem}"),
  },
  database: "store",
  examples: ["streamkit verify", "streamkit verify --db azure --format jsonl > problems.jsonl"],
  run: ({ values, signal }) => {
    const format = outputFormat(values);
    return withSelectedStore(
      values,
      { mustExist: true, signal },
      async (store, { storeId, database }) => {
        const progress = new Progress();
        let report;
        try {
          report = await verifyStore(store, {
            signal,
            onProgress: ({ entries, bytes }) => {
              progress.entries = entries;
              progress.bytes = bytes;
            },
          });
        } catch (error) {
          progress.stop();
          throw error;
        }
        progress.entries = report.entries;
        progress.bytes = report.bytes;
        const output = LineOutput.stdout();
        for (const problem of report.problems) {
          if (format === "jsonl") await output.line(JSON.stringify(problem));
          else {
            const where = [
              ...(problem.space === "" ? [] : [`space ${showText(problem.space)}`]),
              ...(problem.segment === undefined ? [] : [`segment ${showText(problem.segment)}`]),
              ...(problem.sequence === undefined ? [] : [`sequence ${problem.sequence}`]),
            ];
            await output.line(`${where.join(" ")}: ${problem.problem}`);
          }
        }
        await output.finish(true);
        const counted = `${progress.describe()}: ${formatNumberOf(report.segments, "segment")} ` +
          `in ${formatNumberOf(report.spaces, "space")} of store ${storeId} (${database.name})`;
        progress.finish(
          report.sound
            ? `verify: sound: ${counted}`
            : `verify: ${formatNumberOf(report.problems.length, "problem")} found: ${counted}`,
        );
        return report.sound ? 0 : 1;
      },
    );
  },
};
