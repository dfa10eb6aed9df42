import assert from "node:assert/strict";
import { Fifo } from "./_fifo.ts";

Deno.test("fifo: items come out in the order they went in, across many compactions", () => {
  const fifo = new Fifo<number>();
  let put = 0;
  let taken = 0;
  // Uneven rounds: the queue grows past the compaction threshold, then drains, many times.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 3_000 + round * 37; i++) fifo.push(put++);
    const take = round % 2 === 0 ? 2_000 : fifo.length;
    for (let i = 0; i < take; i++) assert.equal(fifo.shift(), taken++);
    assert.equal(fifo.length, put - taken);
  }
  while (fifo.length > 0) assert.equal(fifo.shift(), taken++);
  assert.equal(taken, put);
  assert.equal(fifo.shift(), undefined);
});

Deno.test("fifo: find sees only the items still waiting", () => {
  const fifo = new Fifo<{ id: number }>();
  for (let id = 0; id < 5_000; id++) fifo.push({ id });
  for (let i = 0; i < 4_000; i++) fifo.shift();
  assert.equal(fifo.find(({ id }) => id < 4_000), undefined);
  assert.deepEqual(fifo.find(({ id }) => id % 1_000 === 0), { id: 4_000 });
});
