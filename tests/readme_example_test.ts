// Runs the README's first Deno example as a newcomer does: twice in an empty directory, then
// between two runs of the demo in another, where it must write to the demo's store (one store
// in the directory, so every `streamkit` command without --store still works).
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRun } from "./_deno_run.ts";

const root = new URL("..", import.meta.url).pathname;
const EXAMPLE = /<!-- deno-example -->\s*```ts\n([\s\S]*?)```/;
const DEMO_STORE = "5d3a1f0e-8c2b-4e4f-9a6d-2f1e0c9b8a70";

function runExample(path: string, cwd: string): Promise<string> {
  // The workspace's config resolves @streamkit/* as a user's import map would.
  return denoRun(["-A", "--config", join(root, "deno.json"), path], cwd, "the example");
}

function runDemo(cwd: string): Promise<string> {
  const permissions = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi"];
  return denoRun([...permissions, join(root, "scripts/demo.ts")], cwd, "the demo");
}

Deno.test("README: the first Deno example continues its segment on each run, in the demo's store", async () => {
  const example = EXAMPLE.exec(await Deno.readTextFile(join(root, "README.md")))?.[1];
  assert.ok(example, "README.md has no ```ts block after <!-- deno-example -->");
  const empty = await Deno.makeTempDir({ prefix: "streamkit-example-" });
  const afterDemo = await Deno.makeTempDir({ prefix: "streamkit-example-demo-" });
  try {
    const path = join(empty, "example.ts");
    await Deno.writeTextFile(path, example);
    assert.deepEqual((await runExample(path, empty)).trim().split("\n"), [
      "committed up to 3",
      "order-1 holds 3 entries",
    ]);
    assert.deepEqual((await runExample(path, empty)).trim().split("\n"), [
      "committed up to 6",
      "order-1 holds 6 entries",
    ]);

    await runDemo(afterDemo);
    assert.deepEqual((await runExample(path, afterDemo)).trim().split("\n"), [
      "committed up to 503",
      "order-1 holds 503 entries",
    ]);
    assert.match(await runDemo(afterDemo), /order-1 continues after sequence 503/);
    const stores = [];
    for await (const item of Deno.readDir(join(afterDemo, ".streamkit-data"))) {
      if (item.isDirectory) stores.push(item.name);
    }
    assert.deepEqual(stores, [DEMO_STORE], "the example writes to the demo's store, no other");
  } finally {
    await Deno.remove(empty, { recursive: true });
    await Deno.remove(afterDemo, { recursive: true });
  }
});
