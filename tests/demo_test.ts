// The demo (scripts/demo.ts) run twice in an empty directory: a new store, then one it continues.

import assert from "node:assert/strict";
import { denoRun } from "./_deno_run.ts";

const demo = new URL("../scripts/demo.ts", import.meta.url).pathname;

function runDemo(cwd: string): Promise<string> {
  const permissions = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi"];
  return denoRun([...permissions, demo], cwd, "the demo");
}

Deno.test("demo: runs on a new LevelDB store, and a second run continues where the first stopped", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "streamkit-demo-" });
  try {
    const first = await runDemo(cwd);
    assert.match(first, /new store/);
    assert.match(first, /3000\/3000 events committed/);
    assert.match(first, /consumeSpace orders: 3000 entries/);
    assert.match(first, /peek order-2: order-2#500 /);
    assert.match(first, /live: live-a#1 /);
    assert.match(first, /live: live-b#4 /);
    assert.match(first, /the follower saw all 8 live events as they were committed/);
    assert.match(first, /resume offset after the last entry/);
    assert.match(
      first,
      /processor "event-kinds", new since its last run: 8 live, 6 placed, 2994 updated/,
    );

    const second = await runDemo(cwd);
    assert.match(second, /order-1 continues after sequence 500/);
    assert.match(second, /consumeSpace orders: 6008 entries/);
    assert.match(second, /resuming from the offset saved by the last run: 3000 new entries/);
    assert.match(second, /peek order-2: order-2#1000 /);
    assert.match(second, /live: live-a#8 /);
    assert.match(second, /processor "event-kinds", new since its last run: 8 live, 3000 updated/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
