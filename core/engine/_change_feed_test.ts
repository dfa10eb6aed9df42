import assert from "node:assert/strict";
import { ChangeFeed } from "./_change_feed.ts";

Deno.test("ChangeFeed wakes a waiter for its keys only, and at once for a change it missed", async () => {
  const feed = new ChangeFeed();
  const never = new AbortController().signal;
  const versions = feed.versions(["orders"]);
  let woken = false;
  const waiting = feed.wait(["orders"], versions, never).then(() => woken = true);
  feed.committed("billing");
  await Promise.resolve();
  assert.equal(woken, false, "a commit to another key wakes nobody");
  feed.committed("orders", "orders\u0000order-1");
  await waiting;
  assert.ok(feed.changedSince(["orders"], versions));
  // Versions taken before a commit: waiting afterwards returns at once.
  await feed.wait(["orders"], versions, never);
});

Deno.test("ChangeFeed waits end with the stop signal's reason, or after the timeout", async () => {
  const feed = new ChangeFeed();
  const stop = new AbortController();
  const waiting = feed.wait(["s"], feed.versions(["s"]), stop.signal);
  stop.abort(new Error("stopped"));
  await assert.rejects(waiting, /stopped/);
  await assert.rejects(feed.wait(["s"], feed.versions(["s"]), stop.signal), /stopped/);
  const idle = new AbortController().signal;
  await feed.wait(["s"], feed.versions(["s"]), idle, 1);
  assert.equal(feed.changedSince(["s"], [0]), false);
});
