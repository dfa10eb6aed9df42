// Assertions of the conformance cases: errors of a kind, abort reasons, bytes, long lists, and
// what a segment holds.

import assert from "node:assert/strict";
import { type ErrorKind, StreamkitError } from "../errors.ts";
import type { Entry, Store } from "../types.ts";
import { sequencesOf } from "./_comparable.ts";
import { tagged, textOf } from "./_fixtures.ts";
import { readSegment } from "./_store_calls.ts";

/** A short description of a thrown or returned value, for assertion messages. */
export function describeValue(value: unknown): string {
  if (value instanceof StreamkitError) return `StreamkitError(${value.kind}): ${value.message}`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  try {
    return `${typeof value} ${JSON.stringify(value)?.slice(0, 500)}`;
  } catch {
    return String(value);
  }
}

/** Asserts two byte arrays are equal without dumping megabytes into the message. */
export function assertBytes(actual: unknown, expected: Uint8Array, what: string): void {
  if (!(actual instanceof Uint8Array)) {
    assert.fail(`${what}: expected a Uint8Array, got ${describeValue(actual)}`);
  }
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  const length = expected.byteLength;
  for (let i = 0; i < length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/**
 * Asserts two lists are equal item by item: a failure shows the first difference, where a diff
 * of thousands of entries would take minutes and gigabytes.
 */
export function assertSameItems<T>(
  actual: readonly T[],
  expected: readonly T[],
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: how many`);
  actual.forEach((item, i) => assert.deepEqual(item, expected[i], `${what}: item ${i + 1}`));
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
      `expected a StreamkitError of kind ${kind}, but it succeeded with ${describeValue(result)}`,
    );
  }
  if (!(error instanceof StreamkitError)) {
    const kindOf = (error as { kind?: unknown } | null)?.kind;
    assert.fail(
      `expected a StreamkitError of kind ${kind}, got ${describeValue(error)}` +
        (kindOf === undefined ? "" : ` (kind ${String(kindOf)}, but not a StreamkitError)`),
    );
  }
  assert.equal(error.kind, kind, `expected kind ${kind}, got ${describeValue(error)}`);
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
    assert.fail(
      `the error must surface on the first next(), not on the call: ${describeValue(error)}`,
    );
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
    `${what}: expected the signal's reason (identity), got ${describeValue(error)}`,
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

/** Asserts the segment holds exactly `expected` sequences, each with payload `tagged(tag, seq)`. */
export async function assertSegment(
  store: Store,
  space: string,
  segment: string,
  expected: readonly number[],
  tag = "r",
): Promise<Entry[]> {
  const entries = await readSegment(store, space, segment);
  assert.deepEqual(sequencesOf(entries), expected, `sequences of ${space}/${segment}`);
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
    sequencesOf(await readSegment(store, space, segment)),
    [],
    `${space}/${segment} must be empty`,
  );
  assert.equal(await store.getSegmentStatus(space, segment), undefined, "status must be undefined");
  assert.equal(await store.peek(space, segment), undefined, "peek must be undefined");
}
