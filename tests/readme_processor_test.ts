// Runs the README's Deno "Processors" example twice in an empty directory, as a user would: each
// run appends one payment, and both processors handle only what is new.
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRun } from "./_deno_run.ts";

const root = new URL("..", import.meta.url).pathname;
const EXAMPLE = /<!-- deno-processor-example -->\s*```ts\n([\s\S]*?)```/;

Deno.test("README: the processors example handles each payment once, across runs", async () => {
  const example = EXAMPLE.exec(await Deno.readTextFile(join(root, "README.md")))?.[1];
  assert.ok(example, "README.md has no ```ts block after <!-- deno-processor-example -->");
  const cwd = await Deno.makeTempDir({ prefix: "streamkit-processor-example-" });
  try {
    const path = join(cwd, "processors.ts");
    await Deno.writeTextFile(path, example);
    const run = () =>
      denoRun(["-A", "--config", join(root, "deno.json"), path], cwd, "the example");
    assert.deepEqual((await run()).trim().split("\n"), ["log: payment 1", "payments counted: 1"]);
    assert.deepEqual((await run()).trim().split("\n"), ["log: payment 2", "payments counted: 2"]);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
