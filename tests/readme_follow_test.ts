// Runs the README's Deno "Following a space" example twice in an empty directory, as a user
// would: the first run follows a new store, the second resumes from the offset it saved.
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRun } from "./_deno_run.ts";

const root = new URL("..", import.meta.url).pathname;
const EXAMPLE = /<!-- deno-follow-example -->\s*```ts\n([\s\S]*?)```/;

function runExample(path: string, cwd: string): Promise<string> {
  // The workspace's config resolves @streamkit/* as a user's import map would.
  return denoRun(["-A", "--config", join(root, "deno.json"), path], cwd, "the example");
}

Deno.test("README: the follow example catches up, flushes, and resumes from its offset", async () => {
  const example = EXAMPLE.exec(await Deno.readTextFile(join(root, "README.md")))?.[1];
  assert.ok(example, "README.md has no ```ts block after <!-- deno-follow-example -->");
  const cwd = await Deno.makeTempDir({ prefix: "streamkit-follow-example-" });
  try {
    const path = join(cwd, "follow.ts");
    await Deno.writeTextFile(path, example);
    const first = await runExample(path, cwd);
    assert.deepEqual(first.trim().split("\n"), [
      "caught up (0 applied), offset saved",
      "caught up (1 applied), offset saved",
      "order-live: 1 entries",
    ]);
    // Resumed from the saved offset: nothing is applied twice.
    const second = await runExample(path, cwd);
    assert.deepEqual(second.trim().split("\n"), [
      "caught up (0 applied), offset saved",
      "caught up (1 applied), offset saved",
      "order-live: 2 entries",
    ]);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
