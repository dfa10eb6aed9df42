/**
 * A sleep that an `AbortSignal` cuts short, for the waits of drivers and processors (backoff,
 * reconnection, polling for a lease).
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or rejects with `signal.reason` as soon as `signal` aborts
 * (at once if it already has); no timer or listener outlives it.
 *
 * @example
 * ```ts
 * import { abortableSleep } from "@streamkit/core/driver";
 * await abortableSleep(10, AbortSignal.timeout(1_000));
 * ```
 */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
