// The table's own time, as this process knows it: the Timestamp of its latest write to the
// marker partition (carried in the ETag), moved on by the monotonic clock since (PROTOCOL.md I13).

/** A write's table time is trusted this long before a reader asks the table again. */
export const TABLE_TIME_REFRESH_MS = 15_000;

/** Lets the monotonic clock and the table's drift apart by at most this much (1,000 ppm). */
const DRIFT_PER_MS = 0.001;

/**
 * The table time an ETag carries (`W/"datetime'2026-12-07T10%3A41%3A06.1234567Z'"`), in whole
 * Unix milliseconds rounded down; `undefined` when it carries none.
 */
export function etagTime(etag: string | undefined): number | undefined {
  const match = /datetime'([^']+)'/.exec(etag ?? "");
  if (!match) return undefined;
  return tableTimeOf(decodeURIComponent(match[1]));
}

/** An ISO 8601 time as the table writes it (up to seven fraction digits), in whole Unix ms. */
export function tableTimeOf(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  // Date.parse wants at most three fraction digits.
  const time = Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(time) ? time : undefined;
}

/** The table's time as this process last learnt it. */
export class TableClock {
  /** The table time of the latest write, and the monotonic time its answer came. */
  #latest: { tableTime: number; receivedAt: number } | undefined;

  /** Notes the answer to a write of the marker partition, received just now. */
  note(etag: string | undefined): number | undefined {
    const tableTime = etagTime(etag);
    if (tableTime === undefined) return undefined;
    const receivedAt = performance.now();
    const known = this.estimate(receivedAt) ?? -Infinity;
    this.#latest = { tableTime: Math.max(tableTime, known), receivedAt };
    return tableTime;
  }

  /**
   * A lower bound of the table's time now (whole ms), or `undefined` when this process has not
   * written to the marker partition within {@linkcode TABLE_TIME_REFRESH_MS}.
   */
  lowerBound(): number | undefined {
    const now = performance.now();
    if (!this.#latest || now - this.#latest.receivedAt > TABLE_TIME_REFRESH_MS) return undefined;
    return this.estimate(now);
  }

  /** The latest write's table time moved on to monotonic time `at`, less the drift allowed. */
  estimate(at: number): number | undefined {
    if (!this.#latest) return undefined;
    const elapsed = Math.max(0, at - this.#latest.receivedAt);
    return Math.floor(this.#latest.tableTime + elapsed * (1 - DRIFT_PER_MS));
  }
}
