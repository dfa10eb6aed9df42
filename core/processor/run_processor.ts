/**
 * `runProcessor`: the loop every user of `follow` writes, once and right: take the lease, load
 * the position, follow from it, hand batches to `handle`, save the position after each (fenced
 * by the lease), renew the lease meanwhile, and start over from waiting when it is lost.
 *
 * @module
 */

import { abortableSleep } from "../abortable_sleep.ts";
import { StreamkitError } from "../errors.ts";
import { validateName } from "../names.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry, Lease, Store } from "../types.ts";
import { decodePosition, encodePosition } from "./_position.ts";

/**
 * What `handle` gets: entries in the follow's order, the position after the last of them (each
 * space's offset), whether the follow had caught up when the batch was cut, and the lease held.
 * A caught-up with nothing new since the last batch (at the start, or after a batch cut at
 * `maxEntries`) comes as an empty batch, so a handler always learns it is caught up.
 *
 * @example
 * ```ts
 * import type { ProcessorBatch } from "@streamkit/core";
 * const describe = (batch: ProcessorBatch) => `${batch.entries.length} entries`;
 * ```
 */
export interface ProcessorBatch {
  /** The batch's entries, in the follow's order. */
  entries: Entry[];
  /** Each space's offset after the batch's last entry of it (and before, for the others). */
  position: Record<string, Uint8Array>;
  /** Whether the follow had caught up when the batch was cut. */
  caughtUp: boolean;
  /**
   * The lease held while the batch is handed (`undefined` with `lease: false`): its `token`
   * fences the handler's own writes, rising with every new holder.
   */
  lease: Lease | undefined;
}

/**
 * Options of {@linkcode runProcessor}.
 *
 * @example
 * ```ts
 * import type { ProcessorOptions } from "@streamkit/core";
 * const options: ProcessorOptions = {
 *   name: "order-totals",
 *   spaces: ["orders"],
 *   handle: (batch) => console.log(batch.entries.length),
 * };
 * ```
 */
export interface ProcessorOptions {
  /** The processor's name: its lease's and its checkpoint's. */
  name: string;
  /** The spaces it follows. */
  spaces: string[];
  /** Handles one batch; the position after it is saved once it resolves. */
  handle(batch: ProcessorBatch): Promise<void> | void;
  /** A batch is cut at `maxEntries` (default 500) and at every `caught-up`. */
  batch?: { maxEntries?: number };
  /** The lease held while handling (default `{ ttlMs: 30_000 }`); `false`: none. */
  lease?: { ttlMs?: number } | false;
  /**
   * The application's own position store (say, written in the same transaction as the
   * projection's data, for exactly-once effects); the store's checkpoint `name` by default.
   */
  checkpoint?: {
    load(): Promise<Record<string, Uint8Array> | undefined>;
    save(position: Record<string, Uint8Array>): Promise<void>;
  };
  /** Retries of a failing `handle`: `attempts` in all (default 5), backoff 100 ms to 5 s. */
  retry?: { attempts?: number; minDelayMs?: number; maxDelayMs?: number };
  /**
   * Ends the processor: a batch in `handle` is finished and saved first (not retried), then
   * `runProcessor` resolves and releases the lease.
   */
  signal?: AbortSignal;
}

/**
 * Why {@linkcode runProcessor} stopped: `handle` failed every attempt at the batch starting at
 * `position` (the saved position it would resume from); the handler's error is `cause`.
 *
 * @example
 * ```ts
 * import { ProcessorHandleError } from "@streamkit/core";
 * function report(error: unknown) {
 *   if (error instanceof ProcessorHandleError) console.error(error.position, error.cause);
 * }
 * ```
 */
export class ProcessorHandleError extends Error {
  /** Where the failed batch starts: each space's offset before it. */
  readonly position: Record<string, Uint8Array>;

  /** The failure of processor `name`'s `handle` after `attempts`, at `position`. */
  constructor(
    name: string,
    attempts: number,
    position: Record<string, Uint8Array>,
    cause: unknown,
  ) {
    super(
      `processor ${JSON.stringify(name)}: handle failed ${attempts} times at the same batch: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "ProcessorHandleError";
    this.position = position;
  }
}

const DEFAULT_BATCH = 500;
const DEFAULT_TTL_MS = 30_000;
const DEFAULT_ATTEMPTS = 5;

/** The lease went away under the processor: back to waiting for it. */
class Lost {
  constructor(readonly error: unknown) {}
}

function positiveInteger(argument: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be an integer >= 1, got ${String(value)}`,
    );
  }
  return value as number;
}

/**
 * Runs a processor on `store` until `options.signal` aborts (then it resolves): with the lease
 * `name` (waiting while another instance holds it), from the saved position, `handle` gets the
 * followed entries in batches, and the position after each batch is saved once `handle`
 * resolved. Delivery is at least once: a batch handled but not saved (a crash, a lost lease)
 * is handed again, to this instance or the next. A `handle` that fails every retry rejects
 * with a {@linkcode ProcessorHandleError} naming the batch's position; nothing is skipped.
 *
 * @example
 * ```ts ignore
 * import { runProcessor } from "@streamkit/core";
 * const totals = new Map<string, number>();
 * await runProcessor(store, {
 *   name: "order-totals",
 *   spaces: ["orders"],
 *   handle: ({ entries }) => {
 *     for (const entry of entries) totals.set(entry.segment, (totals.get(entry.segment) ?? 0) + 1);
 *   },
 *   signal: AbortSignal.timeout(10_000),
 * });
 * ```
 */
export async function runProcessor(store: Store, options: ProcessorOptions): Promise<void> {
  const name = validateName("name", options?.name);
  const { spaces, handle, checkpoint } = options;
  if (!Array.isArray(spaces) || spaces.length === 0) {
    throw new StreamkitError("InvalidArgument", "spaces: must be a non-empty array of names");
  }
  spaces.forEach((space, i) => validateName(`spaces[${i}]`, space));
  if (typeof handle !== "function") {
    throw new StreamkitError("InvalidArgument", "handle: must be a function");
  }
  const maxEntries = positiveInteger("batch.maxEntries", options.batch?.maxEntries, DEFAULT_BATCH);
  const ttlMs = options.lease === false
    ? undefined
    : positiveInteger("lease.ttlMs", options.lease?.ttlMs, DEFAULT_TTL_MS);
  const attempts = positiveInteger("retry.attempts", options.retry?.attempts, DEFAULT_ATTEMPTS);
  const minDelayMs = positiveInteger("retry.minDelayMs", options.retry?.minDelayMs, 100);
  const maxDelayMs = positiveInteger("retry.maxDelayMs", options.retry?.maxDelayMs, 5_000);
  const signal = options.signal ?? new AbortController().signal;
  const owner = crypto.randomUUID();
  const instance = { store, name, spaces, handle, checkpoint, maxEntries, ttlMs, owner };
  const retry = { attempts, minDelayMs, maxDelayMs };
  try {
    while (!signal.aborted) {
      const lease = ttlMs === undefined ? undefined : await takeLease(instance, ttlMs, signal);
      // Resolves when the lease is lost: wait for it again.
      await runHolding(instance, lease, retry, signal);
    }
  } catch (error) {
    if (signal.aborted && error === signal.reason) return;
    throw error;
  }
}

interface Instance {
  store: Store;
  name: string;
  spaces: string[];
  handle: ProcessorOptions["handle"];
  checkpoint: ProcessorOptions["checkpoint"];
  maxEntries: number;
  ttlMs: number | undefined;
  owner: string;
}

/**
 * Waits for the lease: asks again every quarter ttl, at most every 250 ms, while it is held (a
 * takeover comes at most that long after the holder's lease expired).
 */
async function takeLease(instance: Instance, ttlMs: number, signal: AbortSignal): Promise<Lease> {
  const { store, name, owner } = instance;
  while (true) {
    const lease = await store.acquireLease(name, { owner, ttlMs, signal }).catch((error) => {
      if (error instanceof StreamkitError && error.transient) return undefined;
      throw error;
    });
    if (lease) return lease;
    await abortableSleep(Math.min(250, Math.max(10, Math.floor(ttlMs / 4))), signal);
  }
}

async function loadPosition(instance: Instance): Promise<Record<string, Uint8Array>> {
  if (instance.checkpoint) return { ...await instance.checkpoint.load() ?? {} };
  const saved = await instance.store.getCheckpoint(instance.name);
  return saved ? decodePosition(instance.name, saved.value) : {};
}

/**
 * Handles batches while `lease` is held (always, without one): resolves with a {@linkcode Lost}
 * once it is not, rejects when `handle` fails for good or `signal` aborts.
 */
async function runHolding(
  instance: Instance,
  initialLease: Lease | undefined,
  retry: { attempts: number; minDelayMs: number; maxDelayMs: number },
  signal: AbortSignal,
): Promise<Lost | undefined> {
  const { store, name, spaces, maxEntries, ttlMs } = instance;
  let lease = initialLease;
  const holding = new AbortController();
  const stop = AbortSignal.any([signal, holding.signal]);
  let lost: Lost | undefined;
  const lose = (error: unknown) => {
    lost ??= new Lost(error);
    holding.abort(lost);
  };
  // Renewed at a third of the ttl: two renewals may fail before it expires.
  const renewing = lease && ttlMs !== undefined && (async () => {
    while (!stop.aborted) {
      await abortableSleep(Math.max(1, Math.floor(ttlMs / 3)), stop);
      try {
        lease = await store.renewLease(lease!, { ttlMs, signal: stop });
      } catch (error) {
        if (stop.aborted) return;
        if (error instanceof StreamkitError && error.transient) continue;
        return lose(error);
      }
    }
  })().catch(() => {});
  try {
    let position = await loadPosition(instance);
    let saved = { ...position };
    let entries: Entry[] = [];
    // A batch's save runs while the next batch is read; it ends before that batch is handed.
    let saving: Promise<unknown> | undefined;
    let saveFailure: { error: unknown } | undefined;
    const saveDone = async () => {
      await saving;
      saving = undefined;
      if (saveFailure) throw saveFailure.error;
    };
    const save = async (batchPosition: Record<string, Uint8Array>) => {
      try {
        if (instance.checkpoint) await instance.checkpoint.save(batchPosition);
        else await store.putCheckpoint(name, encodePosition(batchPosition), { lease });
        saved = batchPosition;
      } catch (error) {
        if (error instanceof StreamkitError && error.kind === "LeaseLost") lose(error);
        else saveFailure = { error };
      }
    };
    const deliver = async (caughtUp: boolean) => {
      // Offsets are encoded once a batch is cut, from its last entry of each space: encoding
      // one per entry would cost about as much as reading it.
      const last = new Map<string, Entry>();
      for (const entry of entries) last.set(entry.space, entry);
      position = { ...position };
      for (const [space, entry] of last) position[space] = spaceOffset(entry);
      const handed = entries;
      entries = [];
      await saveDone();
      if (lost) return;
      // Renewed at a third of the ttl, a healthy lease has two thirds left: with less, renewals
      // failed twice, and another host's clock (a shared store) may see it expired already.
      if (lease && ttlMs !== undefined && Date.now() >= lease.expiresAt - ttlMs / 3) {
        return lose(new Error("lease nearly expired without a renewal"));
      }
      const batch = { entries: handed, position, caughtUp, lease };
      await handleWithRetries(instance, batch, saved, retry, stop);
      // A batch handled is saved also when the caller stopped meanwhile (the stop ends the
      // processor after it); not once the lease is lost: the next holder hands it again.
      if (lost || batch.entries.length === 0) return;
      saving = save(batch.position);
    };
    const cursors = Object.fromEntries(spaces.map((space) => [space, position[space]]));
    // Whether the last batch handed said caught-up: a caught-up with nothing new since a batch
    // cut at maxEntries (or since the start) hands an empty batch, so `handle` learns of it.
    let toldCaughtUp = false;
    try {
      for await (const event of store.follow({ spaces: cursors, signal: stop })) {
        if (event.type === "entry") {
          entries.push(event.entry);
          if (entries.length >= maxEntries) {
            toldCaughtUp = false;
            await deliver(false);
          }
        } else if (entries.length > 0 || !toldCaughtUp) {
          toldCaughtUp = true;
          await deliver(true);
        }
        if (lost) return lost;
      }
    } finally {
      await saveDone();
    }
    return lost;
  } catch (error) {
    if (lost && holding.signal.aborted && (error === lost || error === holding.signal.reason)) {
      return lost;
    }
    throw error;
  } finally {
    holding.abort(new StreamkitError("Closed", "the processor left its lease"));
    await renewing;
    // Leaving for good (not lost): the next instance need not wait out the ttl.
    if (!lost && lease) await store.releaseLease(lease).catch(() => {});
  }
}

async function handleWithRetries(
  instance: Instance,
  batch: ProcessorBatch,
  saved: Record<string, Uint8Array>,
  { attempts, minDelayMs, maxDelayMs }: {
    attempts: number;
    minDelayMs: number;
    maxDelayMs: number;
  },
  stop: AbortSignal,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await instance.handle(batch);
      return;
    } catch (error) {
      if (attempt >= attempts) {
        throw new ProcessorHandleError(instance.name, attempts, saved, error);
      }
      await abortableSleep(Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1)), stop);
    }
  }
}
