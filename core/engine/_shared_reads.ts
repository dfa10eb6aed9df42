/**
 * Follow reads of one range that start while one is under way share its result: followers
 * caught up at one position all wake at one commit, and a backend read each would cost as many
 * reads as followers. Only small results are shared (held whole); each caller gets copies of
 * the entries, as a read of its own would give it.
 *
 * @module
 */

import type { Entry } from "../types.ts";

/** Results with more entries than this are not shared: each caller reads on its own. */
export const MAX_SHARED_ENTRIES = 256;

interface SharedRead {
  result: Promise<Entry[] | undefined>;
  /** Callers waiting for it: the read stops once all of them stopped. */
  waiting: number;
  controller: AbortController;
}

/** The reads under way, by what they read. */
export class SharedReads {
  readonly #reads = new Map<string, SharedRead>();

  /**
   * The entries `read` yields, copied for this caller, or `undefined` when there are more than
   * {@linkcode MAX_SHARED_ENTRIES} (the caller reads on its own then). A call with the `key` of
   * a read under way waits for that read instead of starting one; `key` must name the range
   * and the commits it may see.
   */
  async read(
    key: string,
    read: (signal: AbortSignal) => Promise<AsyncIterable<Entry>>,
    stop: AbortSignal,
  ): Promise<Entry[] | undefined> {
    stop.throwIfAborted();
    let shared = this.#reads.get(key);
    if (shared === undefined) {
      const started: SharedRead = {
        result: Promise.resolve(undefined),
        waiting: 0,
        controller: new AbortController(),
      };
      started.result = collectUpTo(read, started.controller.signal).finally(() => {
        if (this.#reads.get(key) === started) this.#reads.delete(key);
      });
      started.result.catch(() => {});
      this.#reads.set(key, started);
      shared = started;
    }
    const joined = shared;
    joined.waiting++;
    try {
      const entries = await untilAborted(joined.result, stop);
      return entries?.map(copyEntry);
    } finally {
      if (--joined.waiting === 0) joined.controller.abort(stop.reason);
    }
  }
}

async function collectUpTo(
  read: (signal: AbortSignal) => Promise<AsyncIterable<Entry>>,
  signal: AbortSignal,
): Promise<Entry[] | undefined> {
  const entries: Entry[] = [];
  for await (const entry of await read(signal)) {
    if (entries.length === MAX_SHARED_ENTRIES) return undefined;
    entries.push(entry);
  }
  return entries;
}

/** `promise`, or `signal`'s reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function copyEntry(entry: Entry): Entry {
  return {
    ...entry,
    trx: { ...entry.trx },
    payload: entry.payload.slice(),
    metadata: { ...entry.metadata },
  };
}
