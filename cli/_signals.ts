// SIGINT and SIGTERM end a command cleanly: its signal aborts, the store finishes or drops the
// chunk in flight and closes. A second one ends the process at once.

import process from "node:process";
import { EXIT_INTERRUPTED, Interrupted } from "./_errors.ts";

// Windows has no SIGTERM to listen to.
const SIGNALS = process.platform === "win32" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];

/** An abort signal that fires on SIGINT or SIGTERM, until disposed. */
export function interruptSignal(): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const onSignal = (name: string) => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort(new Interrupted(name));
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
