/**
 * Small async helpers shared by the conformance suite and the tests (through
 * `_test_util.ts`): collecting an iterable, sleeping, and a timeout that names what hung.
 *
 * @module
 */

/** Every item of `items`, in order, in an array (for short, bounded reads). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Races `promise` against a timer (always cleared); a hang becomes a failure naming `what`. */
export async function withTimeout<T>(promise: Promise<T>, what: string, ms: number): Promise<T> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
