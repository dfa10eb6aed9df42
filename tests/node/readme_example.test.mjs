// Runs the README's Node example (extracted to readme_example.mjs by scripts/test_node.ts)
// twice in an empty directory, as a user would after `npm install @streamkit/level`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const example = fileURLToPath(new URL("./readme_example.mjs", import.meta.url));

test("the README's Node example runs against the built package, and continues on a second run", () => {
  const cwd = mkdtempSync(join(tmpdir(), "streamkit-node-example-"));
  try {
    const first = execFileSync(process.execPath, [example], { cwd, encoding: "utf8" });
    assert.match(first, /committed up to 3/);
    assert.match(first, /1 \{"kind":"placed"\}/);
    assert.match(first, /3 \{"kind":"shipped"\}/);
    const second = execFileSync(process.execPath, [example], { cwd, encoding: "utf8" });
    assert.match(second, /committed up to 6/);
    assert.match(second, /6 \{"kind":"shipped"\}/);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
