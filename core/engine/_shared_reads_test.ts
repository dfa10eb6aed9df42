import assert from "node:assert/strict";
import type { Entry } from "../types.ts";
import { MAX_SHARED_ENTRIES, SharedReads } from "./_shared_reads.ts";

function entry(sequence: number): Entry {
  return {
    space: "s",
    segment: "g",
    sequence,
    timestamp: 1_000 + sequence,
    trx: { id: "00000000-0000-4000-8000-000000000000", node: "n", number: 1 },
    payload: new Uint8Array([sequence]),
    metadata: { n: String(sequence) },
  };
}

/** A read of `count` entries that waits for `gate` first, counting its calls and its signal. */
function gatedRead(count: number, gate: Promise<void>) {
  const calls: AbortSignal[] = [];
  const read = (signal: AbortSignal) => {
    calls.push(signal);
    return Promise.resolve((async function* () {
      await gate;
      for (let i = 1; i <= count; i++) {
        signal.throwIfAborted();
        yield entry(i);
      }
    })());
  };
  return { calls, read };
}

Deno.test("shared reads: calls of one key while a read is under way share it, each with copies", async () => {
  const reads = new SharedReads();
  let open = () => {};
  const { calls, read } = gatedRead(3, new Promise((resolve) => open = resolve));
  const stop = new AbortController().signal;
  const results = Array.from({ length: 5 }, () => reads.read("k", read, stop));
  open();
  const entries = await Promise.all(results);
  assert.equal(calls.length, 1, "one backend read for five callers");
  for (const got of entries) assert.deepEqual(got, [entry(1), entry(2), entry(3)]);
  assert.notEqual(entries[0]![0], entries[1]![0]);
  assert.notEqual(entries[0]![0].payload.buffer, entries[1]![0].payload.buffer);
  assert.notEqual(entries[0]![0].metadata, entries[1]![0].metadata);
  // Settled: the next call reads again.
  await reads.read("k", read, stop);
  assert.equal(calls.length, 2);
});

Deno.test("shared reads: another key reads on its own", async () => {
  const reads = new SharedReads();
  const { calls, read } = gatedRead(1, Promise.resolve());
  const stop = new AbortController().signal;
  await Promise.all([reads.read("a", read, stop), reads.read("b", read, stop)]);
  assert.equal(calls.length, 2);
});

Deno.test("shared reads: more entries than are shared give undefined (each caller reads on its own)", async () => {
  const reads = new SharedReads();
  const { read } = gatedRead(MAX_SHARED_ENTRIES + 1, Promise.resolve());
  assert.equal(await reads.read("k", read, new AbortController().signal), undefined);
  const { read: exact } = gatedRead(MAX_SHARED_ENTRIES, Promise.resolve());
  assert.equal((await reads.read("k", exact, new AbortController().signal))?.length, 256);
});

Deno.test("shared reads: a caller that stops leaves; the read stops only when all have", async () => {
  const reads = new SharedReads();
  let open = () => {};
  const { calls, read } = gatedRead(2, new Promise((resolve) => open = resolve));
  const first = new AbortController();
  const second = new AbortController();
  const a = reads.read("k", read, first.signal);
  const b = reads.read("k", read, second.signal);
  first.abort(new Error("first stopped"));
  await assert.rejects(a, /first stopped/);
  assert.equal(calls[0].aborted, false, "the other caller still waits for the read");
  open();
  assert.equal((await b)?.length, 2);

  let openAgain = () => {};
  const again = gatedRead(2, new Promise((resolve) => openAgain = resolve));
  const only = new AbortController();
  const c = reads.read("k2", again.read, only.signal);
  only.abort(new Error("stopped"));
  await assert.rejects(c, /stopped/);
  assert.equal(again.calls[0].aborted, true, "no caller left: the read stops");
  openAgain();
});

Deno.test("shared reads: a failed read fails every caller that waits for it", async () => {
  const reads = new SharedReads();
  const failing = () => Promise.reject(new Error("backend down"));
  const stop = new AbortController().signal;
  await Promise.all([
    assert.rejects(reads.read("k", failing, stop), /backend down/),
    assert.rejects(reads.read("k", failing, stop), /backend down/),
  ]);
});
