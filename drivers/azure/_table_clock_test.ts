import assert from "node:assert/strict";
import { etagTime, TableClock } from "./_table_clock.ts";

Deno.test("etagTime reads Azure's and Azurite's ETags, rounding down to the millisecond", () => {
  assert.equal(
    etagTime(`W/"datetime'2019-05-15T19%3A34%3A59.6181853Z'"`),
    Date.UTC(2019, 4, 15, 19, 34, 59, 618),
  );
  assert.equal(
    etagTime(`W/"datetime'2026-12-07T10%3A41%3A06.1230000Z'"`),
    Date.UTC(2026, 11, 7, 10, 41, 6, 123),
  );
  assert.equal(
    etagTime(`W/"datetime'2026-12-07T10%3A41%3A06Z'"`),
    Date.UTC(2026, 11, 7, 10, 41, 6),
  );
  assert.equal(etagTime(undefined), undefined);
  assert.equal(etagTime(`"0x8D9"`), undefined);
});

Deno.test("TableClock moves the latest write's table time on, and forgets it when stale", () => {
  const clock = new TableClock();
  assert.equal(clock.lowerBound(), undefined);
  const written = Date.UTC(2026, 0, 1);
  clock.note(`W/"datetime'2026-01-01T00%3A00%3A00.000Z'"`);
  const bound = clock.lowerBound()!;
  assert.ok(bound >= written && bound < written + 1_000, `${bound} just past ${written}`);
  // An earlier time noted later (another partition server, a reordered answer) is not taken.
  clock.note(`W/"datetime'2025-01-01T00%3A00%3A00.000Z'"`);
  assert.ok(clock.lowerBound()! >= written);
});
