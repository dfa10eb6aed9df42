/**
 * The one test utility module of the repository: what tests in every folder share (collecting
 * reads, byte equality, sleeping, waiting for a condition, timeouts, reading a child's lines).
 * Not published.
 *
 * @module
 */

export { collect, sleep, withTimeout } from "./_async.ts";
export { equalBytes } from "./codec/bytes.ts";
import { sleep } from "./_async.ts";

/**
 * Polls `condition` every `intervalMs` until it holds; past `timeoutMs` throws an error naming
 * `what`.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

/** Calls `onLine` with every whole line of `stream`; returns what followed the last newline. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<string> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  return pending;
}
