// Conformance: single winner, concurrent writers, gap-free tailing.

import assert from "node:assert/strict";
import { sleep } from "../_async.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry } from "../types.ts";
import { assertSegment } from "./_assertions.ts";
import { copyOfStatus, labelsOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { range, records, tagged, textOf } from "./_fixtures.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
import { raceProducers } from "./_race.ts";
import { produce, readSegment, readSpace } from "./_store_calls.ts";
import { TIMEOUT_MS } from "./_timing.ts";
import { startWriters } from "./_writers.ts";

export function registerConcurrency(ctx: Ctx): void {
  define(
    ctx,
    "concurrency: 4 producers racing for 1..25 of a new segment, exactly one wins",
    () =>
      withFreshStore(ctx, async (store) => {
        await raceProducers([store], 4, "s", "g", 1, 25);
        const space = await readSpace(store, "s");
        assert.equal(space.length, 25, "the space index holds only the winner's entries");
      }),
  );

  define(
    ctx,
    "concurrency: 4 producers racing to continue an existing segment, exactly one wins",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 5));
        await raceProducers([store], 4, "s", "g", 6, 25);
        const entries = await readSegment(store, "s", "g");
        assert.equal(entries.length, 30);
        for (const entry of entries.slice(0, 5)) {
          assert.equal(textOf(entry), tagged("r", entry.sequence));
        }
        assert.equal((await readSpace(store, "s")).length, 30);
        await raceProducers([store], 4, "s", "g", 31, 3);
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
          await raceProducers([a, b], 4, "s", "g", 1, 25);
          await raceProducers([b, a], 4, "s", "g", 26, 10);
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
      withFreshStore(ctx, async (store) => {
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
          const status = copyOfStatus(await store.getSegmentStatus("s", segment));
          assert.equal(status?.lastSequence, 9);
        }
        assert.equal((await readSpace(store, "s")).length, 72);
      }),
  );

  define(
    ctx,
    "concurrency: gap-free tailing while writers produce to many segments",
    () =>
      withFreshStore(ctx, async (store) => {
        const segments = range(1, 8).map((i) => `w${i}`);
        const writers = startWriters(store, ["s"], segments, 6, 20);
        let writersDone = false;
        let writerError: unknown;
        const writing = writers.done.catch((error) => {
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
          await writing;
        }
        if (writerError !== undefined) throw writerError;
        const full = await readSpace(store, "s");
        assert.equal(full.length, writers.total, "every produced entry is in the space");
        assert.equal(new Set(labelsOf(seen)).size, seen.length, "the reader saw no entry twice");
        assert.deepEqual(
          labelsOf(seen),
          labelsOf(full),
          "the reader saw every committed entry, in order",
        );
      }),
  );

  define(
    ctx,
    "concurrency: a chunk produced right after a read never lands behind the reader's offset",
    () =>
      withFreshStore(ctx, async (store) => {
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
        assert.deepEqual(labelsOf(seen), labelsOf(await readSpace(store, "s")));
      }),
  );
}
