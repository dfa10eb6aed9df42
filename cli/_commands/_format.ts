// The --format option the commands that print share: text for people, JSON lines for programs.

import { choiceOption, type OptionSpec, type OptionValues } from "../_args.ts";

/** The output formats. */
export type OutputFormat = "text" | "jsonl";

/** The `--format` option, with help saying what each format prints. */
export function formatOption(help: string): OptionSpec {
  return {
    type: "string",
    value: "<format>",
    expects: "text or jsonl",
    help: `text (default) or jsonl (${help})`,
  };
}

/** The `--format` given, or `text`. */
export function outputFormat(values: OptionValues): OutputFormat {
  return choiceOption(values, "format", ["text", "jsonl"] as const, "text");
}
