// Progress of long work (export, import, copy, verify) on stderr: a line redrawn in place while
// stderr is a terminal (entries, bytes, rate, elapsed), nothing while it is not; and one summary
// line at the end, always. stdout carries only data.

import process from "node:process";
import { setInterval } from "node:timers";

const REDRAW_MS = 250;

/** `count` with thousands separators: 12,345. */
export function formatCount(count: number): string {
  // Whole numbers grouped here, as en-US groups them: a process's first toLocaleString loads
  // locale data, some 10 ms of a command's run.
  if (!Number.isSafeInteger(count) || Object.is(count, -0)) return count.toLocaleString("en-US");
  const digits = String(Math.abs(count));
  let grouped = digits.slice(0, (digits.length - 1) % 3 + 1);
  for (let at = grouped.length; at < digits.length; at += 3) {
    grouped += `,${digits.slice(at, at + 3)}`;
  }
  return count < 0 ? `-${grouped}` : grouped;
}

/** `count` and `noun`, plural unless it is one: "1 segment", "12,345 entries". */
export function formatNumberOf(count: number, noun: string): string {
  const plural = noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`;
  return `${formatCount(count)} ${count === 1 ? noun : plural}`;
}

/** A byte count in B, KiB, MiB or GiB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds as seconds (or minutes and seconds). */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Counts of the work done so far, shown while it runs. */
export class Progress {
  readonly #started = performance.now();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  entries = 0;
  bytes = 0;
  /** What `bytes` counts, said after the figure: "of payloads", "written". */
  readonly bytesAre: string;

  /**
   * Starts redrawing the progress line, if stderr is a terminal. `bytesAre` says what the bytes
   * counted are, so that no one takes payload bytes for a file's size.
   */
  constructor(bytesAre = "of payloads") {
    this.bytesAre = bytesAre;
    if (process.stderr.isTTY) {
      this.#timer = setInterval(() => this.#draw(), REDRAW_MS);
      this.#timer.unref();
    }
  }

  /** Milliseconds since the start. */
  get elapsedMs(): number {
    return performance.now() - this.#started;
  }

  /** Counts `entries` more entries (one unless told) and `bytes` more bytes. */
  add(bytes: number, entries = 1): void {
    this.entries += entries;
    this.bytes += bytes;
  }

  /** `entries, bytes, rate, elapsed`, as the progress line and summaries show them. */
  describe(): string {
    const elapsed = this.elapsedMs;
    const rate = elapsed > 0 ? Math.round(this.entries / (elapsed / 1000)) : 0;
    const bytes = `${formatBytes(this.bytes)} ${this.bytesAre}`;
    return `${formatNumberOf(this.entries, "entry")}, ${bytes}, ${formatCount(rate)} entries/s, ` +
      formatDuration(elapsed);
  }

  #draw(): void {
    process.stderr.write(`\r\x1b[K${this.describe()}`);
  }

  /** Stops redrawing, clears the progress line and writes `summary` as one line on stderr. */
  finish(summary: string): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      process.stderr.write("\r\x1b[K");
    }
    process.stderr.write(`${summary}\n`);
  }

  /** Stops redrawing and clears the progress line (the command failed; its error follows). */
  stop(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      process.stderr.write("\r\x1b[K");
    }
  }
}
