// What both ends agree on besides frames (README "Protocol"): the version prefix, content types,
// errors as JSON and HTTP statuses, arguments as JSON (bytes as hex), checkpoints and leases.

import {
  type Checkpoint,
  type ErrorKind,
  fromHex,
  type Lease,
  SequenceMismatchError,
  StreamkitError,
  toHex,
} from "@streamkit/core";

/** The path prefix of this protocol's version. */
export const API_PREFIX = "/v1";
/** Bodies of frames. */
export const FRAMES_TYPE = "application/x-streamkit-frames";
/** Bodies of one JSON object. */
export const JSON_TYPE = "application/json";

/**
 * How much of a write's body a client may send beyond what the server said its store read
 * (credit frames): at most this many items and bytes of frame payloads (one item always).
 */
export interface ReadAhead {
  items: number;
  bytes: number;
}

/** An error as it travels: its kind, message and what a caller may act on. */
export interface WireError {
  kind: ErrorKind;
  message: string;
  transient: boolean;
  /** A `SequenceMismatch`'s sequences. */
  expected?: number;
  actual?: number;
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  "InvalidArgument",
  "SequenceMismatch",
  "Conflict",
  "PayloadTooLarge",
  "Closed",
  "StoreLocked",
  "CorruptData",
  "Unavailable",
  "AccessDenied",
  "ClockSkew",
  "LeaseLost",
]);

/** `error` as it travels; anything not a streamkit error is an internal failure. */
export function toWireError(error: unknown): WireError {
  if (error instanceof StreamkitError) {
    const wire: WireError = {
      kind: error.kind,
      message: error.message,
      transient: error.transient,
    };
    if (error instanceof SequenceMismatchError) {
      wire.expected = error.expected;
      wire.actual = error.actual;
    }
    return wire;
  }
  // The server's own failure: its message stays in its log, not on the wire.
  return {
    kind: "Unavailable",
    message: "the server failed to serve the request",
    transient: true,
  };
}

/** The error a client throws for a wire error (the same kind as the server's). */
export function fromWireError(value: unknown): StreamkitError {
  const wire = value as Partial<WireError> | null;
  if (!wire || typeof wire.kind !== "string" || !KINDS.has(wire.kind)) {
    return new StreamkitError("Unavailable", "the server answered with an unreadable error");
  }
  const message = typeof wire.message === "string" ? wire.message : wire.kind;
  if (
    wire.kind === "SequenceMismatch" && typeof wire.expected === "number" &&
    typeof wire.actual === "number"
  ) {
    // The same message: rebuilt from its parts, it names the space and segment again.
    const error = new SequenceMismatchError("", "", wire.expected, wire.actual);
    Object.defineProperty(error, "message", { value: message });
    return error;
  }
  return new StreamkitError(wire.kind, message, { transient: wire.transient === true });
}

/** The HTTP status of an error answered before any of the body. */
export function httpStatusOf(error: WireError): number {
  switch (error.kind) {
    case "InvalidArgument":
      return 400;
    case "AccessDenied":
      return 403;
    case "PayloadTooLarge":
      return 413;
    case "SequenceMismatch":
    case "Conflict":
    case "ClockSkew":
    case "LeaseLost":
      return 409;
    case "Closed":
    case "StoreLocked":
    case "Unavailable":
      return 503;
    case "CorruptData":
      return 500;
  }
}

/** A checkpoint as an answer carries it (`null`: none), its value as `{"$bytes": hex}`. */
export function checkpointToJson(checkpoint: Checkpoint | undefined): unknown {
  if (checkpoint === undefined) return null;
  const { name, value, version, updatedAt } = checkpoint;
  return { name, value: { $bytes: toHex(value) }, version, updatedAt };
}

/** A lease as an answer carries it (`null`: none), its four fields only. */
export function leaseToJson(lease: Lease | undefined): unknown {
  if (lease === undefined) return null;
  const { name, owner, token, expiresAt } = lease;
  return { name, owner, token, expiresAt };
}

function unreadable(what: string): StreamkitError {
  return new StreamkitError("Unavailable", `the server answered with an unreadable ${what}`);
}

/** A checkpoint from its answer (see {@linkcode checkpointToJson}). */
export function checkpointFromJson(json: unknown): Checkpoint | undefined {
  if (json === null) return undefined;
  const { name, value, version, updatedAt } = (json ?? {}) as Record<string, unknown>;
  const hex = (value as { $bytes?: unknown } | null)?.$bytes;
  if (
    typeof name !== "string" || typeof hex !== "string" || !/^(?:[0-9a-f]{2})*$/i.test(hex) ||
    typeof version !== "number" || typeof updatedAt !== "number"
  ) {
    throw unreadable("checkpoint");
  }
  return { name, value: fromHex(hex), version, updatedAt };
}

/** A lease from its answer (see {@linkcode leaseToJson}). */
export function leaseFromJson(json: unknown): Lease | undefined {
  if (json === null) return undefined;
  const { name, owner, token, expiresAt } = (json ?? {}) as Record<string, unknown>;
  if (
    typeof name !== "string" || typeof owner !== "string" || typeof token !== "number" ||
    typeof expiresAt !== "number"
  ) {
    throw unreadable("lease");
  }
  return { name, owner, token, expiresAt };
}

/** How deep arguments may nest: deeper ones are refused (and cycles end there). */
const MAX_ARGS_DEPTH = 32;

function tooDeep(): StreamkitError {
  return new StreamkitError(
    "InvalidArgument",
    `arguments: nested deeper than ${MAX_ARGS_DEPTH} levels`,
  );
}

/** Sets `object[key]` as an own property, whatever the key (`__proto__` included). */
function define(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * `value` as JSON, with what JSON lacks tagged (`{"$bytes": hex}`, `{"$undefined": true}`,
 * `{"$number": "NaN"}`, `{"$bigint": "1"}`): arguments cross the wire as the caller gave them,
 * and the server's store checks them as it checks a local caller's. Signals stay behind.
 */
export function argsToJson(value: unknown, depth = 0): unknown {
  if (value instanceof Uint8Array) return { $bytes: toHex(value) };
  if (value === undefined) return { $undefined: true };
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  if (typeof value === "bigint") return { $bigint: String(value) };
  if (typeof value === "function" || typeof value === "symbol") {
    return { $unsupported: typeof value };
  }
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_ARGS_DEPTH) throw tooDeep();
  if (Array.isArray(value)) return value.map((item) => argsToJson(item, depth + 1));
  const json: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!(item instanceof AbortSignal)) define(json, key, argsToJson(item, depth + 1));
  }
  return json;
}

/** Arguments from their JSON (see {@linkcode argsToJson}). */
export function argsFromJson(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_ARGS_DEPTH) throw tooDeep();
  if (Array.isArray(value)) return value.map((item) => argsFromJson(item, depth + 1));
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1) {
    const tag = object[keys[0]];
    switch (keys[0]) {
      case "$bytes":
        if (typeof tag === "string" && /^(?:[0-9a-f]{2})*$/i.test(tag)) return fromHex(tag);
        throw new StreamkitError("InvalidArgument", "arguments: $bytes must be hex");
      case "$undefined":
        return undefined;
      case "$number":
        return Number(tag);
      case "$bigint":
        try {
          return BigInt(String(tag));
        } catch {
          throw new StreamkitError("InvalidArgument", "arguments: $bigint must be an integer");
        }
      case "$unsupported":
        return Symbol(String(tag));
    }
  }
  const args: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    define(args, key, argsFromJson(item, depth + 1));
  }
  return args;
}
