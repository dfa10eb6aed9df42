// SIGINT and SIGTERM end a command cleanly: its signal aborts, the store finishes or drops the
// chunk in flight and closes (then exit 130; `serve` exits 0). A second signal, not a repeat of
// the first, ends the process at once.

import process from "node:process";
import { EXIT_INTERRUPTED, Interrupted } from "./_errors.ts";

// Windows has no SIGTERM to listen to.
const SIGNALS = process.platform === "win32" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];

/**
 * The same signal again within this many milliseconds is the first one delivered twice, not a
 * second request: Ctrl-C signals the terminal's whole process group, and `deno task` forwards
 * the SIGINT it gets to its child as well (some milliseconds later, or merged with it).
 */
const REPEAT_MS = 1000;

/** An abort signal that fires on SIGINT or SIGTERM, until disposed. */
export function interruptSignal(): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  let first: { name: string; at: number } | undefined;
  const onSignal = (name: string) => {
    const now = performance.now();
    if (first === undefined) {
      first = { name, at: now };
      controller.abort(new Interrupted(name));
    } else if (name !== first.name || now - first.at >= REPEAT_MS) {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
