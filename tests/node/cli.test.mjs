// The built @streamkit/cli package's `streamkit` command on Node, run through the bin npm
// installed (node_modules/.bin/streamkit), against LevelDB: listings, append, read, export and
// import, and a usage error; and `streamkit serve`, read and written by the bin over HTTP.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";

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
    const missing = streamkit(["stores", "--db", db]);
    assert.equal(missing.code, 1, "a LevelDB directory that does not exist is an error");
    assert.match(missing.stderr, /the directory does not exist/);

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

/** Runs the bin without waiting (its output and exit collected), as `spawnSync` cannot. */
function run(args, env = {}) {
  const child = spawn(bin, args, { env: { ...process.env, ...env } });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk) => out.stdout += chunk);
  child.stderr.on("data", (chunk) => out.stderr += chunk);
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  );
  return { child, out, exited };
}

test("the streamkit bin serves a LevelDB store; the bin reads it over HTTP with a token; SIGTERM ends it with 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "streamkit-node-serve-"));
  const secret = "node-serve-test-secret-0123456789abcdef";
  const server = run(
    [
      "serve",
      "--db",
      `level:${join(dir, "data")}`,
      "--listen",
      "127.0.0.1:0",
      "--auth-secret-env",
      "SK_NODE_SECRET",
    ],
    { SK_NODE_SECRET: secret },
  );
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not listening:\n${server.out.stderr}`)),
        30_000,
      );
      server.child.stderr.on("data", () => {
        const match = /listening on (http:\/\/\S+)/.exec(server.out.stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      server.exited.then(({ code }) => reject(new Error(`exit ${code}:\n${server.out.stderr}`)));
    });
    const sign = (scope) =>
      new SignJWT({ scope }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret));
    const client = async (args, token, input = "") => {
      const child = run([...args, "--db", url, "--store", STORE], { STREAMKIT_TOKEN: token });
      child.child.stdin.end(input);
      const { code } = await child.exited;
      return { code, ...child.out };
    };
    const full = await sign("streamkit::*");
    const appended = await client(["append", "orders", "o-1"], full, '{"payload":"aGk="}\n');
    assert.equal(appended.code, 0, appended.stderr);
    assert.match(appended.stderr, /1 entry appended/);
    const read = await client(
      ["read", "orders", "o-1", "--format", "jsonl"],
      await sign(`streamkit:read::${STORE}`),
    );
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(JSON.parse(read.stdout).payload, "aGk=");
    const denied = await client(
      ["append", "orders", "o-1"],
      await sign(`streamkit:read::${STORE}`),
      '{"payload":"aGk="}\n',
    );
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /streamkit::/);
    assert.ok(!server.out.stderr.includes(secret) && !denied.stderr.includes(secret));
  } finally {
    server.child.kill("SIGTERM");
    const { code } = await server.exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `serve after SIGTERM:\n${server.out.stderr}`);
  }
});
