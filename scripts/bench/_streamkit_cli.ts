/**
 * The `streamkit` command as the CLI scenarios run it: `cli/main.ts` in a process of its own,
 * timed from its start to its exit; and the checks of what it wrote, after the clock stops.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { collectGarbage } from "./_contestant.ts";

const ROOT = fromFileUrl(new URL("../..", import.meta.url));
const CLI_MAIN = fromFileUrl(new URL("../../cli/main.ts", import.meta.url));

/**
 * What one run of the command took, and the last line it wrote to stderr (its summary).
 *
 * @example
 * ```ts ignore
 * const { seconds, summary }: CommandRun = await runStreamkit(["export", "--out", file]);
 * ```
 */
export interface CommandRun {
  seconds: number;
  summary: string;
}

/**
 * Runs `streamkit` with `args` in a process of its own, from the repository's root, and
 * resolves to the seconds from its start to its exit and its summary line; a failure (an exit
 * code other than 0) throws with what it wrote to stderr.
 *
 * @example
 * ```ts ignore
 * const { seconds } = await runStreamkit(["copy", "--db", "level:/tmp/a", "--to", "level:/tmp/b"]);
 * ```
 */
export async function runStreamkit(args: string[]): Promise<CommandRun> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI_MAIN, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    // Not a terminal: the command draws no progress line, only its summary at the end.
    stderr: "piped",
  });
  collectGarbage();
  const start = performance.now();
  const { code, stderr } = await command.output();
  const seconds = (performance.now() - start) / 1000;
  const text = new TextDecoder().decode(stderr).trim();
  if (code !== 0) throw new Error(`streamkit ${args[0]}: exit code ${code}: ${text}`);
  const lines = text.split("\n");
  return { seconds, summary: lines[lines.length - 1] };
}

/**
 * The lines of the file `path` (its line breaks), read in pieces.
 *
 * @example
 * ```ts ignore
 * const entries = await countLines("/tmp/b/export.ndjson");
 * ```
 */
export async function countLines(path: string): Promise<number> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1024 * 1024);
  let lines = 0;
  for (let read = await file.read(buffer); read !== null; read = await file.read(buffer)) {
    for (let i = 0; i < read; i++) if (buffer[i] === 0x0a) lines++;
  }
  return lines;
}
