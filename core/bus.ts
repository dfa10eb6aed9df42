/**
 * Notifications of committed chunks: after each commit a store publishes the segment status to
 * its factory's bus.
 *
 * @module
 */

import type { SegmentStatus, StoreId } from "./types.ts";

/**
 * Carries segment statuses from the stores that commit chunks to whoever listens.
 *
 * @example
 * ```ts
 * import type { SegmentStatus, StatusBus } from "@streamkit/core";
 * const loggingBus: StatusBus = {
 *   publish(storeId: string, status: SegmentStatus) {
 *     console.log(storeId, status.segment, status.lastSequence);
 *   },
 *   async *subscribe() {},
 * };
 * ```
 */
export interface StatusBus {
  /** Announces a committed chunk's status; must not throw or block. */
  publish(storeId: StoreId, status: SegmentStatus): void;
  /**
   * Statuses published for `storeId` and `space`, for one `segment` or `"*"` for all of them,
   * until `signal` aborts.
   */
  subscribe(
    storeId: StoreId,
    space: string,
    segment: string,
    signal?: AbortSignal,
  ): AsyncIterable<SegmentStatus>;
}

interface Subscriber {
  storeId: StoreId;
  space: string;
  segment: string;
  /** Pending statuses, newest per segment: a slow reader sees the latest, memory stays bounded. */
  pending: Map<string, SegmentStatus>;
  wake: (() => void) | undefined;
}

/**
 * An in-process {@linkcode StatusBus}. A subscriber that reads slower than chunks commit gets the
 * newest status of each segment rather than every intermediate one, so its buffer stays bounded
 * by the number of segments.
 *
 * @example
 * ```ts
 * import { MemoryBus } from "@streamkit/core";
 * const bus = new MemoryBus();
 * const controller = new AbortController();
 * const storeId = "0f8fad5b-d9cb-469f-a165-70867728950e";
 * const listening = (async () => {
 *   for await (const status of bus.subscribe(storeId, "orders", "*", controller.signal)) {
 *     console.log(status.segment, status.lastSequence);
 *     controller.abort();
 *   }
 * })().catch(() => {});
 * bus.publish(storeId, {
 *   space: "orders", segment: "order-1",
 *   firstSequence: 1, firstTimestamp: 1, lastSequence: 1, lastTimestamp: 1,
 * });
 * await listening;
 * ```
 */
export class MemoryBus implements StatusBus {
  #subscribers = new Set<Subscriber>();

  /** Delivers `status` to every matching subscriber. */
  publish(storeId: StoreId, status: SegmentStatus): void {
    const id = storeId.toLowerCase();
    for (const subscriber of this.#subscribers) {
      if (subscriber.storeId !== id || subscriber.space !== status.space) continue;
      if (subscriber.segment !== "*" && subscriber.segment !== status.segment) continue;
      subscriber.pending.delete(status.segment);
      subscriber.pending.set(status.segment, { ...status });
      subscriber.wake?.();
    }
  }

  /** Yields matching statuses until `signal` aborts (then it throws the signal's reason). */
  async *subscribe(
    storeId: StoreId,
    space: string,
    segment: string,
    signal?: AbortSignal,
  ): AsyncIterable<SegmentStatus> {
    signal?.throwIfAborted();
    const subscriber: Subscriber = {
      storeId: storeId.toLowerCase(),
      space,
      segment,
      pending: new Map(),
      wake: undefined,
    };
    const onAbort = () => subscriber.wake?.();
    this.#subscribers.add(subscriber);
    signal?.addEventListener("abort", onAbort);
    try {
      while (true) {
        signal?.throwIfAborted();
        const next = subscriber.pending.entries().next();
        if (!next.done) {
          subscriber.pending.delete(next.value[0]);
          yield next.value[1];
          continue;
        }
        await new Promise<void>((resolve) => subscriber.wake = resolve);
        subscriber.wake = undefined;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#subscribers.delete(subscriber);
    }
  }
}
