// Lines of NDJSON input, from a file (`--in`) or from stdin, numbered for messages.

import { open } from "node:fs/promises";
import process from "node:process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { UsageError } from "./_errors.ts";

/** Where input comes from. */
export interface Input {
  /** How messages name the input: `--in backup.ndjson` or `stdin`. */
  readonly name: string;
  /** Its lines (without line breaks), numbered from 1. */
  lines(): AsyncIterable<{ text: string; number: number }>;
  close(): Promise<void>;
}

async function* numberedLines(stream: Readable) {
  let number = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    number++;
    // A byte order mark a text editor may have put at the start is no part of the data.
    yield { text: number === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text, number };
  }
}

/**
 * The file `path` (given as `flag`), or stdin when `path` is `undefined` or `-`; a person at a
 * terminal is told that `expected` lines are read from stdin.
 */
export async function openInput(
  flag: string,
  path: string | undefined,
  expected: string,
): Promise<Input> {
  if (path === undefined || path === "-") {
    if (process.stdin.isTTY) {
      process.stderr.write(`reading ${expected} from stdin, one per line; end with Ctrl-D\n`);
    }
    return {
      name: "stdin",
      lines: () => numberedLines(process.stdin),
      close: () => Promise.resolve(),
    };
  }
  const file = await open(path, "r").catch((error) => {
    throw new UsageError(`${flag} ${path}: cannot read it (${(error as { code?: string }).code})`);
  });
  return {
    name: `${flag} ${path}`,
    lines: () => numberedLines(file.createReadStream({ autoClose: false })),
    close: () => file.close(),
  };
}
