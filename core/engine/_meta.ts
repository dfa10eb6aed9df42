/**
 * Checkpoints and leases over a backend's small records (`getMeta`/`putMeta`): each change a
 * compare-and-set of the record's version, retried when another writer came first. A fenced
 * checkpoint write rewrites its lease's record unchanged in the same `putMeta`, so it commits
 * only while the lease is the one read. The listings read each name `listMeta` gives.
 *
 * @module
 */

import type { MetaKind, MetaRecord, MetaWrite } from "../backend.ts";
import { StreamkitError } from "../errors.ts";
import { validateName } from "../names.ts";
import type {
  AcquireLeaseOptions,
  Checkpoint,
  Lease,
  PutCheckpointOptions,
  RenewLeaseOptions,
} from "../types.ts";
import type { StoreHandle } from "./_opened_store.ts";

/**
 * The largest checkpoint value, in bytes (64 KiB).
 *
 * @example
 * ```ts
 * import { MAX_CHECKPOINT_BYTES } from "@streamkit/core";
 * console.log(MAX_CHECKPOINT_BYTES); // 65536
 * ```
 */
export const MAX_CHECKPOINT_BYTES = 64 * 1024;
/**
 * Checks a checkpoint's value as `putCheckpoint` does: a `Uint8Array` (else `InvalidArgument`)
 * of at most {@linkcode MAX_CHECKPOINT_BYTES} (else `PayloadTooLarge`), both naming `value`.
 *
 * @example
 * ```ts
 * import { validateCheckpointValue } from "@streamkit/core";
 * validateCheckpointValue(new Uint8Array(10)); // returns it
 * ```
 */
export function validateCheckpointValue(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StreamkitError("InvalidArgument", "value: must be a Uint8Array");
  }
  if (value.byteLength > MAX_CHECKPOINT_BYTES) {
    throw new StreamkitError(
      "PayloadTooLarge",
      `value: ${value.byteLength} bytes exceeds the limit of ${MAX_CHECKPOINT_BYTES} bytes for a checkpoint`,
    );
  }
  return value;
}

/** The longest lease, in ms (a day), and the longest owner, in UTF-16 code units. */
const MAX_TTL_MS = 86_400_000;
const MAX_OWNER_LENGTH = 256;
/** Attempts at a compare-and-set that other writers keep winning before `Conflict`. */
const MAX_ATTEMPTS = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A checkpoint's record: float64 version, float64 updatedAt, then the value. */
function encodeCheckpoint(version: number, updatedAt: number, value: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16 + value.byteLength);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, version);
  view.setFloat64(8, updatedAt);
  bytes.set(value, 16);
  return bytes;
}

function decodeCheckpoint(name: string, record: MetaRecord): Checkpoint {
  const { value } = record;
  if (value.byteLength < 16) throw corrupt("checkpoint", name);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    name,
    // A plain Uint8Array whatever the backend read into (classic-level: a Buffer).
    value: new Uint8Array(value.subarray(16)),
    version: view.getFloat64(0),
    updatedAt: view.getFloat64(8),
  };
}

/** A lease as its record keeps it: with the lifetime it was last given. */
interface LeaseRecord extends Lease {
  ttlMs: number;
}

/** A lease's record: float64 token, expiresAt and ttlMs, then the owner in UTF-8. */
function encodeLease(lease: LeaseRecord): Uint8Array {
  const owner = encoder.encode(lease.owner);
  const bytes = new Uint8Array(24 + owner.byteLength);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, lease.token);
  view.setFloat64(8, lease.expiresAt);
  view.setFloat64(16, lease.ttlMs);
  bytes.set(owner, 24);
  return bytes;
}

function decodeLease(name: string, record: MetaRecord): LeaseRecord {
  const { value } = record;
  if (value.byteLength < 24) throw corrupt("lease", name);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    name,
    owner: decoder.decode(value.subarray(24)),
    token: view.getFloat64(0),
    expiresAt: view.getFloat64(8),
    ttlMs: view.getFloat64(16),
  };
}

/** What a caller is given of a lease record. */
function leaseOf({ name, owner, token, expiresAt }: LeaseRecord): Lease {
  return { name, owner, token, expiresAt };
}

function corrupt(kind: string, name: string): StreamkitError {
  return new StreamkitError("CorruptData", `${kind} ${JSON.stringify(name)}: its record is cut`);
}

function contended(kind: string, name: string): StreamkitError {
  return new StreamkitError(
    "Conflict",
    `${kind} ${JSON.stringify(name)}: other writers changed it ${MAX_ATTEMPTS} times in a row`,
  );
}

function leaseLost(lease: Lease, why: string): StreamkitError {
  return new StreamkitError(
    "LeaseLost",
    `lease ${JSON.stringify(lease.name)} (token ${lease.token}, owner ${
      JSON.stringify(lease.owner)
    }): ${why}`,
  );
}

function checkTtl(argument: string, ttlMs: unknown): number {
  if (!Number.isSafeInteger(ttlMs) || (ttlMs as number) < 1 || (ttlMs as number) > MAX_TTL_MS) {
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: must be an integer from 1 to ${MAX_TTL_MS} (a day), got ${String(ttlMs)}`,
    );
  }
  return ttlMs as number;
}

/** Checks a lease given back to the store: its fields, as `acquireLease` made them. */
function checkLease(lease: unknown): Lease {
  const { name, owner, token, expiresAt } = (lease ?? {}) as Lease;
  if (typeof lease !== "object" || lease === null) {
    throw new StreamkitError("InvalidArgument", "lease: must be a lease acquireLease returned");
  }
  validateName("lease.name", name);
  if (typeof owner !== "string" || !Number.isSafeInteger(token) || token < 1) {
    throw new StreamkitError(
      "InvalidArgument",
      "lease: must be a lease acquireLease returned (owner, token)",
    );
  }
  if (typeof expiresAt !== "number") {
    throw new StreamkitError("InvalidArgument", "lease.expiresAt: must be a number");
  }
  return { name, owner, token, expiresAt };
}

/** The lease record of `lease.name` and what it says, if it is still `lease`. */
async function currentLease(
  handle: StoreHandle,
  lease: Lease,
  signal: AbortSignal | undefined,
): Promise<{ record: MetaRecord; current: LeaseRecord }> {
  const record = await handle.opened.backend.getMeta("lease", lease.name, signal);
  if (record === undefined) throw leaseLost(lease, "no such lease was acquired");
  const current = decodeLease(lease.name, record);
  if (current.token !== lease.token || current.owner !== lease.owner) {
    throw leaseLost(lease, `taken since (token ${current.token})`);
  }
  if (current.expiresAt <= handle.opened.clock.now()) {
    throw leaseLost(lease, current.expiresAt === 0 ? "released" : "expired");
  }
  return { record, current };
}

/** `store.getCheckpoint(name)`. */
export async function getCheckpoint(
  handle: StoreHandle,
  name: string,
  signal: AbortSignal | undefined,
): Promise<Checkpoint | undefined> {
  validateName("name", name);
  handle.assertReadable(signal);
  const record = await handle.opened.backend.getMeta("checkpoint", name, signal);
  handle.assertReadable(signal);
  return record && decodeCheckpoint(name, record);
}

/** `store.putCheckpoint(name, value, options)`. */
export async function putCheckpoint(
  handle: StoreHandle,
  name: string,
  value: Uint8Array,
  { expectedVersion, lease, signal }: PutCheckpointOptions,
): Promise<Checkpoint> {
  validateName("name", name);
  validateCheckpointValue(value);
  if (
    expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)
  ) {
    throw new StreamkitError(
      "InvalidArgument",
      `expectedVersion: must be an integer >= 0, got ${String(expectedVersion)}`,
    );
  }
  const fence = lease === undefined ? undefined : checkLease(lease);
  handle.assertReadable(signal);
  const { backend, clock } = handle.opened;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const [record, held] = await Promise.all([
      backend.getMeta("checkpoint", name, signal),
      fence && currentLease(handle, fence, signal),
    ]);
    const version = record ? decodeCheckpoint(name, record).version : 0;
    if (expectedVersion !== undefined && version !== expectedVersion) {
      throw new StreamkitError(
        "Conflict",
        `checkpoint ${JSON.stringify(name)}: at version ${version}, not ${expectedVersion}`,
        { transient: false },
      );
    }
    const checkpoint = { name, value: value.slice(), version: version + 1, updatedAt: clock.now() };
    const writes: MetaWrite[] = [{
      kind: "checkpoint",
      name,
      expected: record?.version,
      value: encodeCheckpoint(checkpoint.version, checkpoint.updatedAt, value),
    }];
    // The lease's record rewritten as it is: the write commits only while it is still the one.
    if (held) {
      writes.push({
        kind: "lease",
        name: held.current.name,
        expected: held.record.version,
        value: held.record.value,
      });
    }
    handle.assertReadable(signal);
    if (await backend.putMeta(writes, signal)) return checkpoint;
  }
  throw contended("checkpoint", name);
}

/** `store.acquireLease(name, options)`. */
export async function acquireLease(
  handle: StoreHandle,
  name: string,
  options: AcquireLeaseOptions,
): Promise<Lease | undefined> {
  validateName("name", name);
  const { owner, signal } = options ?? {};
  if (typeof owner !== "string" || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    throw new StreamkitError(
      "InvalidArgument",
      `owner: must be a string of 1 to ${MAX_OWNER_LENGTH} characters`,
    );
  }
  const ttlMs = checkTtl("ttlMs", options?.ttlMs);
  handle.assertReadable(signal);
  const { backend, clock } = handle.opened;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await backend.getMeta("lease", name, signal);
    const previous = record && decodeLease(name, record);
    const now = clock.now();
    if (previous && previous.owner !== owner && previous.expiresAt > now) return undefined;
    const lease = { name, owner, token: (previous?.token ?? 0) + 1, expiresAt: now + ttlMs, ttlMs };
    handle.assertReadable(signal);
    const written = await backend.putMeta(
      [{ kind: "lease", name, expected: record?.version, value: encodeLease(lease) }],
      signal,
    );
    if (written) return leaseOf(lease);
  }
  throw contended("lease", name);
}

/** `store.renewLease(lease, options)`. */
export async function renewLease(
  handle: StoreHandle,
  lease: Lease,
  { ttlMs, signal }: RenewLeaseOptions,
): Promise<Lease> {
  const given = checkLease(lease);
  const ttl = ttlMs === undefined ? undefined : checkTtl("ttlMs", ttlMs);
  handle.assertReadable(signal);
  const { backend, clock } = handle.opened;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { record, current } = await currentLease(handle, given, signal);
    const ttlMs = ttl ?? current.ttlMs;
    const expiresAt = Math.max(current.expiresAt, clock.now() + ttlMs);
    const renewed = { ...current, expiresAt, ttlMs };
    handle.assertReadable(signal);
    const written = await backend.putMeta(
      [{ kind: "lease", name: given.name, expected: record.version, value: encodeLease(renewed) }],
      signal,
    );
    if (written) return leaseOf(renewed);
  }
  throw contended("lease", given.name);
}

/** `store.releaseLease(lease, options)`: its record stays, expired, keeping the token. */
export async function releaseLease(
  handle: StoreHandle,
  lease: Lease,
  signal: AbortSignal | undefined,
): Promise<void> {
  const given = checkLease(lease);
  handle.assertReadable(signal);
  const { backend } = handle.opened;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let held: { record: MetaRecord; current: LeaseRecord };
    try {
      held = await currentLease(handle, given, signal);
    } catch (error) {
      if (error instanceof StreamkitError && error.kind === "LeaseLost") return;
      throw error;
    }
    const released = { ...held.current, expiresAt: 0 };
    const written = await backend.putMeta(
      [{
        kind: "lease",
        name: given.name,
        expected: held.record.version,
        value: encodeLease(released),
      }],
      signal,
    );
    if (written) return;
  }
  throw contended("lease", given.name);
}

/**
 * The records of `kind` by name, decoded: `listMeta`'s names, each read on its own (a record
 * gone by the time it is read is skipped).
 */
async function* listRecords<T>(
  handle: StoreHandle,
  kind: MetaKind,
  decode: (name: string, record: MetaRecord) => T,
  signal: AbortSignal | undefined,
): AsyncIterable<T> {
  handle.assertReadable(signal);
  const { backend } = handle.opened;
  for await (const name of backend.listMeta(kind, signal)) {
    const record = await backend.getMeta(kind, name, signal);
    handle.assertReadable(signal);
    if (record !== undefined) yield decode(name, record);
  }
}

/** `store.getCheckpoints(options)`. */
export function listCheckpoints(
  handle: StoreHandle,
  signal: AbortSignal | undefined,
): AsyncIterable<Checkpoint> {
  return listRecords(handle, "checkpoint", decodeCheckpoint, signal);
}

/** `store.getLeases(options)`: a released lease with its `expiresAt` of 0. */
export function listLeases(
  handle: StoreHandle,
  signal: AbortSignal | undefined,
): AsyncIterable<Lease> {
  return listRecords(handle, "lease", (name, record) => leaseOf(decodeLease(name, record)), signal);
}
