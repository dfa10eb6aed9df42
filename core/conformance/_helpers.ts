// Shared helpers of the conformance suite (private).

import assert from "node:assert/strict";
import type { Clock } from "../clock.ts";
import { type ErrorKind, StreamkitError } from "../errors.ts";
import { compareKeys } from "../codec/lexkey.ts";
import type {
  Entry,
  FollowEvent,
  ProduceRecord,
  SegmentStatus,
  Store,
  StoreFactory,
  StoreId,
  Trx,
} from "../types.ts";
import type {
  ConformanceFactoryOptions,
  ConformanceSupports,
  ConformanceTest,
} from "./conformance.ts";

/** What every area's register function gets. */
export interface Ctx {
  name: string;
  test: ConformanceTest;
  factory: (options?: ConformanceFactoryOptions) => Promise<StoreFactory>;
  supports: ConformanceSupports;
}

/** Registers one case, prefixed with the driver's name. */
export function define(ctx: Ctx, title: string, fn: () => Promise<void>): void {
  ctx.test(`${ctx.name}: ${title}`, fn);
}

/** Bound for operations that must not hang (generous: networked emulators are slow). */
export const TIMEOUT_MS = 30_000;

/** The all-zero node UUID of a factory given no `nodeId`. */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

/** A version-4 UUID (any case). */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A payload's text. */
export function textOf(entry: Entry): string {
  return decoder.decode(entry.payload);
}

/** A fresh store id. */
export function newId(): StoreId {
  return crypto.randomUUID();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the wall clock is past `timestamp`, so the next chunk gets a later timestamp. */
export async function tickPast(timestamp: number): Promise<void> {
  await sleep(2);
  while (Date.now() <= timestamp + 1) await sleep(2);
}

/** A promise with its resolve function exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

/** Makes a {@linkcode Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/** Races `promise` against a timer (always cleared); a hang becomes a failure naming `what`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  what: string,
  ms = TIMEOUT_MS,
): Promise<T> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A custom abort reason, compared by identity. */
export class ConformanceAbortReason extends Error {
  constructor(message = "conformance abort reason") {
    super(message);
    this.name = "ConformanceAbortReason";
  }
}

/** Records `from`, `from + 1`, ... with payload `"<tag>:<sequence>"`. */
export function records(from: number, count: number, tag = "r"): ProduceRecord[] {
  const list: ProduceRecord[] = [];
  for (let i = 0; i < count; i++) {
    list.push({ sequence: from + i, payload: utf8(`${tag}:${from + i}`) });
  }
  return list;
}

/** The payload text {@linkcode records} gives `sequence`. */
export function tagged(tag: string, sequence: number): string {
  return `${tag}:${sequence}`;
}

/** `[from, from + 1, ..., to]`. */
export function range(from: number, to: number): number[] {
  const list: number[] = [];
  for (let i = from; i <= to; i++) list.push(i);
  return list;
}

/** Every item of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Iterates to the end, discarding items; returns their count. */
export async function drain(iterable: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of iterable) count++;
  return count;
}

/** Produces and returns the statuses. */
export function produce(
  store: Store,
  space: string,
  segment: string,
  list: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  signal?: AbortSignal,
): Promise<SegmentStatus[]> {
  return collect(store.produce({ space, segment, signal }, list));
}

/** The statuses yielded before a produce failed, and its error (undefined if it did not fail). */
export async function produceUntilError(
  store: Store,
  space: string,
  segment: string,
  list: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  signal?: AbortSignal,
): Promise<{ statuses: SegmentStatus[]; error: unknown; failed: boolean }> {
  const statuses: SegmentStatus[] = [];
  try {
    for await (const status of store.produce({ space, segment, signal }, list)) {
      statuses.push(status);
    }
    return { statuses, error: undefined, failed: false };
  } catch (error) {
    return { statuses, error, failed: true };
  }
}

/** A segment's entries (optionally bounded). */
export function readSegment(
  store: Store,
  space: string,
  segment: string,
  bounds: Omit<Parameters<Store["consumeSegment"]>[0], "space" | "segment"> = {},
): Promise<Entry[]> {
  return collect(store.consumeSegment({ space, segment, ...bounds }));
}

/** A space's entries (optionally bounded). */
export function readSpace(
  store: Store,
  space: string,
  bounds: Omit<Parameters<Store["consumeSpace"]>[0], "space"> = {},
): Promise<Entry[]> {
  return collect(store.consumeSpace({ space, ...bounds }));
}

/** The sequences of entries. */
export function seqs(entries: readonly Entry[]): number[] {
  return entries.map((entry) => entry.sequence);
}

/** `segment#sequence` of entries, to compare orders. */
export function keysOf(entries: readonly Entry[]): string[] {
  return entries.map((entry) => `${entry.segment}#${entry.sequence}`);
}

/** The hex of bytes. */
export function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** An entry as a plain, comparable object. */
export interface PlainEntry {
  space: string;
  segment: string;
  sequence: number;
  timestamp: number;
  trx: Trx;
  payload: string;
  metadata: Record<string, string>;
}

/** Normalizes an entry (class instances, Buffers) for deep comparison. */
export function plain(entry: Entry): PlainEntry {
  assert.ok(entry.payload instanceof Uint8Array, "entry.payload must be a Uint8Array");
  return {
    space: entry.space,
    segment: entry.segment,
    sequence: entry.sequence,
    timestamp: entry.timestamp,
    trx: trxOf(entry.trx),
    payload: hex(entry.payload),
    metadata: { ...entry.metadata },
  };
}

/** Normalizes a trx. */
export function trxOf(trx: Trx): Trx {
  return { id: trx.id, node: trx.node, number: trx.number };
}

/** Normalizes a status (or undefined) for deep comparison. */
export function statusOf(status: SegmentStatus | undefined): SegmentStatus | undefined {
  if (status === undefined) return undefined;
  return {
    space: status.space,
    segment: status.segment,
    firstSequence: status.firstSequence,
    firstTimestamp: status.firstTimestamp,
    lastSequence: status.lastSequence,
    lastTimestamp: status.lastTimestamp,
  };
}

/** The status a segment with these entries (all of them, ascending) must report. */
export function expectedStatus(entries: readonly Entry[], upTo = entries.length): SegmentStatus {
  assert.ok(entries.length > 0 && upTo > 0, "expectedStatus needs entries");
  const first = entries[0];
  const last = entries[upTo - 1];
  return {
    space: first.space,
    segment: first.segment,
    firstSequence: first.sequence,
    firstTimestamp: first.timestamp,
    lastSequence: last.sequence,
    lastTimestamp: last.timestamp,
  };
}

/** Asserts two byte arrays are equal without dumping megabytes into the message. */
export function assertBytes(actual: unknown, expected: Uint8Array, what: string): void {
  if (!(actual instanceof Uint8Array)) {
    assert.fail(`${what}: expected a Uint8Array, got ${describe(actual)}`);
  }
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  const length = expected.byteLength;
  for (let i = 0; i < length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** A short description of a thrown value. */
export function describe(value: unknown): string {
  if (value instanceof StreamkitError) return `StreamkitError(${value.kind}): ${value.message}`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  try {
    return `${typeof value} ${JSON.stringify(value)?.slice(0, 500)}`;
  } catch {
    return String(value);
  }
}

/**
 * Runs `action` and asserts it fails with a StreamkitError of `kind`; with `argument`, that the
 * message names it. Synchronous throws and rejections both count.
 */
export async function expectError(
  action: () => unknown,
  kind: ErrorKind,
  argument?: string | RegExp,
): Promise<StreamkitError> {
  let failed = false;
  let error: unknown;
  let result: unknown;
  try {
    result = await action();
  } catch (caught) {
    failed = true;
    error = caught;
  }
  if (!failed) {
    assert.fail(
      `expected a StreamkitError of kind ${kind}, but it succeeded with ${describe(result)}`,
    );
  }
  if (!(error instanceof StreamkitError)) {
    const kindOf = (error as { kind?: unknown } | null)?.kind;
    assert.fail(
      `expected a StreamkitError of kind ${kind}, got ${describe(error)}` +
        (kindOf === undefined ? "" : ` (kind ${String(kindOf)}, but not a StreamkitError)`),
    );
  }
  assert.equal(error.kind, kind, `expected kind ${kind}, got ${describe(error)}`);
  if (typeof argument === "string") {
    assert.ok(
      error.message.toLowerCase().includes(argument.toLowerCase()),
      `the message should name ${JSON.stringify(argument)}: ${error.message}`,
    );
  } else if (argument !== undefined) {
    assert.match(error.message, argument, `the message should name the argument: ${error.message}`);
  }
  return error;
}

/**
 * Asserts that `call` (an async generator method) does not throw, and that the first `next()`
 * of what it returns fails with `kind`, naming `argument` when given.
 */
export async function expectFirstNextError(
  call: () => AsyncIterable<unknown>,
  kind: ErrorKind,
  argument?: string,
): Promise<StreamkitError> {
  let iterable: AsyncIterable<unknown>;
  try {
    iterable = call();
  } catch (error) {
    assert.fail(`the error must surface on the first next(), not on the call: ${describe(error)}`);
  }
  return await expectError(() => iterable[Symbol.asyncIterator]().next(), kind, argument);
}

/** Runs `action` and asserts it fails with exactly `reason` (identity). */
export async function expectReason(
  action: () => unknown,
  reason: unknown,
  what: string,
): Promise<void> {
  let failed = false;
  let error: unknown;
  try {
    await action();
  } catch (caught) {
    failed = true;
    error = caught;
  }
  assert.ok(failed, `${what}: expected a rejection with the signal's reason, but it succeeded`);
  assert.ok(
    error === reason,
    `${what}: expected the signal's reason (identity), got ${describe(error)}`,
  );
}

/** Asserts a SequenceMismatch error carrying numeric `expected` and `actual`. */
export function assertMismatch(error: StreamkitError, expected: number, actual: number): void {
  const fields = error as unknown as { expected: unknown; actual: unknown };
  assert.equal(typeof fields.expected, "number", "SequenceMismatch must carry a numeric expected");
  assert.equal(typeof fields.actual, "number", "SequenceMismatch must carry a numeric actual");
  assert.equal(fields.expected, expected, "SequenceMismatch expected");
  assert.equal(fields.actual, actual, "SequenceMismatch actual");
  assert.equal(error.transient, false, "SequenceMismatch is permanent");
}

/** Names sorted by their UTF-8 bytes (not by JS string order). */
export function byteSort(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, bytes: utf8(name) }))
    .sort((a, b) => compareKeys(a.bytes, b.bytes))
    .map((item) => item.name);
}

/** The space order, computed independently of lexkey: timestamp, segment UTF-8 bytes, sequence. */
export function compareSpaceOrder(a: Entry, b: Entry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const bySegment = compareKeys(utf8(a.segment), utf8(b.segment));
  if (bySegment !== 0) return bySegment;
  return a.sequence - b.sequence;
}

/**
 * The order of `consume` and `follow`, computed independently of lexkey: timestamp, space UTF-8
 * bytes, segment UTF-8 bytes, sequence.
 */
export function compareConsumeOrder(a: Entry, b: Entry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const bySpace = compareKeys(utf8(a.space), utf8(b.space));
  if (bySpace !== 0) return bySpace;
  return compareSpaceOrder(a, b);
}

/** Asserts every entry sorts strictly after the one before it in the order of `consume`. */
export function assertConsumeOrder(entries: readonly Entry[], what: string): void {
  for (let i = 1; i < entries.length; i++) {
    const [before, after] = spaceKeysOf([entries[i - 1], entries[i]]);
    assert.ok(
      compareConsumeOrder(entries[i - 1], entries[i]) < 0,
      `${what}: ${after} (entry ${i}) does not sort after ${before}`,
    );
  }
}

/** `"space"/"segment"#sequence` of entries, to compare orders across spaces. */
export function spaceKeysOf(entries: readonly Entry[]): string[] {
  return entries.map((entry) =>
    `${JSON.stringify(entry.space)}/${JSON.stringify(entry.segment)}#${entry.sequence}`
  );
}

/** The `spaces` argument of `consume` and `follow` that reads each of `names` from the start. */
export function fromStart(names: readonly string[]): Record<string, undefined> {
  return Object.fromEntries(names.map((name) => [name, undefined]));
}

/**
 * A clock the case moves by hand (handed to the factory as `clock`), so that chunks produced
 * into several spaces share one millisecond. A produce stamps above what a reader already read,
 * so after a read the case must advance it before producing again, or the produce waits.
 */
export class HandClock implements Clock {
  #now = Date.now();

  now(): number {
    return this.#now;
  }

  /** Moves to the next millisecond. */
  advance(): void {
    this.#now++;
  }
}

/** A follow event, short, for assertion messages. */
export function describeEvent(event: FollowEvent): string {
  if (event.type !== "entry") return event.type;
  const { space, segment, sequence } = event.entry;
  return `entry ${JSON.stringify(space)}/${JSON.stringify(segment)}#${sequence}`;
}

/** Asserts that `caught-up` never comes twice in a row. */
export function assertNoCaughtUpTwice(events: readonly FollowEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(
      events[i].type !== "caught-up" || events[i - 1].type !== "caught-up",
      `caught-up twice in a row at event ${i}: ${events.map(describeEvent).join(", ")}`,
    );
  }
}

/**
 * A follow read event by event, each wait bounded by {@linkcode withTimeout}; keeps every event
 * for later checks. A wait that times out leaves the follow pending: closing the store ends it.
 */
export class FollowReader {
  /** Every event received, in order. */
  readonly events: FollowEvent[] = [];
  #iterator: AsyncIterator<FollowEvent>;

  constructor(follow: AsyncIterable<FollowEvent>) {
    this.#iterator = follow[Symbol.asyncIterator]();
  }

  async #next(what: string): Promise<FollowEvent> {
    const result = await this.#iterator.next();
    assert.ok(!result.done, `${what}: a follow ends only by abort or close`);
    this.events.push(result.value);
    return result.value;
  }

  /** The next event. */
  next(what: string): Promise<FollowEvent> {
    return withTimeout(this.#next(what), what);
  }

  /** Asserts the next event is `caught-up`. */
  async caughtUp(what: string): Promise<void> {
    const event = await this.next(what);
    assert.equal(
      event.type,
      "caught-up",
      `${what}: expected caught-up, got ${describeEvent(event)}`,
    );
  }

  /** Asserts the next `count` events are entries (no `caught-up` between) and returns them. */
  nextEntries(count: number, what: string): Promise<Entry[]> {
    return withTimeout(
      (async () => {
        const entries: Entry[] = [];
        while (entries.length < count) {
          const event = await this.#next(what);
          assert.equal(
            event.type,
            "entry",
            `${what}: expected entry ${entries.length + 1} of ${count}, got caught-up`,
          );
          if (event.type === "entry") entries.push(event.entry);
        }
        return entries;
      })(),
      what,
    );
  }

  /** The next `count` entries, whatever `caught-up` events come between. */
  collect(
    count: number,
    what: string,
    onEntry?: (entry: Entry) => Promise<void>,
  ): Promise<Entry[]> {
    return withTimeout(
      (async () => {
        const entries: Entry[] = [];
        while (entries.length < count) {
          const event = await this.#next(`${what} (${entries.length} of ${count} so far)`);
          if (event.type !== "entry") continue;
          entries.push(event.entry);
          await onEntry?.(event.entry);
        }
        return entries;
      })(),
      `${what} (${count} entries)`,
    );
  }

  /** Ends the follow as `break` does. */
  async stop(): Promise<void> {
    await withTimeout(Promise.resolve(this.#iterator.return?.()), "ending a follow by break");
  }
}

/** Producers started by {@linkcode startWriters}. */
export interface Writers {
  /** How many entries they write in all. */
  total: number;
  /** Resolves when every one of them is done; rejects with the first failure. */
  done: Promise<void>;
}

/**
 * Starts one producer per segment of each space, each writing `chunks` chunks of 1 to
 * `maxBatch` records (sizes drawn up front, so the total is known at once) with short random
 * pauses between them.
 */
export function startWriters(
  store: Store,
  spaces: readonly string[],
  segments: readonly string[],
  chunks: number,
  maxBatch: number,
): Writers {
  const batch = Math.max(1, Math.min(maxBatch, store.limits.maxChunkRecords));
  const plans = spaces.flatMap((space) =>
    segments.map((segment) => ({
      space,
      segment,
      counts: range(1, chunks).map(() => 1 + Math.floor(Math.random() * batch)),
    }))
  );
  const total = plans.reduce((sum, plan) => sum + plan.counts.reduce((a, b) => a + b, 0), 0);
  const done = Promise.all(plans.map(async ({ space, segment, counts }) => {
    let next = 1;
    for (const count of counts) {
      await produce(store, space, segment, records(next, count, segment));
      next += count;
      await sleep(Math.floor(Math.random() * 3));
    }
  })).then(() => {});
  // Callers await it alongside a follower: a failure must not count as unhandled meanwhile.
  done.catch(() => {});
  return { total, done };
}

/** Random bytes of any length. */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, length)));
  }
  return bytes;
}

/** Opens a factory, runs `fn`, closes the factory whatever happens. */
export async function withFactory(
  ctx: Ctx,
  fn: (factory: StoreFactory) => Promise<void>,
  options?: ConformanceFactoryOptions,
): Promise<void> {
  const factory = await ctx.factory(options);
  try {
    await fn(factory);
  } finally {
    await factory.close();
  }
}

/** Opens a factory and a fresh store, runs `fn`, closes both whatever happens. */
export function withStore(
  ctx: Ctx,
  fn: (store: Store, env: { factory: StoreFactory; storeId: StoreId }) => Promise<void>,
  options?: ConformanceFactoryOptions,
): Promise<void> {
  return withFactory(ctx, async (factory) => {
    const storeId = newId();
    const store = await factory.newStore(storeId);
    try {
      await fn(store, { factory, storeId });
    } finally {
      await store.close();
    }
  }, options);
}

/** Asserts the segment holds exactly `expected` sequences with the `tag` payloads of {@linkcode records}. */
export async function assertSegment(
  store: Store,
  space: string,
  segment: string,
  expected: readonly number[],
  tag = "r",
): Promise<Entry[]> {
  const entries = await readSegment(store, space, segment);
  assert.deepEqual(seqs(entries), expected, `sequences of ${space}/${segment}`);
  for (const entry of entries) {
    assert.equal(
      textOf(entry),
      tagged(tag, entry.sequence),
      `payload of ${space}/${segment}#${entry.sequence}`,
    );
  }
  return entries;
}

/** Asserts nothing at all is stored in the segment (entries, status, peek). */
export async function assertEmptySegment(
  store: Store,
  space: string,
  segment: string,
): Promise<void> {
  assert.deepEqual(
    seqs(await readSegment(store, space, segment)),
    [],
    `${space}/${segment} must be empty`,
  );
  assert.equal(await store.getSegmentStatus(space, segment), undefined, "status must be undefined");
  assert.equal(await store.peek(space, segment), undefined, "peek must be undefined");
}
