/**
 * @streamkit/cli: the `streamkit` command, for operators and developers of streamkit stores:
 * list stores, spaces and segments, show a segment's status, list checkpoints and leases, read
 * or follow entries, append records, export, import and copy stores exactly and resumably
 * (LevelDB to Azure, backups), verify a store, and serve a database's stores over HTTP
 * (`streamkit serve`, reached by the other commands with `--db http(s)://<host>:<port>`). The
 * same on Deno and Node.
 *
 * This module is the command itself: importing it runs it with the process's arguments. From
 * npm, `npx streamkit --help`; with Deno, `deno run -A jsr:@streamkit/cli --help`; in the
 * streamkit repository, `npx deno task streamkit --help`.
 *
 * ```sh
 * streamkit stores --db level:./.streamkit-data
 * streamkit read orders order-1 --format jsonl
 * streamkit export --out backup.ndjson
 * streamkit copy --db level:./.streamkit-data --to azure --allow-insecure-http
 * ```
 *
 * @module
 */

import process from "node:process";
import { type OptionValues, parseCommandLine } from "./_args.ts";
import type { Command } from "./_command.ts";
import { secretsFromEnvironment } from "./_db.ts";
import { describeError, exitCodeOf, redact, UsageError } from "./_errors.ts";
import { acceptedOptions, commandHelp, HELP_OPTIONS, overviewHelp } from "./_help.ts";
import { OutputClosed } from "./_output.ts";
import { interruptSignal } from "./_signals.ts";
import { appendCommand } from "./_commands/append.ts";
import { checkpointsCommand } from "./_commands/checkpoints.ts";
import { copyCommand } from "./_commands/copy.ts";
import { exportCommand } from "./_commands/export.ts";
import { importCommand } from "./_commands/import.ts";
import { leasesCommand } from "./_commands/leases.ts";
import { segmentsCommand, spacesCommand, storesCommand } from "./_commands/listings.ts";
import { readCommand } from "./_commands/read.ts";
import { serveCommand } from "./_commands/serve.ts";
import { statusCommand } from "./_commands/status.ts";
import { verifyCommand } from "./_commands/verify.ts";

const COMMANDS: readonly Command[] = [
  storesCommand,
  spacesCommand,
  segmentsCommand,
  statusCommand,
  checkpointsCommand,
  leasesCommand,
  readCommand,
  appendCommand,
  exportCommand,
  importCommand,
  copyCommand,
  verifyCommand,
  serveCommand,
];

/** Every option of every command: the command line is parsed before its command is known. */
const ALL_OPTIONS = Object.assign({}, HELP_OPTIONS, ...COMMANDS.map(acceptedOptions));

function commandNamed(name: string): Command {
  const command = COMMANDS.find((command) => command.name === name);
  if (command === undefined) {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}: \`streamkit --help\` lists the commands`,
    );
  }
  return command;
}

/** The command line, parsed and checked: a help text to print, or a command to run. */
type Invocation = { help: string } | { command: Command; args: string[]; values: OptionValues };

/** Reads the command line; a usage error for anything the commands do not take. */
function invocationOf(args: string[]): Invocation {
  const line = parseCommandLine(args, ALL_OPTIONS);
  const [name, ...rest] = line.positionals;
  if (name === undefined || name === "help") {
    if (name === undefined && !line.given.has("help")) {
      throw new UsageError("no command given: `streamkit --help` lists the commands");
    }
    if (rest.length > 1) throw new UsageError("help takes at most one <command>");
    return {
      help: rest.length === 0 ? overviewHelp(COMMANDS) : commandHelp(commandNamed(rest[0])),
    };
  }
  const command = commandNamed(name);
  if (line.given.has("help")) return { help: commandHelp(command) };
  const accepted = acceptedOptions(command);
  for (const [option, spelled] of line.given) {
    if (!Object.hasOwn(accepted, option)) {
      throw new UsageError(
        `${name} takes no ${spelled}: \`streamkit help ${name}\` lists its options`,
      );
    }
  }
  const [min, max] = command.arity;
  if (rest.length < min || rest.length > max) {
    const expected = command.usage.replace(/--\S+ <[^>]*>/g, "").trim();
    throw new UsageError(
      expected === ""
        ? `${name} takes no arguments, got ${rest.map((arg) => JSON.stringify(arg)).join(" ")}`
        : `${name} expects ${expected}, got ${rest.length} argument${rest.length === 1 ? "" : "s"}`,
    );
  }
  return { command, args: rest, values: line.values };
}

/**
 * Runs the command line `args`, which `interrupt` aborts; resolves to the exit code. Errors go to
 * stderr, as one line.
 */
async function streamkit(args: string[], interrupt: AbortSignal): Promise<number> {
  const secrets = secretsFromEnvironment();
  let prefix = "streamkit";
  try {
    const invocation = invocationOf(args);
    if ("help" in invocation) {
      process.stdout.write(invocation.help);
      return 0;
    }
    const { command, args: rest, values } = invocation;
    prefix = `streamkit ${command.name}`;
    return await command.run({ args: rest, values, signal: interrupt });
  } catch (error) {
    // The reader of stdout went away (`streamkit read ... | head`): nothing more to do.
    if (error instanceof OutputClosed) return 0;
    const failure = interrupt.aborted ? interrupt.reason : error;
    // A mistake found while parsing the line: named after the command the line starts with,
    // unless the message names it already ("spaces takes no --to").
    const first = args[0];
    if (
      prefix === "streamkit" && failure instanceof UsageError &&
      COMMANDS.some(({ name }) => name === first) && !failure.message.startsWith(`${first} `)
    ) {
      prefix = `streamkit ${first}`;
    }
    process.stderr.write(redact(`${prefix}: ${describeError(failure)}\n`, secrets));
    return exitCodeOf(failure);
  }
}

const interrupt = interruptSignal();
// Node ends a process that only awaits a promise (a LevelDB follow waiting for a commit) with
// exit code 13: this timer keeps it running until the command is done.
const keepAlive = setInterval(() => {}, 2 ** 30);
const code = await streamkit(process.argv.slice(2), interrupt.signal);
clearInterval(keepAlive);
// Interrupted, it exits now, while SIGINT and SIGTERM are handled: ending by itself, the runtime
// restores their default action first, and a repeat (deno task forwards what the terminal sends
// to the whole group) would kill the process instead of letting it exit with its code.
if (interrupt.signal.aborted) process.exit(code);
interrupt[Symbol.dispose]();
process.exitCode = code;
