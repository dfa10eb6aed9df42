// The failures a command ends with, and its exit codes: 1 for a failed check or a command that
// could not complete, 2 for bad usage, 130 when interrupted.

/** Bad usage: the message names the flag or argument at fault and what it expects. Exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A check that failed: verify found damage, or the destination of a copy or import holds
 * something other than the source. Exit 1.
 */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckFailed";
  }
}

/**
 * What a command reads is not there: a LevelDB directory, a space or a segment. Exit 1 (a typo
 * must not look like an empty space). The message is `what`, then `hint` in parentheses.
 */
export class NotFound extends Error {
  /** What is not there, e.g. `store <id> holds no space "orders"`. */
  readonly what: string;
  constructor(what: string, hint?: string) {
    super(hint === undefined ? what : `${what} (${hint})`);
    this.name = "NotFound";
    this.what = what;
  }
}

/** The reason a command's signal aborts with on SIGINT or SIGTERM. */
export class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
  }
}

/** Exit codes of the `streamkit` command. */
export const EXIT_SUCCESS = 0;
/** A failed check, or a command that could not complete. */
export const EXIT_FAILURE = 1;
/** Bad usage. */
export const EXIT_USAGE = 2;
/** Ended by SIGINT or SIGTERM before it was done (the shell's 128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** The exit code `error` ends the command with. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof Interrupted) return EXIT_INTERRUPTED;
  return EXIT_FAILURE;
}

/**
 * The one line told about `error`: its message only. Causes and stacks stay out: an SDK's error
 * may carry a request whose headers are derived from a secret.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const kind = (error as { kind?: unknown }).kind;
    return typeof kind === "string" ? `${kind}: ${error.message}` : error.message;
  }
  return String(error);
}

/** `text` with every occurrence of each secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret.length > 0) redacted = redacted.replaceAll(secret, "***");
  }
  return redacted;
}
