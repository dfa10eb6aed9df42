// Conformance: payload bytes, sizes, limits and isolation from the caller's buffers.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import type { ProduceRecord } from "../types.ts";
import { assertBytes, assertEmptySegment, expectError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { randomBytes, records, utf8 } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { produce, readSegment, readSpace } from "./_store_calls.ts";

export function registerPayload(ctx: Ctx): void {
  define(
    ctx,
    "limits: maxPayloadBytes and maxChunkRecords are positive integers",
    () =>
      withFreshStore(ctx, (store) => {
        const { maxPayloadBytes, maxChunkRecords } = store.limits;
        assert.ok(Number.isSafeInteger(maxPayloadBytes), "maxPayloadBytes is an integer");
        assert.ok(Number.isSafeInteger(maxChunkRecords), "maxChunkRecords is an integer");
        assert.ok(maxPayloadBytes >= 512 * 1024, "maxPayloadBytes is at least 512 KiB");
        assert.ok(maxChunkRecords >= 1, "maxChunkRecords is at least 1");
        return Promise.resolve();
      }),
  );

  define(ctx, "payload: empty payloads are allowed", () =>
    withFreshStore(ctx, async (store) => {
      await produce(store, "s", "g", [
        { sequence: 1, payload: new Uint8Array(0) },
        { sequence: 2, payload: utf8("x") },
        { sequence: 3, payload: new Uint8Array(new ArrayBuffer(8), 4, 0) },
      ]);
      const entries = await readSegment(store, "s", "g");
      assertBytes(entries[0].payload, new Uint8Array(0), "entry 1");
      assertBytes(entries[1].payload, utf8("x"), "entry 2");
      assertBytes(entries[2].payload, new Uint8Array(0), "entry 3");
      assertBytes((await store.peek("s", "g"))?.payload, new Uint8Array(0), "peek");
      assertBytes((await readSpace(store, "s"))[0].payload, new Uint8Array(0), "consumeSpace");
    }));

  define(
    ctx,
    "payload: binary bytes round-trip exactly (0x00..0xff)",
    () =>
      withFreshStore(ctx, async (store) => {
        const every = Uint8Array.from({ length: 256 }, (_, i) => i);
        const payloads = [
          every,
          every.slice().reverse(),
          new Uint8Array([0]),
          new Uint8Array([0xff]),
          new Uint8Array(1000), // zeros
          new Uint8Array(1000).fill(0xff),
          new Uint8Array([0xef, 0xbb, 0xbf, 0xc3, 0x28, 0xed, 0xa0, 0x80]), // BOM, invalid UTF-8
          randomBytes(4096),
        ];
        await produce(
          store,
          "s",
          "g",
          payloads.map((payload, i) => ({ sequence: i + 1, payload })),
        );
        const entries = await readSegment(store, "s", "g");
        assert.equal(entries.length, payloads.length);
        payloads.forEach((payload, i) =>
          assertBytes(entries[i].payload, payload, `consumeSegment ${i + 1}`)
        );
        const space = await readSpace(store, "s");
        payloads.forEach((payload, i) =>
          assertBytes(space[i].payload, payload, `consumeSpace ${i + 1}`)
        );
        assertBytes((await store.peek("s", "g"))?.payload, payloads.at(-1)!, "peek");
      }),
  );

  define(
    ctx,
    "payload: assorted sizes round-trip (around 64 KiB boundaries)",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxPayloadBytes;
        const sizes = [1, 100, 65_535, 65_536, 65_537, 3 * 65_536 + 1, 300_000]
          .filter((size) => size <= max);
        const payloads = sizes.map((size) => randomBytes(size));
        for (const [i, payload] of payloads.entries()) {
          await produce(store, "s", "g", [{ sequence: i + 1, payload }]);
        }
        const entries = await readSegment(store, "s", "g");
        payloads.forEach((payload, i) =>
          assertBytes(entries[i].payload, payload, `size ${sizes[i]}`)
        );
        const space = await readSpace(store, "s");
        payloads.forEach((payload, i) =>
          assertBytes(space[i].payload, payload, `space, size ${sizes[i]}`)
        );
      }),
  );

  define(
    ctx,
    "payload: exactly limits.maxPayloadBytes is accepted and round-trips",
    () =>
      withFreshStore(ctx, async (store) => {
        const payload = randomBytes(store.limits.maxPayloadBytes);
        const statuses = await produce(store, "s", "g", [
          { sequence: 1, payload: utf8("small") },
          { sequence: 2, payload },
        ]);
        assert.equal(statuses.at(-1)?.lastSequence, 2);
        const entries = await readSegment(store, "s", "g");
        assertBytes(entries[1].payload, payload, "consumeSegment");
        assertBytes((await store.peek("s", "g"))?.payload, payload, "peek");
      }),
  );

  define(
    ctx,
    "payload: one byte over the limit is PayloadTooLarge and nothing of its chunk is written",
    () =>
      withFreshStore(ctx, async (store) => {
        const tooLarge: ProduceRecord = {
          sequence: 3,
          payload: new Uint8Array(store.limits.maxPayloadBytes + 1),
        };
        await expectError(
          () => produce(store, "s", "g", [...records(1, 2), tooLarge]),
          "PayloadTooLarge",
        );
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), [], "no inventory");
        assert.deepEqual(await readSpace(store, "s"), []);
        await produce(store, "s", "g", records(1, 2));
        await expectError(
          () => produce(store, "s", "g", [{ ...tooLarge, sequence: 3 }]),
          "PayloadTooLarge",
        );
        assert.equal((await store.getSegmentStatus("s", "g"))?.lastSequence, 2);
      }),
  );

  define(
    ctx,
    "payload: changing the caller's buffer after produce does not change stored data",
    () =>
      withFreshStore(ctx, async (store) => {
        const buffer = utf8("original payload");
        const metadata = { key: "value" };
        const record = { sequence: 1, payload: buffer, metadata };
        await produce(store, "s", "g", [record]);
        buffer.fill(0x21);
        metadata.key = "changed";
        record.sequence = 99;
        const [entry] = await readSegment(store, "s", "g");
        assertBytes(entry.payload, utf8("original payload"), "consumeSegment");
        assert.deepEqual({ ...entry.metadata }, { key: "value" });
        assert.equal(entry.sequence, 1);
        assertBytes(
          (await readSpace(store, "s"))[0].payload,
          utf8("original payload"),
          "consumeSpace",
        );
        assertBytes((await store.peek("s", "g"))?.payload, utf8("original payload"), "peek");
      }),
  );

  define(
    ctx,
    "payload: changing a read entry does not change stored data",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", [{
          sequence: 1,
          payload: utf8("stored"),
          metadata: { k: "v" },
        }]);
        const [first] = await readSegment(store, "s", "g");
        first.payload.fill(0x21);
        first.metadata.k = "changed";
        const [spaced] = await readSpace(store, "s");
        spaced.payload.fill(0x22);
        const peeked = await store.peek("s", "g");
        peeked?.payload.fill(0x23);
        const [again] = await readSegment(store, "s", "g");
        assertBytes(again.payload, utf8("stored"), "consumeSegment after changing read entries");
        assert.deepEqual({ ...again.metadata }, { k: "v" });
        assertBytes((await readSpace(store, "s"))[0].payload, utf8("stored"), "consumeSpace");
        assertBytes((await store.peek("s", "g"))?.payload, utf8("stored"), "peek");
      }),
  );

  define(
    ctx,
    "payload: a view into a larger buffer stores only the view's bytes",
    () =>
      withFreshStore(ctx, async (store) => {
        const backing = Uint8Array.from({ length: 64 }, (_, i) => i);
        const view = backing.subarray(10, 20);
        await produce(store, "s", "g", [{ sequence: 1, payload: view }]);
        const [entry] = await readSegment(store, "s", "g");
        assertBytes(entry.payload, Uint8Array.from({ length: 10 }, (_, i) => i + 10), "view bytes");
      }),
  );
}
