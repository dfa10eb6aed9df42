// Runs the README's Deno "Serving a store" example, as a user would.
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRun } from "./_deno_run.ts";

const root = new URL("..", import.meta.url).pathname;
const EXAMPLE = /<!-- deno-serve-example -->\s*```ts\n([\s\S]*?)```/;

Deno.test("README: the serving example serves a store and reads it back through a client", async () => {
  const example = EXAMPLE.exec(await Deno.readTextFile(join(root, "README.md")))?.[1];
  assert.ok(example, "README.md has no ```ts block after <!-- deno-serve-example -->");
  const cwd = await Deno.makeTempDir({ prefix: "streamkit-serve-example-" });
  try {
    const path = join(cwd, "serve.ts");
    await Deno.writeTextFile(path, example);
    const output = await denoRun(
      ["--allow-net=127.0.0.1", "--config", join(root, "deno.json"), path],
      cwd,
      "the example",
    );
    assert.deepEqual(output.trim().split("\n"), ["committed up to 1", "order-1 1 placed"]);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
