// `streamkit checkpoints`, `streamkit leases`, and the checkpoints `export --checkpoints`,
// `import` and `copy --checkpoints` carry, run as subprocesses the way a user runs them: on
// LevelDB and through `--db http://...` against a `streamkit serve`. Leases are never carried;
// without the flag, export and copy do exactly what they did before.

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Checkpoint, Lease, Store } from "@streamkit/core";
import {
  LAYOUT_ENTRIES,
  linesOf,
  ok,
  seed,
  snapshot,
  streamkit,
  withLevelStore,
} from "./_test_cli.ts";
import { clientOk, ServeProcess } from "./_test_serve.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";
const text = new TextEncoder();

/** What `seedMeta` wrote, as the store answered each write. */
interface Meta {
  checkpoints: Checkpoint[];
  leases: Lease[];
}

/**
 * Writes checkpoints (text, binary, empty, a tab, odd names; one written twice) and leases (one
 * held, one released, one expired) into `store`.
 */
async function seedMeta(store: Store): Promise<Meta> {
  await store.putCheckpoint("payment-log", text.encode('{"payments":"00ab"}'));
  const checkpoints = [
    await store.putCheckpoint("payment-log", text.encode('{"payments":"00ac"}')),
    await store.putCheckpoint("bin ary", new Uint8Array([0, 1, 255])),
    await store.putCheckpoint("🦊 fox", text.encode("tab\there")),
    await store.putCheckpoint("empty", new Uint8Array(0)),
  ];
  const held = await store.acquireLease("payment-log", { owner: "worker-1", ttlMs: 600_000 });
  const released = await store.acquireLease("released", { owner: "worker 2", ttlMs: 600_000 });
  await store.releaseLease(released!);
  const expired = await store.acquireLease("old-job", { owner: "w3", ttlMs: 1 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { checkpoints, leases: [held!, { ...released!, expiresAt: 0 }, expired!] };
}

const iso = (ms: number) => new Date(ms).toISOString();
const byName = <T extends { name: string }>(items: T[], name: string) =>
  items.find((item) => item.name === name)!;

/** The lines `checkpoints` prints for `meta`, in UTF-8 byte order of the names. */
function checkpointLines({ checkpoints }: Meta): string[] {
  const at = (name: string) => iso(byName(checkpoints, name).updatedAt);
  return [
    `"bin ary" v1 ${at("bin ary")} 3 bytes base64:AAH/`,
    `empty v1 ${at("empty")} 0 bytes ""`,
    `payment-log v2 ${at("payment-log")} 19 bytes {"payments":"00ac"}`,
    `"🦊 fox" v1 ${at("🦊 fox")} 8 bytes "tab\\there"`,
  ];
}

/** The lines `checkpoints --format jsonl` prints for `meta` (those `export --checkpoints` adds). */
function checkpointJsonLines({ checkpoints }: Meta): string[] {
  return ["bin ary", "empty", "payment-log", "🦊 fox"].map((name) => {
    const { version, updatedAt, value } = byName(checkpoints, name);
    return JSON.stringify({
      checkpoint: name,
      version,
      updatedAt,
      value: btoa(String.fromCharCode(...value)),
    });
  });
}

/** A checkpoint listing's names and values (base64), without versions and times. */
function namesAndValues(jsonl: string): [string, string][] {
  return linesOf(jsonl).map((line) => JSON.parse(line)).map((c) => [c.checkpoint, c.value]);
}

/** A temporary LevelDB database holding STORE (LAYOUT's data, and `seedMeta`'s); its --db. */
async function withMetaDb(use: (db: string, dir: string, meta: Meta) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-cli-meta-" });
  try {
    const path = join(dir, "db");
    const meta = await withLevelStore(path, STORE, async (store) => {
      await seed(store);
      return await seedMeta(store);
    });
    await use(`level:${path}`, dir, meta);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli checkpoints and leases: every record by name in byte order, as text or JSON lines; none in a store of data only", async () => {
  await withMetaDb(async (db, dir, meta) => {
    const checkpoints = await ok(["checkpoints", "--db", db]);
    assert.deepEqual(linesOf(checkpoints.stdout), checkpointLines(meta));
    assert.equal(checkpoints.stderr, "");
    const jsonl = await ok(["checkpoints", "--db", db, "--store", STORE, "--format", "jsonl"]);
    assert.deepEqual(linesOf(jsonl.stdout), checkpointJsonLines(meta));

    const [held, released, expired] = meta.leases;
    const leases = await ok(["leases", "--db", db]);
    assert.deepEqual(linesOf(leases.stdout), [
      `old-job expired w3 token 1 expiresAt ${iso(expired.expiresAt)}`,
      `payment-log held worker-1 token 1 expiresAt ${iso(held.expiresAt)}`,
      `released released "worker 2" token 1 expiresAt 1970-01-01T00:00:00.000Z`,
    ]);
    const leasesJsonl = await ok(["leases", "--db", db, "--format", "jsonl"]);
    assert.deepEqual(linesOf(leasesJsonl.stdout).map((line) => JSON.parse(line)), [
      { ...fieldsOf(expired), state: "expired" },
      { ...fieldsOf(held), state: "held" },
      { ...fieldsOf(released), state: "released" },
    ]);
    // Listing changed nothing: the lease is still held, by the same token.
    assert.equal((await ok(["leases", "--db", db])).stdout, leases.stdout);

    // A store of data only lists nothing, and says nothing.
    const plain = join(dir, "plain");
    await withLevelStore(plain, STORE, seed);
    for (const command of ["checkpoints", "leases"]) {
      const run = await ok([command, "--db", `level:${plain}`]);
      assert.deepEqual([run.stdout, run.stderr], ["", ""]);
    }

    // Usage errors as the other listings': exit 2, nothing on stdout.
    for (
      const [args, message] of [
        [["checkpoints", "extra", "--db", db], /checkpoints takes no arguments, got "extra"/],
        [["leases", "--db", db, "--store", OTHER_STORE], /holds no store 6f1d2f4e/],
        [["leases", "--db", db, "--format", "csv"], /--format expects one of text, jsonl/],
      ] as const
    ) {
      const run = await streamkit([...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, "");
    }
  });
});

/** A lease's four fields, as `leases --format jsonl` names them. */
function fieldsOf({ name, owner, token, expiresAt }: Lease) {
  return { lease: name, owner, token, expiresAt };
}

Deno.test("cli help: checkpoints, leases, and the --checkpoints of export and copy", async () => {
  const overview = (await ok(["--help"])).stdout;
  assert.match(overview, /^ {2}checkpoints\s+list the checkpoints of the store/m);
  assert.match(overview, /^ {2}leases\s+list the leases of the store/m);
  for (const command of ["checkpoints", "leases"]) {
    const help = (await ok(["help", command])).stdout;
    assert.equal((await ok([command, "--help"])).stdout, help);
    assert.match(help, new RegExp(`^Usage: streamkit ${command} \\[options\\]$`, "m"));
    assert.match(help, /--format <format>/);
    assert.match(help, /--store <uuid>/);
  }
  for (const command of ["export", "copy"]) {
    assert.match((await ok(["help", command])).stdout, /^ {2}--checkpoints\s/m);
  }
  assert.doesNotMatch((await ok(["help", "import"])).stdout, /^ {2}--checkpoints/m);
});

Deno.test("cli export --checkpoints then import: the checkpoints come back after the entries; without the flag nothing of them; never a lease", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-cli-meta-" });
  try {
    const path = join(dir, "db");
    const db = `level:${path}`;
    await withLevelStore(path, STORE, seed);
    const before = await ok(["export", "--db", db]);
    const meta = await withLevelStore(path, STORE, seedMeta);

    // Without the flag: byte for byte what it wrote before the store had checkpoints.
    const plain = await ok(["export", "--db", db]);
    assert.equal(plain.stdout, before.stdout);
    assert.match(plain.stderr, new RegExp(`7 segments in 3 spaces of store ${STORE} `));

    const file = join(dir, "backup.ndjson");
    const exported = await ok(["export", "--db", db, "--checkpoints", "--out", file]);
    assert.match(
      exported.stderr,
      new RegExp(`7 segments in 3 spaces and 4 checkpoints of store ${STORE} `),
    );
    const lines = linesOf(await Deno.readTextFile(file));
    assert.deepEqual(lines.slice(0, LAYOUT_ENTRIES), linesOf(before.stdout));
    assert.deepEqual(lines.slice(LAYOUT_ENTRIES), checkpointJsonLines(meta));

    const restored = `level:${join(dir, "restored")}`;
    const imported = await ok(["import", "--db", restored, "--store", OTHER_STORE, "--in", file]);
    assert.match(
      imported.stderr,
      /0 of the entries were there already and equal; 4 checkpoints written, 0 there already and equal$/m,
    );
    assert.deepEqual(
      await withLevelStore(join(dir, "restored"), OTHER_STORE, snapshot),
      await withLevelStore(path, STORE, snapshot),
    );
    const listed = (await ok(["checkpoints", "--db", restored, "--format", "jsonl"])).stdout;
    assert.deepEqual(
      namesAndValues(listed),
      namesAndValues(lines.slice(LAYOUT_ENTRIES).join("\n")),
    );
    // The destination's own versions: payment-log is at 1 there, written once.
    assert.deepEqual(linesOf(listed).map((line) => JSON.parse(line).version), [1, 1, 1, 1]);
    assert.equal((await ok(["leases", "--db", restored])).stdout, "");

    // Again: every checkpoint is there with its value; none is written (no version bumped).
    const again = await ok(["import", "--db", restored], { stdin: lines.join("\n") });
    assert.match(again.stderr, /; 0 checkpoints written, 4 there already and equal$/m);
    assert.equal((await ok(["checkpoints", "--db", restored, "--format", "jsonl"])).stdout, listed);

    // The export without the flag imports no checkpoint, and says nothing of them.
    const third = `level:${join(dir, "third")}`;
    const entriesOnly = await ok(["import", "--db", third, "--store", STORE], {
      stdin: plain.stdout,
    });
    assert.doesNotMatch(entriesOnly.stderr, /checkpoint/);
    assert.equal((await ok(["checkpoints", "--db", third])).stdout, "");

    // `checkpoints --format jsonl` is import's input too; a bad checkpoint line names its line.
    const onlyCheckpoints = (await ok(["checkpoints", "--db", db, "--format", "jsonl"])).stdout;
    await ok(["import", "--db", third], { stdin: onlyCheckpoints });
    assert.deepEqual(
      namesAndValues((await ok(["checkpoints", "--db", third, "--format", "jsonl"])).stdout),
      namesAndValues(onlyCheckpoints),
    );
    const bad = await streamkit(["import", "--db", third], {
      stdin: `${lines[0]}\n{"checkpoint":"x","value":"not base64!"}\n`,
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /stdin line 2: value: must be standard base64 text/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli copy --checkpoints: after the entries, again writes none, a moved one is copied; without the flag none; never a lease", async () => {
  await withMetaDb(async (db, dir, meta) => {
    const bare = `level:${join(dir, "bare")}`;
    const plain = await ok(["copy", "--db", db, "--to", bare]);
    assert.match(plain.stderr, /of the entries were there already and equal$/m);
    assert.doesNotMatch(plain.stderr, /checkpoint/);
    assert.equal((await ok(["checkpoints", "--db", bare])).stdout, "");
    assert.equal((await ok(["leases", "--db", bare])).stdout, "");

    const to = `level:${join(dir, "copy")}`;
    const first = await ok(["copy", "--db", db, "--to", to, "--checkpoints"]);
    assert.match(
      first.stderr,
      /; 0 of the entries were there already and equal; 4 checkpoints written, 0 there already and equal$/m,
    );
    assert.deepEqual(
      await withLevelStore(join(dir, "copy"), STORE, snapshot),
      await withLevelStore(join(dir, "db"), STORE, snapshot),
    );
    const copied = (await ok(["checkpoints", "--db", to, "--format", "jsonl"])).stdout;
    assert.deepEqual(namesAndValues(copied), namesAndValues(checkpointJsonLines(meta).join("\n")));
    assert.equal((await ok(["leases", "--db", to])).stdout, "");

    const second = await ok(["copy", "--db", db, "--to", to, "--checkpoints"]);
    assert.match(second.stderr, /; 0 checkpoints written, 4 there already and equal$/m);
    assert.equal((await ok(["checkpoints", "--db", to, "--format", "jsonl"])).stdout, copied);

    // The source's position moves on: the next copy carries it, at the destination's version 2.
    await withLevelStore(join(dir, "db"), STORE, async (store) => {
      await store.putCheckpoint("payment-log", text.encode('{"payments":"00ad"}'));
    });
    const third = await ok(["copy", "--db", db, "--to", to, "--checkpoints"]);
    assert.match(third.stderr, /; 1 checkpoint written, 3 there already and equal$/m);
    const moved = linesOf((await ok(["checkpoints", "--db", to])).stdout)[2];
    assert.match(moved, /^payment-log v2 \S+ 19 bytes \{"payments":"00ad"\}$/);
  });
});

Deno.test("cli checkpoints, leases, export --checkpoints, import and copy --checkpoints through --db http://", async () => {
  await withMetaDb(async (level, dir, meta) => {
    const commands = [
      ["checkpoints"],
      ["checkpoints", "--format", "jsonl"],
      ["leases"],
      ["leases", "--format", "jsonl"],
      ["export", "--checkpoints"],
    ];
    const local: string[] = [];
    for (const args of commands) local.push((await clientOk([...args, "--db", level])).stdout);
    assert.deepEqual(linesOf(local[0]), checkpointLines(meta));

    await using server = await ServeProcess.start([
      "--db",
      level,
      "--no-auth",
      "--listen",
      "127.0.0.1:0",
    ]);
    const db = server.url;
    for (const [i, args] of commands.entries()) {
      const run = await clientOk([...args, "--db", db, "--store", STORE]);
      assert.equal(run.stdout, local[i], `streamkit ${args.join(" ")}`);
    }

    // Import into another store of the server, then copy it out of the server.
    const imported = await clientOk(["import", "--db", db, "--store", OTHER_STORE], {
      stdin: local[4],
    });
    assert.match(imported.stderr, /; 4 checkpoints written, 0 there already and equal$/m);
    const listed = await clientOk([
      "checkpoints",
      "--db",
      db,
      "--store",
      OTHER_STORE,
      "--format",
      "jsonl",
    ]);
    assert.deepEqual(namesAndValues(listed.stdout), namesAndValues(local[1]));
    assert.equal((await clientOk(["leases", "--db", db, "--store", OTHER_STORE])).stdout, "");

    const to = `level:${join(dir, "copy")}`;
    const copied = await clientOk([
      "copy",
      "--db",
      db,
      "--store",
      STORE,
      "--to",
      to,
      "--checkpoints",
    ]);
    assert.match(copied.stderr, /; 4 checkpoints written, 0 there already and equal$/m);
    const there = await clientOk(["checkpoints", "--db", to, "--format", "jsonl"]);
    assert.deepEqual(namesAndValues(there.stdout), namesAndValues(local[1]));
    assert.equal((await clientOk(["leases", "--db", to])).stdout, "");

    const exit = await server.stop("SIGTERM");
    assert.equal(exit.code, 0, exit.stderr);
  });
});
