import assert from "node:assert/strict";
import { abortableSleep } from "./abortable_sleep.ts";

Deno.test("abortableSleep resolves after its time, or rejects with the signal's reason", async () => {
  await abortableSleep(5, undefined);
  await abortableSleep(5, new AbortController().signal);
  const early = new AbortController();
  const sleeping = abortableSleep(60_000, early.signal);
  early.abort(new Error("stopped"));
  await assert.rejects(sleeping, /stopped/);
  await assert.rejects(abortableSleep(60_000, AbortSignal.abort(new Error("already"))), /already/);
});
