// What every command of `streamkit` is: its name, help, options, and how it runs.

import type { OptionSpecs, OptionValues } from "./_args.ts";

/** What a command runs with. */
export interface CommandContext {
  /** The positional arguments after the command's name. */
  args: string[];
  /** Every option's value, by name. */
  values: OptionValues;
  /** Aborts when SIGINT or SIGTERM arrives. */
  signal: AbortSignal;
}

/** One command of `streamkit`. */
export interface Command {
  name: string;
  /** One line, for the overview of `streamkit --help`. */
  summary: string;
  /** The arguments of the usage line, e.g. `<space> [<segment>]`. */
  usage: string;
  /** The fewest and the most positional arguments it takes. */
  arity: readonly [number, number];
  /** What it does, in a few lines, for `streamkit help <command>`. */
  description: string;
  /** Its own options (the database options come with `database`). */
  options: OptionSpecs;
  /** The database options it takes: `--db` and its kin, and `--store` for `"store"`. */
  database: "database" | "store";
  /** Command lines shown in its help. */
  examples: string[];
  /** Runs it; resolves to the exit code (0, or 1 for a failed check). */
  run(context: CommandContext): Promise<number>;
}
