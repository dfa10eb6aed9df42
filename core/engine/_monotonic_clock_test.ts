import assert from "node:assert/strict";
import { MonotonicClock } from "./_monotonic_clock.ts";

Deno.test("MonotonicClock never goes back when the wall clock does", () => {
  const wall = [1_000, 1_005, 990, 1_003, 1_010];
  const clock = new MonotonicClock(() => wall.shift()!);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => clock.now()), [1_000, 1_005, 1_005, 1_005, 1_010]);
});
