// The built @streamkit/cli package's `streamkit` command on Node, run through the bin npm
// installed (node_modules/.bin/streamkit), against LevelDB: listings, append, read, export and
// import, and a usage error.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("./node_modules/.bin/streamkit", import.meta.url));
const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";

/** Runs the installed bin itself (its #! line picks Node). */
function streamkit(args, input = "") {
  const { status, stdout, stderr } = spawnSync(bin, args, { input, encoding: "utf8" });
  return { code: status, stdout, stderr };
}

function ok(args, input) {
  const run = streamkit(args, input);
  assert.equal(run.code, 0, `streamkit ${args.join(" ")} failed:\n${run.stderr}`);
  return run;
}

test("the streamkit bin: help, stores, spaces, append, read, export and import on LevelDB", () => {
  const dir = mkdtempSync(join(tmpdir(), "streamkit-node-cli-"));
  try {
    const db = `level:${join(dir, "data")}`;
    assert.match(ok(["--help"]).stdout, /^Usage: streamkit <command>/m);
    assert.match(ok(["help", "copy"]).stdout, /--to <db>/);
    assert.equal(ok(["stores", "--db", db]).stdout, "");

    const records = ['{"payload":"AAEC/w=="}', '{"payload":"aGk=","metadata":{"k":"v"}}'];
    const appended = ok(
      ["append", "🦊 orders", "a/b #1", "--db", db, "--store", STORE],
      records.join("\n"),
    );
    assert.match(appended.stderr, /2 entries appended, sequences 1 to 2/);
    assert.equal(ok(["stores", "--db", db]).stdout, `${STORE}\n`);
    assert.equal(ok(["spaces", "--db", db]).stdout, "🦊 orders\n");
    assert.equal(ok(["segments", "🦊 orders", "--db", db]).stdout, "a/b #1\n");

    const read = ok(["read", "🦊 orders", "a/b #1", "--db", db, "--format", "jsonl"]).stdout
      .trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(read.map((entry) => [entry.sequence, entry.payload, entry.metadata]), [
      [1, "AAEC/w==", {}],
      [2, "aGk=", { k: "v" }],
    ]);
    assert.match(ok(["read", "🦊 orders", "--db", db]).stdout, / "a\/b #1" #2 trx 1 \[k=v\] hi\n$/);

    const exported = ok(["export", "--db", db]);
    assert.equal(exported.stdout.trim().split("\n").length, 2);
    assert.match(exported.stderr, /^export: 2 entries, /m);
    const imported = ok(["import", "--db", db, "--store", OTHER_STORE], exported.stdout);
    assert.match(imported.stderr, /^import: 2 entries, /m);
    assert.equal(ok(["export", "--db", db, "--store", OTHER_STORE]).stdout, exported.stdout);
    assert.match(
      ok(["import", "--db", db, "--store", OTHER_STORE], exported.stdout).stderr,
      /; 2 of the entries were there already and equal/,
    );

    const usage = streamkit(["read", "--db", db, "--store", STORE]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /read expects <space> \[<segment>\], got 0 arguments/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
