// Runs the README's Node examples (extracted to readme_*example.mjs by scripts/test_node.ts),
// the stateful ones twice in an empty directory, as a user would after
// `npm install @streamkit/level`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const example = fileURLToPath(new URL("./readme_example.mjs", import.meta.url));
const followExample = fileURLToPath(new URL("./readme_follow_example.mjs", import.meta.url));
const serveExample = fileURLToPath(new URL("./readme_serve_example.mjs", import.meta.url));
const processorExample = fileURLToPath(
  new URL("./readme_processor_example.mjs", import.meta.url),
);

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

test("the README's follow example catches up, flushes, and resumes from its offset", () => {
  const cwd = mkdtempSync(join(tmpdir(), "streamkit-node-follow-example-"));
  try {
    const first = execFileSync(process.execPath, [followExample], { cwd, encoding: "utf8" });
    assert.deepEqual(first.trim().split("\n"), [
      "caught up (0 applied), offset saved",
      "caught up (1 applied), offset saved",
      "order-live: 1 entries",
    ]);
    // Resumed from the saved offset: nothing is applied twice.
    const second = execFileSync(process.execPath, [followExample], { cwd, encoding: "utf8" });
    assert.deepEqual(second.trim().split("\n"), [
      "caught up (0 applied), offset saved",
      "caught up (1 applied), offset saved",
      "order-live: 2 entries",
    ]);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("the README's serving example serves a store and reads it back through a client", () => {
  const output = execFileSync(process.execPath, [serveExample], { encoding: "utf8" });
  assert.deepEqual(output.trim().split("\n"), ["committed up to 1", "order-1 1 placed"]);
});

test("the README's processors example handles each payment once, across runs", () => {
  const cwd = mkdtempSync(join(tmpdir(), "streamkit-node-processor-example-"));
  try {
    const run = () => execFileSync(process.execPath, [processorExample], { cwd, encoding: "utf8" });
    assert.deepEqual(run().trim().split("\n"), ["log: payment 1", "payments counted: 1"]);
    assert.deepEqual(run().trim().split("\n"), ["log: payment 2", "payments counted: 2"]);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
