// The command line: options parsed by `node:util`'s parseArgs (the same on Deno and Node), then
// checked here so every mistake is a usage error naming the flag and what it expects.

import { parseArgs } from "node:util";
import { validateName } from "@streamkit/core";
import { UsageError } from "./_errors.ts";

/** One option a command takes. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** Whether it may be given more than once (its values then come as a list). */
  multiple?: boolean;
  /** A one-letter alias, e.g. `h` for `--help`. */
  short?: string;
  /** A string option's value in the help, e.g. `<dir>`. */
  value?: string;
  /** What a string option's value must be, said in usage errors: "a whole number". */
  expects?: string;
  /** The help line. */
  help: string;
}

/** Options by name (without the dashes). */
export type OptionSpecs = Record<string, OptionSpec>;

/** Values of a parsed command line, by option name. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** A parsed command line. */
export interface CommandLine {
  positionals: string[];
  values: OptionValues;
  /** Each option given, by name, as it was spelled (`--limit`, `-h`): for messages. */
  given: Map<string, string>;
}

/**
 * Parses `args` against `options` (every option any command takes: which command accepts which
 * is checked by the caller, once it knows the command). Throws a {@linkcode UsageError} for an
 * unknown option, a missing value (none, or a long option where it should be), a value given to
 * a flag, or a repeated option.
 */
export function parseCommandLine(args: string[], options: OptionSpecs): CommandLine {
  // Not strict: parseArgs' own errors do not say what a value should be; the tokens let the
  // checks below say it.
  const { values, positionals, tokens } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.entries(options).map(([name, spec]) => [
        name,
        {
          type: spec.type,
          multiple: spec.multiple ?? false,
          ...(spec.short === undefined ? {} : { short: spec.short }),
        },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (spec === undefined) {
      throw new UsageError(
        `unknown option ${token.rawName} (put \`--\` before an argument that starts with "-")`,
      );
    }
    const expected = `${token.rawName} expects ${spec.expects ?? spec.value}`;
    if (spec.type === "boolean" && token.value !== undefined) {
      throw new UsageError(`${token.rawName} takes no value, got ${JSON.stringify(token.value)}`);
    }
    if (spec.type === "string" && token.value === undefined) throw new UsageError(expected);
    // parseArgs takes the next argument as the value whatever it is: one spelled as a long option
    // (`--limit --follow`) means the value was left out. Any other (`-1`, `-`, `-x`) is a value,
    // checked by the command, whose message names it and what the flag expects.
    if (spec.type === "string" && !token.inlineValue && token.value?.startsWith("--")) {
      throw new UsageError(`${expected}, got ${token.value}: is the value missing?`);
    }
    if (given.has(token.name) && !spec.multiple) {
      throw new UsageError(`${token.rawName} is given twice`);
    }
    given.set(token.name, token.rawName);
  }
  return { positionals, values, given };
}

/** A string option's value, or `undefined` when it is not given. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A repeatable string option's values; empty when it is not given. */
export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : [];
}

/** Whether a flag is given. */
export function flagOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** A whole number ≥ `min` given as `flag`, or `undefined` when it is not given. */
export function countOption(
  values: OptionValues,
  name: string,
  min: number,
  what: string,
): number | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return undefined;
  const count = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(count) || count < min) {
    throw new UsageError(`--${name} expects ${what}, got ${JSON.stringify(value)}`);
  }
  return count;
}

/** One of `choices` given as `--name`, or `fallback`. */
export function choiceOption<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = stringOption(values, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(
      `--${name} expects one of ${choices.join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** A space or segment name given as the argument `argument` (`<space>`), checked. */
export function nameArgument(argument: string, value: string): string {
  try {
    return validateName(argument, value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
