import assert from "node:assert/strict";
import { KeyedLock } from "./_lock.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

Deno.test("KeyedLock runs sections of one key one at a time, in arrival order", async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  let inside = 0;
  await Promise.all(["a", "b", "c", "d"].map((name) =>
    lock.run("k", async () => {
      inside++;
      assert.equal(inside, 1, "two sections of one key overlapped");
      await tick();
      order.push(name);
      inside--;
    })
  ));
  assert.deepEqual(order, ["a", "b", "c", "d"]);
  assert.equal(lock.size, 0);
});

Deno.test("KeyedLock lets different keys run concurrently and survives a failing section", async () => {
  const lock = new KeyedLock();
  let release!: () => void;
  const blocked = lock.run("a", () => new Promise<void>((resolve) => release = resolve));
  assert.equal(await lock.run("b", () => Promise.resolve("b ran")), "b ran");
  release();
  await blocked;
  await assert.rejects(lock.run("a", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await lock.run("a", () => Promise.resolve(1)), 1);
  assert.equal(lock.size, 0);
});
