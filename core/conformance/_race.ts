// Writers racing for the same sequences of one segment: exactly one wins, the others fail as
// losers do, and the segment holds the winner's entries only.

import assert from "node:assert/strict";
import { StreamkitError } from "../errors.ts";
import type { Entry, SegmentStatus, Store } from "../types.ts";
import { describeValue } from "./_assertions.ts";
import { sequencesOf } from "./_comparable.ts";
import { range, records, tagged, textOf } from "./_fixtures.ts";
import { produce, readSegment } from "./_store_calls.ts";

/** One writer of a {@linkcode race}. */
export interface Racer {
  /** Names it in failure messages. */
  name: string;
  /** Writes the raced sequences through `store`. */
  write(store: Store): Promise<SegmentStatus[]>;
  /** Asserts that `stored`, the segment from the first raced sequence on, is what it wrote. */
  assertWrote(stored: readonly Entry[], what: string): void;
}

/** Whether `error` is how a race's loser fails: SequenceMismatch or a transient Conflict. */
export function isRaceLoss(error: unknown): boolean {
  return error instanceof StreamkitError &&
    (error.kind === "SequenceMismatch" || (error.kind === "Conflict" && error.transient));
}

/** A racer producing `records(from, count, name)`. */
export function producer(
  name: string,
  space: string,
  segment: string,
  from: number,
  count: number,
): Racer {
  return {
    name,
    write: (store) => produce(store, space, segment, records(from, count, name)),
    assertWrote: (stored, what) =>
      assert.deepEqual(
        stored.map(textOf),
        range(from, from + count - 1).map((sequence) => tagged(name, sequence)),
        `${what}: only the winner's payloads`,
      ),
  };
}

/**
 * Runs `racers` at once, racer `i` through `handles[i % handles.length]`, each writing
 * `from..from+count-1` of one segment. Asserts that exactly one wins, that the others fail as
 * losers do, and that through every handle the segment holds the winner's entries only.
 */
export async function race(
  handles: readonly Store[],
  space: string,
  segment: string,
  from: number,
  count: number,
  racers: readonly Racer[],
): Promise<void> {
  const results = await Promise.allSettled(
    racers.map((racer, i) => racer.write(handles[i % handles.length])),
  );
  const outcomes = results.map((result, i) =>
    `${racers[i].name}: ${result.status === "fulfilled" ? "ok" : describeValue(result.reason)}`
  ).join("; ");
  const winners = results.flatMap((result, i) => result.status === "fulfilled" ? [i] : []);
  assert.equal(
    winners.length,
    1,
    `exactly one writer must win, got ${winners.length}: ${outcomes}`,
  );
  for (const result of results) {
    if (result.status === "fulfilled") continue;
    assert.ok(
      isRaceLoss(result.reason),
      `a loser must get SequenceMismatch or a transient Conflict, got ${
        describeValue(result.reason)
      }: ${outcomes}`,
    );
  }
  const winner = winners[0];
  const last = from + count - 1;
  const statuses = (results[winner] as PromiseFulfilledResult<SegmentStatus[]>).value;
  assert.equal(statuses.at(-1)?.lastSequence, last, "the winner's last status");
  for (const [i, handle] of handles.entries()) {
    const stored = await readSegment(handle, space, segment, { minSequence: from });
    assert.deepEqual(sequencesOf(stored), range(from, last), `sequences through handle ${i}`);
    racers[winner].assertWrote(stored, `${racers[winner].name} won, read through handle ${i}`);
  }
  assert.equal((await handles[0].getSegmentStatus(space, segment))?.lastSequence, last);
}

/** Races `producers` producers (payload tags `racer0`, `racer1`, ...); see {@linkcode race}. */
export function raceProducers(
  handles: readonly Store[],
  producers: number,
  space: string,
  segment: string,
  from: number,
  count: number,
): Promise<void> {
  const racers = range(0, producers - 1).map((i) =>
    producer(`racer${i}`, space, segment, from, count)
  );
  return race(handles, space, segment, from, count, racers);
}
