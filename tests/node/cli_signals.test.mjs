// The built @streamkit/cli package's `streamkit` bin on Node, ended as a terminal ends it:
// `read --follow` gets SIGINT or SIGTERM on its whole process group and exits 130 after printing
// what it read, the bin run itself and through `npx streamkit`; an import with stderr to a pipe
// writes its one-line summary and no progress line.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const bin = join(here, "node_modules", ".bin", "streamkit");
const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";
const RECORDS = 5;

/**
 * Starts `command args` in a process group of its own (as a shell starts a job), its stdout and
 * stderr collected; `lines(n)` resolves once stdout has n lines.
 */
function start(command, args, input) {
  const child = spawn(command, args, { cwd: here, detached: true });
  const out = { stdout: "", stderr: "" };
  const waiting = [];
  child.stdout.on("data", (chunk) => {
    out.stdout += chunk;
    for (const wait of waiting) wait();
  });
  child.stderr.on("data", (chunk) => out.stderr += chunk);
  child.stdin.end(input ?? "");
  const exited = new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, ...out }))
  );
  const lines = (count) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${count} lines:\n${out.stderr}`)),
        30_000,
      );
      const check = () => {
        if (out.stdout.split("\n").length > count) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiting.push(check);
      exited.then(() => reject(new Error(`exited:\n${out.stderr}`)));
      check();
    });
  /** Kills the group if it is still there: every test ends what it started. */
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await exited;
  };
  return { child, exited, lines, kill };
}

/** A LevelDB database in a new temporary directory with RECORDS entries in space "orders". */
async function seeded() {
  const dir = mkdtempSync(join(tmpdir(), "streamkit-node-signals-"));
  const db = `level:${join(dir, "data")}`;
  const records = Array.from({ length: RECORDS }, (_, i) => `{"payload":"${btoa(`#${i}`)}"}`);
  const run = start(
    bin,
    ["append", "orders", "o-1", "--db", db, "--store", STORE],
    records.join("\n"),
  );
  const appended = await run.exited;
  assert.equal(appended.code, 0, appended.stderr);
  return { dir, db };
}

/** Follows "orders" with `command args`, signals the group once its history is out. */
async function followThenSignal(command, args, signal) {
  const { dir, db } = await seeded();
  const follower = start(command, [
    ...args,
    "read",
    "orders",
    "--follow",
    "--db",
    db,
    "--format",
    "jsonl",
  ]);
  try {
    await follower.lines(RECORDS);
    process.kill(-follower.child.pid, signal);
    return await follower.exited;
  } finally {
    await follower.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertRead(exit) {
  assert.deepEqual(
    exit.stdout.trim().split("\n").map((line) => JSON.parse(line).sequence),
    Array.from({ length: RECORDS }, (_, i) => i + 1),
  );
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  test(`the streamkit bin: read --follow, ${signal} to its process group, exits 130 after the entries it read`, async () => {
    const exit = await followThenSignal(bin, [], signal);
    assert.deepEqual([exit.code, exit.signal], [130, null], exit.stderr);
    assertRead(exit);
    assert.equal(exit.stderr, `streamkit read: interrupted by ${signal}\n`);
  });
}

test("npx streamkit read --follow: Ctrl-C (SIGINT to the group) ends it as a shell shows 130", async () => {
  const exit = await followThenSignal("npx", ["--no", "streamkit"], "SIGINT");
  // npm ends npx by the signal it got, whatever the exit code of its child: the shell's 128 + 2.
  assert.ok(exit.code === 130 || exit.signal === "SIGINT", `${exit.code} ${exit.signal}`);
  assertRead(exit);
  assert.match(exit.stderr, /^streamkit read: interrupted by SIGINT$/m);
});

test("the streamkit bin: import with stderr to a pipe writes its summary and no progress line", async () => {
  const { dir, db } = await seeded();
  try {
    const exported = await start(bin, ["export", "--db", db]).exited;
    assert.equal(exported.code, 0, exported.stderr);
    const imported = await start(
      bin,
      ["import", "--db", db, "--store", OTHER_STORE],
      exported.stdout,
    )
      .exited;
    assert.equal(imported.code, 0, imported.stderr);
    assert.ok(!imported.stderr.includes("\r"), JSON.stringify(imported.stderr));
    assert.match(imported.stderr, /^import: 5 entries, [^\n]*\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
