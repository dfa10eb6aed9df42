// `streamkit checkpoints`: every checkpoint of the store, one per line, for people or as the
// export format's checkpoint lines (--format jsonl).

import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { formatCheckpoint } from "../_export_format.ts";
import { LineOutput } from "../_output.ts";
import { formatCheckpointText } from "../_text_format.ts";
import { formatOption, outputFormat } from "./_format.ts";

/** `streamkit checkpoints`. */
export const checkpointsCommand: Command = {
  name: "checkpoints",
  summary: "list the checkpoints of the store (processors' positions)",
  usage: "",
  arity: [0, 0],
  description: "Prints every checkpoint of the store, one per line, by name in ascending UTF-8 " +
    "byte order: its name, v<version>, when it was last written (ISO time, by the writer's " +
    "clock), its size, and its value as text when it is text, else as base64:... --format " +
    "jsonl prints the lines `export --checkpoints` writes, which `import` reads back.",
  options: {
    format: formatOption(
      'one {"checkpoint": name, "version", "updatedAt": Unix ms, "value": "<standard base64>"} ' +
        "object per line",
    ),
  },
  database: "store",
  examples: ["streamkit checkpoints", "streamkit checkpoints --format jsonl"],
  run: ({ values, signal }) => {
    const show = outputFormat(values) === "jsonl" ? formatCheckpoint : formatCheckpointText;
    return withSelectedStore(values, { mustExist: true, signal }, async (store) => {
      const output = LineOutput.stdout();
      for await (const checkpoint of store.getCheckpoints({ signal })) {
        await output.line(show(checkpoint));
      }
      await output.finish(true);
      return 0;
    });
  },
};
