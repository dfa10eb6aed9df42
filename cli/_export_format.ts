// The export format: one entry per line of NDJSON,
// {"space","segment","sequence","timestamp","trx":{"id","node","number"},"metadata":{},"payload"}
// with the payload in standard base64. `export` and `read --format jsonl` write it, `import`
// reads it; every field travels exactly, so export then import reproduces a store. With
// `--checkpoints`, checkpoints follow as lines of their own: {"checkpoint","version","updatedAt",
// "value"} (what `checkpoints --format jsonl` prints too).

import { type Checkpoint, type Entry, validateName, validateUuid } from "@streamkit/core";
import { base64Problem, decodeBase64, encodeBase64 } from "./_base64.ts";

/** A line that is not an entry of the export format; the message says which field and why. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FormatError";
  }
}

/** The fields of an entry's line, in the order {@linkcode formatEntry} writes them. */
export const ENTRY_FIELDS: readonly string[] = [
  "space",
  "segment",
  "sequence",
  "timestamp",
  "trx",
  "metadata",
  "payload",
];
const TRX_FIELDS = new Set(["id", "node", "number"]);

/**
 * One line of the export format for `entry` (without the line break): what `JSON.stringify` of
 * the object `{space, segment, sequence, timestamp, trx: {id, node, number}, metadata, payload}`
 * gives, put together here without making that object (a store's numbers are whole, and base64
 * needs no escaping).
 */
export function formatEntry(entry: Entry): string {
  const { trx } = entry;
  return `{"space":${JSON.stringify(entry.space)},"segment":${JSON.stringify(entry.segment)},` +
    `"sequence":${entry.sequence},"timestamp":${entry.timestamp},"trx":{"id":${
      JSON.stringify(trx.id)
    },"node":${JSON.stringify(trx.node)},"number":${trx.number}},"metadata":${
      JSON.stringify(entry.metadata)
    },"payload":"${encodeBase64(entry.payload)}"}`;
}

/**
 * Parses `line` as JSON; a {@linkcode FormatError} if it is not, saying where in the line when
 * the parser says it.
 */
export function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new FormatError(jsonProblem(line, (error as Error).message));
  }
}

/**
 * The parser's `message` about `line` as a message of the line's own: the parser counts lines
 * and positions in the text it was given, one line, which messages name by its number in the
 * input; so its position becomes a column of the line and its line and column go, as does the
 * copy of the text it may quote.
 */
function jsonProblem(line: string, message: string): string {
  const quoting = /^(.*?), (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s.exec(message);
  if (quoting !== null) return `not JSON (${quoting[1]})`;
  const at = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/s.exec(message);
  if (at === null) return `not JSON (${message})`;
  // Columns count characters, as an editor shows them, not the UTF-16 units of the position.
  const column = [...line.slice(0, Number(at[2]))].length + 1;
  return `not JSON at column ${column} (${at[1]})`;
}

/** `value` as a plain object with only `allowed` fields; a {@linkcode FormatError} otherwise. */
export function objectWith(
  what: string,
  value: unknown,
  allowed: ReadonlySet<string>,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FormatError(`${what}: must be an object`);
  }
  for (const field of Object.keys(value)) {
    if (!allowed.has(field)) {
      throw new FormatError(
        `${what}: unknown field ${JSON.stringify(field)} (expected ${[...allowed].join(", ")})`,
      );
    }
  }
  return value as Record<string, unknown>;
}

/** Metadata: an object of strings (absent: `{}`). */
export function metadataOf(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FormatError("metadata: must be an object of strings");
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new FormatError(`metadata[${JSON.stringify(key)}]: must be a string`);
    }
  }
  return value as Record<string, string>;
}

/** Bytes in standard base64 text, as field `what`; the message says what is wrong with it. */
function base64Of(what: string, value: unknown): Uint8Array {
  if (typeof value !== "string") throw new FormatError(`${what}: must be standard base64 text`);
  const bytes = decodeBase64(value);
  if (bytes === undefined) {
    throw new FormatError(`${what}: must be standard base64 text, but ${base64Problem(value)}`);
  }
  return bytes;
}

/** A payload: standard base64 text. */
export function payloadOf(value: unknown): Uint8Array {
  return base64Of("payload", value);
}

function wholeNumber(what: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new FormatError(
      `${what}: must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new FormatError((error as Error).message);
  }
}

/** The entry one line of the export format holds; a {@linkcode FormatError} names what is wrong. */
export function parseEntry(line: string): Entry {
  return entryOf(parseJsonLine(line));
}

/** The entry of a line's JSON. */
function entryOf(json: unknown): Entry {
  const fields = objectWith("entry", json, new Set(ENTRY_FIELDS));
  for (const field of ENTRY_FIELDS) {
    if (fields[field] === undefined) throw new FormatError(`${field}: missing`);
  }
  const trx = objectWith("trx", fields.trx, TRX_FIELDS);
  return {
    space: checked(() => validateName("space", fields.space)),
    segment: checked(() => validateName("segment", fields.segment)),
    sequence: wholeNumber("sequence", fields.sequence, 1),
    timestamp: wholeNumber("timestamp", fields.timestamp, 0),
    trx: {
      // Kept as written (not lower-cased): the entry travels exactly.
      id: checked(() => (validateUuid("trx.id", trx.id), trx.id as string)),
      node: checked(() => (validateUuid("trx.node", trx.node), trx.node as string)),
      number: wholeNumber("trx.number", trx.number, 1),
    },
    metadata: metadataOf(fields.metadata),
    payload: payloadOf(fields.payload),
  };
}

/** The fields of a checkpoint's line, in the order {@linkcode formatCheckpoint} writes them. */
const CHECKPOINT_FIELDS: ReadonlySet<string> = new Set([
  "checkpoint",
  "version",
  "updatedAt",
  "value",
]);

/**
 * One line of the export format for `checkpoint`: `{"checkpoint": name, "version", "updatedAt",
 * "value": "<standard base64>"}`, told from an entry's line by its `checkpoint` field.
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  return JSON.stringify({
    checkpoint: checkpoint.name,
    version: checkpoint.version,
    updatedAt: checkpoint.updatedAt,
    value: encodeBase64(checkpoint.value),
  });
}

/**
 * The checkpoint of a line's JSON. Its `version` and `updatedAt` say what the source had; they
 * may be left out (a destination writes the value at its own next version and time).
 */
function checkpointOf(json: unknown): Checkpoint {
  const fields = objectWith("checkpoint", json, CHECKPOINT_FIELDS);
  if (fields.value === undefined) throw new FormatError("value: missing");
  return {
    name: checked(() => validateName("checkpoint", fields.checkpoint)),
    version: fields.version === undefined ? 0 : wholeNumber("version", fields.version, 1),
    updatedAt: fields.updatedAt === undefined ? 0 : wholeNumber("updatedAt", fields.updatedAt, 0),
    value: base64Of("value", fields.value),
  };
}

/** What one line of the export format holds: an entry, or a checkpoint. */
export type ExportLine = { entry: Entry } | { checkpoint: Checkpoint };

/**
 * One line of the export format: a checkpoint when its object has a `checkpoint` field, else
 * an entry; a {@linkcode FormatError} names what is wrong.
 */
export function parseExportLine(line: string): ExportLine {
  const json = parseJsonLine(line);
  if (typeof json === "object" && json !== null && Object.hasOwn(json, "checkpoint")) {
    return { checkpoint: checkpointOf(json) };
  }
  return { entry: entryOf(json) };
}
