import assert from "node:assert/strict";
import type { BackendLimits } from "../backend.ts";
import { type ProduceRecord, StreamkitError } from "../mod.ts";
import { ChunkReader } from "./_chunk_reader.ts";

const limits: BackendLimits = { maxPayloadBytes: 10, maxChunkRecords: 3, maxChunkBytes: 12 };
const never = new AbortController().signal;
const record = (sequence: number, size = 1): ProduceRecord => ({
  sequence,
  payload: new Uint8Array(size),
});

async function chunks(reader: ChunkReader): Promise<number[][]> {
  const all: number[][] = [];
  while (true) {
    const chunk = await reader.next(never);
    if (chunk.length === 0) return all;
    all.push(chunk.map((r) => r.sequence));
  }
}

Deno.test("ChunkReader cuts by record count and by bytes, never leaving a chunk empty", async () => {
  const byCount = new ChunkReader([1, 2, 3, 4, 5, 6, 7].map((s) => record(s)), limits, "s", "g");
  assert.deepEqual(await chunks(byCount), [[1, 2, 3], [4, 5, 6], [7]]);
  const sizes = [5, 5, 5, 10, 1];
  const byBytes = new ChunkReader(sizes.map((size, i) => record(i + 1, size)), limits, "s", "g");
  assert.deepEqual(await chunks(byBytes), [[1, 2], [3], [4, 5]]);
});

Deno.test("ChunkReader rejects bad records by index, kind and limit", async () => {
  const fail = async (records: unknown[], kind: string, message: RegExp) => {
    const reader = new ChunkReader(records as ProduceRecord[], limits, "s", "g");
    await assert.rejects(chunks(reader), (error: unknown) => {
      assert.ok(error instanceof StreamkitError);
      assert.equal(error.kind, kind);
      assert.match(error.message, message);
      return true;
    });
  };
  await fail([record(1), record(2, 11)], "PayloadTooLarge", /records\[1\].*maxPayloadBytes \(10\)/);
  await fail([record(1), record(3)], "SequenceMismatch", /expected 2, got 3/);
  await fail([{ sequence: 0, payload: new Uint8Array() }], "InvalidArgument", /records\[0\]\.seq/);
  await fail([{ sequence: 1, payload: "x" }], "InvalidArgument", /records\[0\]\.payload/);
  await fail(
    [{ sequence: 1, payload: new Uint8Array(), metadata: { a: 1 } }],
    "InvalidArgument",
    /records\[0\]\.metadata\["a"\]/,
  );
  await fail([null], "InvalidArgument", /records\[0\]: must be an object/);
  await fail([record(1), undefined], "InvalidArgument", /records\[1\]: must be an object/);
});

Deno.test("ChunkReader stops waiting on a stuck async source when the signal aborts", async () => {
  let returned = false;
  const source: AsyncIterable<ProduceRecord> = {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise(() => {}),
      return: () => {
        returned = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  const reader = new ChunkReader(source, limits, "s", "g");
  const controller = new AbortController();
  const reason = new Error("stop");
  const pending = reader.next(controller.signal);
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  reader.close();
  assert.ok(returned, "the source was told to release its resources");
});
