// What `streamkit` tells a newcomer who names something that is not there, run as a subprocess:
// a LevelDB directory that does not exist (every command that reads says so, exit 1, and creates
// nothing; commands that write still create it), a space or segment the store does not hold
// (one message, exit 1, for read, segments, status and --space), and `read --follow` of a space
// or segment not written yet, which says so once and then prints its entries as they come. On
// LevelDB, through a `streamkit serve` (for the follows) and on Azurite.

import assert from "node:assert/strict";
import { join } from "node:path";
import { readLines, waitFor } from "../core/_test_util.ts";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { inTempDir, linesOf, ok, seed, streamkit, withLevelStore } from "./_test_cli.ts";
import { clientOk, ServeProcess, spawnClient } from "./_test_serve.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const HINT = "commands that write, such as append and import, create it";

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs `streamkit args` and asserts it failed with exit code 1, `message` on stderr alone. */
async function expectNotFound(args: string[], message: string | RegExp): Promise<void> {
  const run = await streamkit(args);
  const line = `streamkit ${args.join(" ")}`;
  assert.equal(run.code, 1, `${line}: exit ${run.code}\n${run.stderr}`);
  assert.equal(run.stdout, "", line);
  if (typeof message === "string") assert.equal(run.stderr, `${message}\n`, line);
  else assert.match(run.stderr, message, line);
}

Deno.test("cli on a LevelDB directory that does not exist: each command that reads says so with exit code 1 and creates nothing; append still creates it", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "no", "such dir");
    const db = `level:${path}`;
    const to = join(dir, "copy");
    const out = join(dir, "backup.ndjson");
    for (
      const args of [
        ["stores"],
        ["spaces"],
        ["segments", "orders"],
        ["status", "orders", "order-1"],
        ["read", "orders"],
        ["read", "orders", "order-1"],
        ["read", "orders", "--follow"],
        ["checkpoints"],
        ["leases"],
        ["verify"],
        ["export", "--out", out],
        ["copy", "--to", `level:${to}`],
        ["spaces", "--store", STORE],
      ]
    ) {
      await expectNotFound(
        [...args, "--db", db],
        `streamkit ${args[0]}: --db ${db}: the directory does not exist (${HINT})`,
      );
    }
    // Reading created nothing: neither the directory, nor copy's destination, nor the backup.
    assert.deepEqual([await exists(path), await exists(to), await exists(out)], [
      false,
      false,
      false,
    ]);

    // The default database is relative: the message says where it was looked for.
    const defaultRun = await streamkit(["spaces"], { cwd: dir });
    assert.equal(defaultRun.code, 1);
    assert.equal(
      defaultRun.stderr,
      `streamkit spaces: --db level:./.streamkit-data: the directory ` +
        `${join(await Deno.realPath(dir), ".streamkit-data")} does not exist (${HINT})\n`,
    );
    assert.equal(await exists(join(dir, ".streamkit-data")), false);

    // A file is no directory of stores.
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    await expectNotFound(
      ["stores", "--db", `level:${file}`],
      `streamkit stores: --db level:${file}: ${file} is not a directory`,
    );

    // Writing creates the directory and the store, as before; then the readers find them.
    await ok(["append", "orders", "order-1", "--db", db, "--store", STORE], {
      stdin: '{"payload":"aGk="}\n',
    });
    assert.deepEqual(linesOf((await ok(["stores", "--db", db])).stdout), [STORE]);
    await ok(["copy", "--db", db, "--to", `level:${to}`]);
    assert.deepEqual(linesOf((await ok(["spaces", "--db", `level:${to}`])).stdout), ["orders"]);
  });
});

Deno.test("cli serve of a LevelDB directory that does not exist yet: it serves, and a client's first append creates it", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "fresh");
    await using server = await ServeProcess.start([
      "--db",
      `level:${path}`,
      "--no-auth",
      "--listen",
      "127.0.0.1:0",
    ]);
    assert.equal(await exists(path), false, "serving creates nothing until a store is written");
    await clientOk(["append", "orders", "order-1", "--db", server.url, "--store", STORE], {
      stdin: '{"payload":"aGk="}\n',
    });
    assert.deepEqual(
      linesOf((await clientOk(["spaces", "--db", server.url])).stdout),
      ["orders"],
    );
    assert.equal((await server.stop()).code, 0);
    assert.equal(await exists(join(path, STORE)), true);
  });
});

Deno.test("cli read, segments, status and --space of a space or segment the store does not hold: one message each, exit code 1", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "db");
    await withLevelStore(path, STORE, seed);
    const db = ["--db", `level:${path}`];
    const noSpace = (command: string, space: string) =>
      `streamkit ${command}: store ${STORE} holds no space ${JSON.stringify(space)} ` +
      "(`streamkit spaces` lists them)";
    const noSegment = (command: string, space: string, segment: string, shell = space) =>
      `streamkit ${command}: space ${JSON.stringify(space)} holds no segment ` +
      `${JSON.stringify(segment)} (\`streamkit segments ${shell}\` lists them)`;

    await expectNotFound(["read", "ordres", ...db], noSpace("read", "ordres"));
    await expectNotFound(["read", "ordres", "--limit", "3", ...db], noSpace("read", "ordres"));
    await expectNotFound(
      ["read", "orders", "order 2", ...db],
      noSegment("read", "orders", "order 2"),
    );
    // Both missing: the space is named, the likelier typo.
    await expectNotFound(["read", "ordres", "order 2", ...db], noSpace("read", "ordres"));
    // Names that are prefixes of existing ones are not there either.
    await expectNotFound(["read", "order", ...db], noSpace("read", "order"));
    await expectNotFound(["segments", "ordres", ...db], noSpace("segments", "ordres"));
    await expectNotFound(["status", "ordres", "seg", ...db], noSpace("status", "ordres"));
    await expectNotFound(
      ["status", "orders", "se", ...db],
      noSegment("status", "orders", "se"),
    );
    // The hint's command line is one a shell takes.
    await expectNotFound(
      ["status", "🦊 space", "nope", ...db],
      noSegment("status", "🦊 space", "nope", "'🦊 space'"),
    );
    await expectNotFound(["export", "--space", "nope", ...db], noSpace("export", "nope"));
    const to = join(dir, "copy");
    await expectNotFound(
      ["copy", "--space", "orders", "--space", "nope", "--to", `level:${to}`, ...db],
      noSpace("copy", "nope"),
    );
    assert.equal(await exists(to), false, "a --space typo leaves no new store behind");

    // Nothing to print of a space or segment that is there is no error.
    const after = await ok(["read", "orders", "seg", "--after-sequence", "2", ...db]);
    assert.deepEqual([after.stdout, after.stderr], ["", ""]);
    assert.equal(linesOf((await ok(["read", "orders", "seg", ...db])).stdout).length, 2);
  });
});

/** A `streamkit read --follow` whose stdout and stderr are read line by line as they come. */
class Follower implements AsyncDisposable {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<unknown>;

  constructor(args: string[], env?: Record<string, string>) {
    this.#child = spawnClient(args, { stdin: "null", env });
    this.#done = Promise.all([
      readLines(this.#child.stdout, (line) => this.stdout.push(line)),
      readLines(this.#child.stderr, (line) => this.stderr.push(line)),
    ]);
  }

  /** Waits until stdout or stderr (`stream`) holds `count` lines. */
  async lines(stream: "stdout" | "stderr", count: number): Promise<string[]> {
    await waitFor(
      `${count} lines on ${stream} (so far ${JSON.stringify(this[stream])})`,
      () => this[stream].length >= count,
      { timeoutMs: 20_000 },
    );
    return this[stream];
  }

  /** Kills it with `signal` (if it still runs) and waits for its end and all of its output. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<void> {
    try {
      this.#child.kill(signal);
    } catch {
      // exited already
    }
    await this.#child.status;
    await this.#done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

Deno.test("cli read --follow of a space or segment not written yet: says so once on stderr, then prints its entries as they come", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "db");
    await withLevelStore(path, STORE, seed);
    // LevelDB has one opener: the follower and the writer meet at a server.
    await using server = await ServeProcess.start([
      "--db",
      `level:${path}`,
      "--no-auth",
      "--listen",
      "127.0.0.1:0",
    ]);
    const db = ["--db", server.url];
    await using space = new Follower(["read", "new orders", "--follow", ...db]);
    await using segment = new Follower(["read", "orders", "later", "--follow", ...db]);
    // At the live end of a segment that is there: nothing to say.
    await using caughtUp = new Follower([
      "read",
      "orders",
      "seg",
      "--follow",
      ...db,
      "--after-sequence",
      "2",
    ]);
    assert.deepEqual(await space.lines("stderr", 1), [
      `streamkit read: store ${STORE} holds no space "new orders" yet: waiting for its first entry`,
    ]);
    assert.deepEqual(await segment.lines("stderr", 1), [
      'streamkit read: space "orders" holds no segment "later" yet: waiting for its first entry',
    ]);

    await clientOk(["append", "new orders", "o-1", ...db], { stdin: '{"payload":"Zmlyc3Q="}\n' });
    assert.match((await space.lines("stdout", 1))[0], / "new orders" o-1 #1 trx 1 first$/);
    await clientOk(["append", "new orders", "o-2", ...db], { stdin: '{"payload":"c2Vjb25k"}\n' });
    assert.match((await space.lines("stdout", 2))[1], / "new orders" o-2 #1 trx 1 second$/);
    await clientOk(["append", "orders", "later", ...db], { stdin: '{"payload":"bm93"}\n' });
    assert.match((await segment.lines("stdout", 1))[0], / orders later #1 trx 1 now$/);
    await clientOk(["append", "orders", "seg", ...db], { stdin: '{"payload":"M3Jk"}\n' });
    assert.match((await caughtUp.lines("stdout", 1))[0], / orders seg #3 trx \d+ 3rd$/);

    // The message came once, and nothing else was said while following.
    assert.equal(space.stderr.length, 1, space.stderr.join("\n"));
    assert.equal(segment.stderr.length, 1, segment.stderr.join("\n"));
    assert.deepEqual(caughtUp.stderr, []);
    // Ctrl-C ends each (what it says and its exit code are another test's).
    for (const follower of [space, segment, caughtUp]) await follower.stop("SIGINT");
    assert.equal(space.stdout.length, 2);
  });
});

Deno.test("cli on Azurite: a space or segment the store does not hold is told through the API alone; a follow of one waits for it", async () => {
  const azurite = await startAzurite();
  try {
    const env = { STREAMKIT_AZURE_CONNECTION_STRING: azurite.connectionString };
    const db = ["--db", "azure", "--allow-insecure-http", "--table-prefix", "climissing"];
    const run = (args: string[], stdin?: string) => streamkit([...args, ...db], { env, stdin });
    const append = await run(["append", "orders", "seg", "--store", STORE], '{"payload":"aGk="}\n');
    assert.equal(append.code, 0, append.stderr);
    for (
      const [args, message] of [
        [["read", "ordres"], `store ${STORE} holds no space "ordres"`],
        [["read", "order"], `store ${STORE} holds no space "order"`],
        [["segments", "ordres"], `store ${STORE} holds no space "ordres"`],
        [["read", "orders", "se"], 'space "orders" holds no segment "se"'],
        [["status", "orders", "se"], 'space "orders" holds no segment "se"'],
      ] as const
    ) {
      const missing = await run([...args]);
      assert.deepEqual([missing.code, missing.stdout], [1, ""], missing.stderr);
      assert.ok(missing.stderr.startsWith(`streamkit ${args[0]}: ${message} (`), missing.stderr);
    }
    assert.equal((await run(["read", "orders"])).code, 0);

    // Azure is shared: another process writes while the follower waits.
    await using follower = new Follower(["read", "later", "--follow", ...db], env);
    assert.deepEqual(await follower.lines("stderr", 1), [
      `streamkit read: store ${STORE} holds no space "later" yet: waiting for its first entry`,
    ]);
    assert.equal(
      (await run(["append", "later", "s", "--store", STORE], '{"payload":"bm93"}\n')).code,
      0,
    );
    assert.match((await follower.lines("stdout", 1))[0], / later s #1 trx 1 now$/);
    assert.equal(follower.stderr.length, 1, follower.stderr.join("\n"));
    await follower.stop("SIGINT");
  } finally {
    await azurite.stop();
  }
});
