// Data output: lines to stdout or to a file (`--out`), batched, with backpressure. A reader that
// goes away (`streamkit read ... | head`) ends the command quietly; a file is written whole or
// not at all (under a temporary name until it is complete).

import { open, rename, unlink } from "node:fs/promises";
import process from "node:process";
import type { Writable } from "node:stream";
import { UsageError } from "./_errors.ts";

/** Thrown by a write after the reader of stdout went away (EPIPE): the command just stops. */
export class OutputClosed extends Error {
  constructor() {
    super("the reader of the output went away");
    this.name = "OutputClosed";
  }
}

const BATCH_CHARS = 64 * 1024;

/** What `line` returns when it only queued the line: nothing to wait for. */
const QUEUED: Promise<void> = Promise.resolve();

/**
 * What a file's stream holds before `write` asks to wait: several batches, so the next ones
 * are put together while the file is written (with the default, 64 KiB, every batch waited
 * for its own write).
 */
const STREAM_BUFFER_BYTES = 1024 * 1024;

/** Lines written to a stream, in batches. */
export class LineOutput {
  readonly #stream: Writable;
  readonly #onFinish: (completed: boolean) => Promise<void>;
  /** The lines queued, each with its line break. */
  #batch = "";
  #failure: Error | undefined;

  private constructor(stream: Writable, onFinish: (completed: boolean) => Promise<void>) {
    this.#stream = stream;
    this.#onFinish = onFinish;
    stream.on("error", (error: Error & { code?: string }) => {
      this.#failure ??= error.code === "EPIPE" ? new OutputClosed() : error;
    });
  }

  /** Lines to stdout. */
  static stdout(): LineOutput {
    return new LineOutput(process.stdout, () => Promise.resolve());
  }

  /**
   * Lines to the file `path` (given as `flag`): written as `<path>.partial`, renamed to `path`
   * by `finish(true)`, removed by `finish(false)`. A file that cannot be written is a usage
   * error, before any work.
   */
  static async file(flag: string, path: string): Promise<LineOutput> {
    const partial = `${path}.partial`;
    const file = await open(partial, "w").catch((error) => {
      throw new UsageError(
        `${flag} ${path}: cannot write it (${(error as { code?: string }).code})`,
      );
    });
    const stream = file.createWriteStream({ highWaterMark: STREAM_BUFFER_BYTES });
    return new LineOutput(stream, async (completed) => {
      await new Promise<void>((resolve, reject) => {
        stream.once("error", reject);
        stream.end(resolve);
      });
      if (completed) await rename(partial, path);
      else await unlink(partial).catch(() => {});
    });
  }

  /**
   * Queues one line (a line break is added); writes the batch when it is large. Not `async`:
   * a line that is only queued costs no promise of its own.
   */
  line(text: string): Promise<void> {
    this.#batch += `${text}\n`;
    return this.#batch.length >= BATCH_CHARS ? this.flush() : QUEUED;
  }

  /** Writes what is queued, waiting while the stream is full. */
  async flush(): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#batch.length === 0) return;
    const chunk = this.#batch;
    this.#batch = "";
    if (!this.#stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#stream.off("drain", done);
          this.#stream.off("error", done);
          resolve();
        };
        this.#stream.on("drain", done);
        this.#stream.on("error", done);
      });
    }
    if (this.#failure) throw this.#failure;
  }

  /** Flushes and, for a file, completes it (`completed`) or throws it away. */
  async finish(completed: boolean): Promise<void> {
    try {
      if (completed) await this.flush();
    } finally {
      await this.#onFinish(completed && this.#failure === undefined);
    }
  }
}
