// @streamkit/core is pure TypeScript: its main entry and the memory driver run where native
// addons cannot. A child process with no permissions at all (so no --allow-ffi) imports both
// and round-trips a store. The same child importing `@streamkit/core/zstd` fails: the check
// tells a pure entry from one that loads the addon.

import assert from "node:assert/strict";

const CHILD = new URL("./_pure_core_child.ts", import.meta.url).pathname;

async function runWithoutPermissions(...args: string[]) {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--quiet", CHILD, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { success, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("core and memory run with no permissions: no FFI, no native addon", async () => {
  const { success, stdout, stderr } = await runWithoutPermissions();
  assert.ok(success, `the child failed:\n${stderr}`);
  assert.deepEqual(JSON.parse(stdout), { entries: 3, lastPayload: "event 3", offsetBytes: 43 });
});

Deno.test("core's zstd entry is the one that needs FFI", async () => {
  const { success, stderr } = await runWithoutPermissions("--with-zstd");
  assert.ok(!success, "importing @streamkit/core/zstd without --allow-ffi should fail");
  assert.match(stderr, /Requires ffi access/);
});
