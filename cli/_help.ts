// The help texts: `streamkit --help` (the overview) and `streamkit help <command>`.

import type { OptionSpecs } from "./_args.ts";
import type { Command } from "./_command.ts";
import { DATABASE_OPTIONS, STORE_OPTIONS } from "./_db.ts";

const WIDTH = 100;

/** The `--help` option every command takes. */
export const HELP_OPTIONS: OptionSpecs = {
  help: { type: "boolean", short: "h", help: "show this help" },
};

/** `text` wrapped at WIDTH columns, every line indented by `indent` spaces. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((text) => " ".repeat(indent) + text).join("\n");
}

/** Two columns: the terms, padded, and their wrapped descriptions. */
function table(rows: [string, string][]): string {
  const termWidth = Math.min(28, Math.max(...rows.map(([term]) => term.length)) + 2);
  return rows.map(([term, text]) => {
    const head = `  ${term}`;
    const column = termWidth + 2;
    const wrapped = wrap(text, column);
    return head.length + 1 >= column
      ? `${head}\n${wrapped}`
      : `${head.padEnd(column)}${wrapped.slice(column)}`;
  }).join("\n");
}

function optionRows(options: OptionSpecs): [string, string][] {
  return Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ""}--${name}`;
    const term = spec.value === undefined ? flag : `${flag} ${spec.value}`;
    return [term, spec.help];
  });
}

/** The options `command` accepts: its own, the database's, and `--help`. */
export function acceptedOptions(command: Command): OptionSpecs {
  return {
    ...command.options,
    ...DATABASE_OPTIONS,
    ...(command.database === "store" ? STORE_OPTIONS : {}),
    ...HELP_OPTIONS,
  };
}

// The README's "Operating a store" lists the same exit codes and says the same of progress:
// change both together.
const EXIT_CODES = "Exit codes: 0 success; 1 a failed check (verify found damage, copy or " +
  "import found that the destination differs from the source), `status` of a segment with no " +
  "entries, a space or segment that does not exist, a LevelDB directory that does not exist, " +
  "or a command that could not complete; 2 bad usage (the message names the flag or argument " +
  "and what it expects; a `--store` the database does not hold too); 130 interrupted by SIGINT (Ctrl-C) or SIGTERM, " +
  "`read --follow` too (what was committed stays: import and copy continue when run again).";

const OUTPUT = "stdout carries only data. Long work (export, import, copy, verify) shows its " +
  "progress on stderr only while stderr is a terminal (entries, bytes, rate, elapsed), and " +
  "always ends with a one-line summary on stderr.";

const AZURE = "Azure: --db azure connects with STREAMKIT_AZURE_CONNECTION_STRING, or with " +
  "STREAMKIT_AZURE_ACCOUNT_NAME and STREAMKIT_AZURE_ACCOUNT_KEY (and STREAMKIT_AZURE_ENDPOINT " +
  "for an emulator). Secrets are never taken from the command line and never printed.";

const SERVER = "Servers: --db http(s)://<host>:<port>[/<path>] works on the stores a " +
  "`streamkit serve` serves, with the bearer token from STREAMKIT_TOKEN (a JWT whose scope " +
  "grants the store: streamkit::<store id> or streamkit::* to write, streamkit:read::... to " +
  "read only).";

/** `streamkit --help`. */
export function overviewHelp(commands: readonly Command[]): string {
  const commandRows: [string, string][] = commands.map((command) => [
    [command.name, command.usage].filter(Boolean).join(" "),
    command.summary,
  ]);
  commandRows.push(["help [<command>]", "show the help of a command"]);
  return [
    "streamkit: inspect, tail, back up, restore, verify, move and serve streamkit stores",
    "",
    "Usage: streamkit <command> [<arguments>] [options]",
    "",
    "Commands:",
    table(commandRows),
    "",
    "Database options (every command):",
    table(optionRows({ ...DATABASE_OPTIONS, ...STORE_OPTIONS, ...HELP_OPTIONS })),
    "",
    wrap(AZURE, 0),
    "",
    wrap(SERVER, 0),
    "",
    wrap(OUTPUT, 0),
    "",
    wrap(EXIT_CODES, 0),
    "",
    "`streamkit help <command>` or `streamkit <command> --help` shows a command's options.",
    "",
  ].join("\n");
}

/** `streamkit help <command>`. */
export function commandHelp(command: Command): string {
  const usage = ["streamkit", command.name, command.usage, "[options]"].filter(Boolean).join(" ");
  const own = optionRows(command.options);
  const database = optionRows({
    ...DATABASE_OPTIONS,
    ...(command.database === "store" ? STORE_OPTIONS : {}),
    ...HELP_OPTIONS,
  });
  return [
    `streamkit ${command.name}: ${command.summary}`,
    "",
    `Usage: ${usage}`,
    "",
    wrap(command.description, 0),
    "",
    ...(own.length === 0 ? [] : ["Options:", table(own), ""]),
    "Database options:",
    table(database),
    "",
    "Examples:",
    ...command.examples.map((example) => `  ${example}`),
    "",
  ].join("\n");
}
