// Conformance: single winner, concurrent writers, gap-free tailing.

import assert from "node:assert/strict";
import { StreamkitError } from "../errors.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry, Store } from "../types.ts";
import {
  assertSegment,
  type Ctx,
  define,
  describe,
  keysOf,
  produce,
  range,
  readSegment,
  readSpace,
  records,
  sleep,
  statusOf,
  tagged,
  textOf,
  TIMEOUT_MS,
  withFactory,
  withStore,
} from "./_helpers.ts";

/**
 * Races `handles.length`-distributed producers for `from..from+count-1` of one segment and checks
 * exactly one wins and the segment holds its payloads. Exported for the multi-instance cases.
 */
export async function race(
  handles: readonly Store[],
  producers: number,
  space: string,
  segment: string,
  from: number,
  count: number,
): Promise<number> {
  const results = await Promise.allSettled(
    range(0, producers - 1).map((i) =>
      produce(handles[i % handles.length], space, segment, records(from, count, `racer${i}`))
    ),
  );
  const winners = results.flatMap((result, i) => result.status === "fulfilled" ? [i] : []);
  assert.equal(
    winners.length,
    1,
    `exactly one producer must win, got ${winners.length}: ` +
      results.map((r) => r.status === "fulfilled" ? "ok" : describe(r.reason)).join("; "),
  );
  for (const result of results) {
    if (result.status === "fulfilled") continue;
    const error = result.reason;
    assert.ok(error instanceof StreamkitError, `a loser failed with ${describe(error)}`);
    assert.ok(
      error.kind === "SequenceMismatch" || (error.kind === "Conflict" && error.transient),
      `a loser must get SequenceMismatch or a transient Conflict, got ${describe(error)}`,
    );
  }
  const winner = winners[0];
  const entries = await readSegment(handles[0], space, segment, { minSequence: from });
  assert.deepEqual(entries.map((e) => e.sequence), range(from, from + count - 1));
  for (const entry of entries) {
    assert.equal(
      textOf(entry),
      tagged(`racer${winner}`, entry.sequence),
      "only the winner's payloads",
    );
  }
  const status =
    (results[winner] as PromiseFulfilledResult<Awaited<ReturnType<typeof produce>>>).value;
  assert.equal(status.at(-1)?.lastSequence, from + count - 1);
  assert.equal((await handles[0].getSegmentStatus(space, segment))?.lastSequence, from + count - 1);
  return winner;
}

export function registerConcurrency(ctx: Ctx): void {
  define(
    ctx,
    "concurrency: 4 producers racing for 1..25 of a new segment, exactly one wins",
    () =>
      withStore(ctx, async (store) => {
        await race([store], 4, "s", "g", 1, 25);
        const space = await readSpace(store, "s");
        assert.equal(space.length, 25, "the space index holds only the winner's entries");
      }),
  );

  define(
    ctx,
    "concurrency: 4 producers racing to continue an existing segment, exactly one wins",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 5));
        await race([store], 4, "s", "g", 6, 25);
        const entries = await readSegment(store, "s", "g");
        assert.equal(entries.length, 30);
        for (const entry of entries.slice(0, 5)) {
          assert.equal(textOf(entry), tagged("r", entry.sequence));
        }
        assert.equal((await readSpace(store, "s")).length, 30);
        await race([store], 4, "s", "g", 31, 3);
      }),
  );

  define(
    ctx,
    "concurrency: producers racing through two handles of one store, exactly one wins",
    () =>
      withFactory(ctx, async (factory) => {
        const id = crypto.randomUUID();
        const a = await factory.newStore(id);
        const b = await factory.newStore(id);
        try {
          await race([a, b], 4, "s", "g", 1, 25);
          await race([b, a], 4, "s", "g", 26, 10);
          assert.equal((await readSpace(a, "s")).length, 35);
        } finally {
          await a.close();
          await b.close();
        }
      }),
  );

  define(
    ctx,
    "concurrency: concurrent producers on different segments all succeed",
    () =>
      withStore(ctx, async (store) => {
        const segments = range(1, 8).map((i) => `seg-${i}`);
        await Promise.all(segments.map(async (segment) => {
          let next = 1;
          for (let round = 0; round < 3; round++) {
            const statuses = await produce(store, "s", segment, records(next, round + 2, segment));
            next += round + 2;
            assert.equal(statuses.at(-1)?.lastSequence, next - 1);
          }
        }));
        for (const segment of segments) {
          await assertSegment(store, "s", segment, range(1, 9), segment);
          const status = statusOf(await store.getSegmentStatus("s", segment));
          assert.equal(status?.lastSequence, 9);
        }
        assert.equal((await readSpace(store, "s")).length, 72);
      }),
  );

  define(
    ctx,
    "concurrency: gap-free tailing while writers produce to many segments",
    () =>
      withStore(ctx, async (store) => {
        const segments = range(1, 8).map((i) => `w${i}`);
        const maxBatch = Math.max(1, Math.min(20, store.limits.maxChunkRecords));
        let produced = 0;
        let writersDone = false;
        let writerError: unknown;
        const writers = Promise.all(segments.map(async (segment) => {
          let next = 1;
          for (let round = 0; round < 6; round++) {
            const count = 1 + Math.floor(Math.random() * maxBatch);
            await produce(store, "s", segment, records(next, count, segment));
            next += count;
            produced += count;
            await sleep(Math.floor(Math.random() * 3));
          }
        })).catch((error) => {
          writerError = error;
        }).finally(() => {
          writersDone = true;
        });

        const seen: Entry[] = [];
        try {
          let offset: Uint8Array | undefined;
          const deadline = Date.now() + 2 * TIMEOUT_MS;
          for (let reads = 0;; reads++) {
            const doneBefore = writersDone;
            let got = 0;
            for await (const entry of store.consumeSpace({ space: "s", offset })) {
              seen.push(entry);
              offset = spaceOffset(entry);
              got++;
            }
            if (doneBefore && got === 0) break;
            assert.ok(reads < 100_000 && Date.now() < deadline, "the tailing reader must finish");
            await sleep(1);
          }
        } finally {
          await writers;
        }
        if (writerError !== undefined) throw writerError;
        const full = await readSpace(store, "s");
        assert.equal(full.length, produced, "every produced entry is in the space");
        assert.equal(new Set(keysOf(seen)).size, seen.length, "the reader saw no entry twice");
        assert.deepEqual(
          keysOf(seen),
          keysOf(full),
          "the reader saw every committed entry, in order",
        );
      }),
  );

  define(
    ctx,
    "concurrency: a chunk produced right after a read never lands behind the reader's offset",
    () =>
      withStore(ctx, async (store) => {
        // "z" sorts after "a": were "a" stamped in the millisecond of the "z" entry the reader
        // already passed, resuming from that offset would skip it.
        const seen: Entry[] = [];
        let offset: Uint8Array | undefined;
        const readNew = async () => {
          for await (const entry of store.consumeSpace({ space: "s", offset })) {
            seen.push(entry);
            offset = spaceOffset(entry);
          }
        };
        for (let round = 1; round <= 50; round++) {
          await produce(store, "s", "z", records(round, 1, "z"));
          await readNew();
          await produce(store, "s", "a", records(round, 1, "a"));
          await readNew();
          assert.equal(seen.length, 2 * round, `round ${round}: every produced entry was read`);
        }
        assert.deepEqual(keysOf(seen), keysOf(await readSpace(store, "s")));
      }),
  );
}
