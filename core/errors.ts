/**
 * The errors every streamkit driver reports, with a kind and whether a retry may succeed.
 *
 * @module
 */

/**
 * What went wrong, in one word.
 *
 * - `InvalidArgument`: bad input (names, ids, bounds, offsets, records); nothing was done.
 * - `SequenceMismatch`: records do not continue the segment (see {@linkcode SequenceMismatchError}).
 * - `Conflict`: another writer changed the segment concurrently; transient.
 * - `PayloadTooLarge`: a record exceeds `limits.maxPayloadBytes`; nothing of its chunk was written.
 * - `Closed`: the store or factory was closed.
 * - `StoreLocked`: another process holds the store; transient.
 * - `CorruptData`: stored or supplied bytes do not decode.
 * - `Unavailable`: the backend cannot be reached right now; transient.
 * - `AccessDenied`: the backend refused the credentials; the message says what to check.
 * - `ClockSkew`: this process's clock is further from the shared backend's time than the
 *   driver allows; nothing was written (the message gives the measured offset and the option).
 * - `LeaseLost`: the lease given is no longer its name's current one (it expired and was
 *   taken, or was released); nothing was written.
 *
 * @example
 * ```ts
 * import type { ErrorKind } from "@streamkit/core";
 * const retryable: ErrorKind[] = ["Conflict", "StoreLocked", "Unavailable"];
 * ```
 */
export type ErrorKind =
  | "InvalidArgument"
  | "SequenceMismatch"
  | "Conflict"
  | "PayloadTooLarge"
  | "Closed"
  | "StoreLocked"
  | "CorruptData"
  | "Unavailable"
  | "AccessDenied"
  | "ClockSkew"
  | "LeaseLost";

/**
 * A finer reason within a kind, for callers that act on it (a command that suggests a flag,
 * say) rather than on the message's wording.
 *
 * - `InsecureEndpoint` (an `InvalidArgument`): an `http:` endpoint was refused because
 *   insecure HTTP was not allowed (Azure's `allowInsecureHttp`, for the emulator only).
 *
 * @example
 * ```ts
 * import { StreamkitError } from "@streamkit/core";
 * const error = new StreamkitError("InvalidArgument", "endpoint: http: is refused", {
 *   code: "InsecureEndpoint",
 * });
 * console.log(error.code); // "InsecureEndpoint"
 * ```
 */
export type ErrorCode = "InsecureEndpoint";

const TRANSIENT_KINDS: ReadonlySet<ErrorKind> = new Set(["Conflict", "StoreLocked", "Unavailable"]);

/**
 * Options of a {@linkcode StreamkitError}.
 *
 * @example
 * ```ts
 * import { StreamkitError, type StreamkitErrorOptions } from "@streamkit/core";
 * const options: StreamkitErrorOptions = { transient: true };
 * throw new StreamkitError("Unavailable", "backend did not answer", options);
 * ```
 */
export interface StreamkitErrorOptions {
  /** Overrides the kind's default (Conflict, StoreLocked and Unavailable are transient). */
  transient?: boolean;
  /** The underlying error. */
  cause?: unknown;
  /** The finer reason, when the kind has one that callers act on. */
  code?: ErrorCode;
}

/**
 * The error every streamkit operation fails with.
 *
 * @example
 * ```ts
 * import { StreamkitError } from "@streamkit/core";
 * try {
 *   throw new StreamkitError("InvalidArgument", "space: must not be empty");
 * } catch (error) {
 *   if (error instanceof StreamkitError && error.kind === "InvalidArgument") console.log(error.message);
 * }
 * ```
 */
export class StreamkitError extends Error {
  /** What went wrong. */
  readonly kind: ErrorKind;
  /** Whether retrying the same call may succeed. */
  readonly transient: boolean;
  /** The finer reason within the kind, if any (see {@linkcode ErrorCode}). */
  readonly code: ErrorCode | undefined;

  /** Creates an error of `kind`; `transient` defaults from the kind. */
  constructor(kind: ErrorKind, message: string, options: StreamkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StreamkitError";
    this.kind = kind;
    this.transient = options.transient ?? TRANSIENT_KINDS.has(kind);
    this.code = options.code;
  }
}

/**
 * Records that do not continue their segment: the first record must be the segment's last
 * sequence + 1 (1 for a new segment), each next one the previous + 1.
 *
 * @example
 * ```ts
 * import { SequenceMismatchError } from "@streamkit/core";
 * const error = new SequenceMismatchError("orders", "order-1", 4, 2);
 * console.log(error.expected, error.actual); // 4 2
 * ```
 */
export class SequenceMismatchError extends StreamkitError {
  /** The sequence the segment needed at that position. */
  readonly expected: number;
  /** The sequence the record carried. */
  readonly actual: number;

  /** Creates the error for a record of `space`/`segment`. */
  constructor(space: string, segment: string, expected: number, actual: number) {
    super(
      "SequenceMismatch",
      `sequence mismatch in space ${JSON.stringify(space)} segment ${
        JSON.stringify(segment)
      }: expected ${expected}, got ${actual}`,
    );
    this.name = "SequenceMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Whether `error` is a streamkit error that a retry may cure.
 *
 * @example
 * ```ts
 * import { isTransient, StreamkitError } from "@streamkit/core";
 * console.log(isTransient(new StreamkitError("Unavailable", "timeout"))); // true
 * console.log(isTransient(new Error("boom"))); // false
 * ```
 */
export function isTransient(error: unknown): boolean {
  return error instanceof StreamkitError && error.transient;
}
