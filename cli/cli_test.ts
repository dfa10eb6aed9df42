// The `streamkit` command on LevelDB (and memory:), run as a subprocess the way a user runs it:
// every command, the help texts, exit codes 0/1/2 with their messages, exact and resumable
// export/import and copy, and follow ended by SIGINT. Names are odd (emoji, spaces, `/ \ # ? %`,
// U+FEFF) and payloads binary.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { spaceOffset, toHex } from "@streamkit/core";
import { spaceEntryKey } from "@streamkit/core/driver";
import { ENTRY_FIELDS } from "./_export_format.ts";
import {
  inTempDir,
  LAYOUT,
  LAYOUT_ENTRIES,
  linesOf,
  LiveRun,
  ok,
  seededDb,
  snapshot,
  streamkit,
  withLevelStore,
} from "./_test_cli.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";
const COMMANDS = [
  "stores",
  "spaces",
  "segments",
  "status",
  "read",
  "append",
  "export",
  "import",
  "copy",
  "verify",
];

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

async function expectUsage(args: string[], message: RegExp, stdin?: string): Promise<void> {
  const run = await streamkit(args, { stdin });
  assert.equal(run.code, 2, `streamkit ${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
  assert.match(run.stderr, message);
  assert.equal(run.stdout, "", "a usage error prints nothing on stdout");
}

Deno.test("cli help: the overview, `help <command>` and `<command> --help` for every command", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const run = await ok(args);
    for (const command of COMMANDS) assert.match(run.stdout, new RegExp(`^  ${command}\\b`, "m"));
    assert.match(run.stdout, /Exit codes: 0 success; 1 a failed check/);
    assert.match(run.stdout, /STREAMKIT_AZURE_CONNECTION_STRING/);
    assert.equal(run.stderr, "");
  }
  for (const command of COMMANDS) {
    const viaHelp = await ok(["help", command]);
    const viaFlag = await ok([command, "--help"]);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: streamkit ${command}\\b`, "m"));
    assert.match(viaHelp.stdout, /--db <db>/);
    assert.match(viaHelp.stdout, /^Examples:/m);
    assert.equal(viaHelp.stdout.includes("--store <uuid>"), command !== "stores");
  }
  const read = await ok(["read", "--help"]);
  for (const flag of ["--after <offset hex>", "--after-sequence <n>", "--limit <n>", "--follow"]) {
    assert.ok(read.stdout.includes(flag), flag);
  }
  assert.match((await ok(["copy", "-h"])).stdout, /--to <db>[\s\S]*--to-store <uuid>/);
});

Deno.test("cli usage errors: exit 2, nothing on stdout, the flag and what it expects named", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    await expectUsage([], /no command given/);
    await expectUsage(["frobnicate"], /unknown command "frobnicate"/);
    await expectUsage(["spaces", "--db", db, "--frob"], /unknown option --frob/);
    await expectUsage(
      ["spaces", "--db"],
      /--db expects a database: level:<dir>, memory:, azure or http\(s\):/,
    );
    await expectUsage(["spaces", "--db", "postgres://x"], /--db expects a database/);
    await expectUsage(["spaces", "--db", "level:"], /--db expects level:<dir>, with a directory/);
    await expectUsage(
      ["spaces", "--db", db, "--store", "nope"],
      /--store expects a store id \(a UUID\), got "nope"/,
    );
    await expectUsage(["spaces", "--db", db, "--store", OTHER_STORE], /holds no store 6f1d2f4e/);
    await expectUsage(["read", "--db", db], /read expects <space> \[<segment>\], got 0 arguments/);
    await expectUsage(["spaces", "--db", db, "extra"], /spaces takes no arguments, got "extra"/);
    await expectUsage(
      ["read", "orders", "--db", db, "--limit", "ten"],
      /--limit expects a number of entries \(a whole number >= 1\), got "ten"/,
    );
    await expectUsage(
      ["read", "orders", "--db", db, "--limit", "--follow"],
      /--limit expects a number of entries.*got --follow/,
    );
    await expectUsage(["read", "orders", "--db", db, "--follow=yes"], /--follow takes no value/);
    await expectUsage(
      ["read", "orders", "--db", db, "--after-sequence", "3"],
      /--after-sequence needs a <segment>/,
    );
    await expectUsage(
      ["read", "orders", "order 1", "--db", db, "--after", "00"],
      /--after takes a space offset: give it without <segment>/,
    );
    await expectUsage(
      ["read", "orders", "--db", db, "--after", "zz"],
      /--after expects a space offset of space "orders" in hex/,
    );
    await expectUsage(
      ["read", "orders", "--db", db, "--format", "xml"],
      /--format expects one of text, jsonl, got "xml"/,
    );
    await expectUsage(["spaces", "--db", db, "--to", "memory:"], /spaces takes no --to/);
    await expectUsage(["spaces", "--db", db, "--db", db], /--db is given twice/);
    await expectUsage(
      ["status", "orders", "--db", db],
      /status expects <space> <segment>, got 1 argument/,
    );
    await expectUsage(["segments", "", "--db", db], /<space>: must not be empty/);
    await expectUsage(["copy", "--db", db], /copy needs --to <db>/);
    await expectUsage(["copy", "--db", db, "--to", db], /the destination is the source store/);
    // A space the store does not hold is no usage error: exit 1, as for read (cli_missing_test).
    const noSpace = await streamkit(["export", "--db", db, "--space", "nope"]);
    assert.equal(noSpace.code, 1, noSpace.stderr);
    assert.match(noSpace.stderr, /holds no space "nope" \(`streamkit spaces` lists them\)/);
    await expectUsage(
      ["import", "--db", db, "--in", join(dir, "missing.ndjson")],
      /--in .*missing\.ndjson: cannot read it \(ENOENT\)/,
    );
    await expectUsage(
      ["append", "orders", "o", "--db", db],
      /stdin line 2: payload: must be standard base64 text/,
      '{"payload":"aGk="}\n{"payload":"not base64!"}\n',
    );
    await expectUsage(
      ["append", "orders", "o", "--db", db],
      /stdin line 1: record: unknown field "sequence"/,
      '{"payload":"","sequence":1}\n',
    );
    await expectUsage(["import", "--db", db], /stdin line 1: not JSON/, "{\n");
    await expectUsage(
      ["import", "--db", db],
      /stdin line 1: timestamp: missing/,
      '{"space":"s","segment":"g","sequence":1}\n',
    );
    // Store selection: none, or several, and no --store.
    // An existing directory without stores (one that does not exist is cli_missing_test's).
    await Deno.mkdir(join(dir, "empty"));
    const empty = `level:${join(dir, "empty")}`;
    await expectUsage(["spaces", "--db", empty], /--store: level:.*empty holds no store$/m);
    await expectUsage(
      ["append", "s", "g", "--db", empty],
      /name the store to create with --store <uuid>, e.g. --store [0-9a-f-]{36}/,
      "",
    );
    await ok(["append", "s", "g", "--db", db, "--store", OTHER_STORE], { stdin: "" });
    await expectUsage(["spaces", "--db", db], /holds 2 stores: name one with --store <uuid>/);
  });
});

Deno.test("cli listings and status: odd names as they are, or JSON lines; no status exits 1", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    // The demo's files beside the stores are no stores.
    await Deno.writeTextFile(join(dir, "db", "demo-space-offset.hex"), "00");
    assert.deepEqual(linesOf((await ok(["stores", "--db", db])).stdout), [STORE]);
    assert.deepEqual(
      linesOf((await ok(["stores", "--db", db, "--format", "jsonl"])).stdout),
      [JSON.stringify({ store: STORE })],
    );
    // Spaces and segments in UTF-8 byte order, names unquoted.
    const spaces = Object.keys(LAYOUT).sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b))
    );
    assert.deepEqual(linesOf((await ok(["spaces", "--db", db])).stdout), spaces);
    assert.deepEqual(
      linesOf(
        (await ok(["spaces", "--db", db, "--store", STORE.toUpperCase(), "--format", "jsonl"]))
          .stdout,
      )
        .map((line) => JSON.parse(line).space),
      spaces,
    );
    for (const [space, segments] of Object.entries(LAYOUT)) {
      const names = Object.keys(segments).sort((a, b) =>
        Buffer.compare(Buffer.from(a), Buffer.from(b))
      );
      assert.deepEqual(linesOf((await ok(["segments", space, "--db", db])).stdout), names);
      const jsonl = (await ok(["segments", space, "--db", db, "--format", "jsonl"])).stdout;
      assert.deepEqual(
        linesOf(jsonl).map((line) => JSON.parse(line)),
        names.map((segment) => ({ space, segment })),
      );
    }
    const noSpace = await streamkit(["segments", "no such space", "--db", db]);
    assert.deepEqual([noSpace.code, noSpace.stdout], [1, ""]);
    assert.match(noSpace.stderr, /holds no space "no such space" \(`streamkit spaces` lists them/);

    const status = await ok(["status", "🦊 space", "\uFEFFbom", "--db", db, "--format", "jsonl"]);
    const parsed = JSON.parse(status.stdout);
    assert.deepEqual(Object.keys(parsed), [
      "space",
      "segment",
      "firstSequence",
      "firstTimestamp",
      "lastSequence",
      "lastTimestamp",
    ]);
    assert.equal(parsed.segment, "\uFEFFbom");
    assert.equal(parsed.lastSequence, 7);
    const text = (await ok(["status", "🦊 space", "\uFEFFbom", "--db", db])).stdout;
    assert.match(text, /^space: "🦊 space"$/m);
    assert.match(text, /^segment: "\\ufeffbom"$/m, "U+FEFF is shown escaped, not hidden");
    assert.match(text, /^lastSequence: 7$/m);
    assert.match(
      text,
      new RegExp(`^lastTimestamp: ${parsed.lastTimestamp} \\(\\d{4}-\\d\\d-\\d\\dT`, "m"),
    );

    const missing = await streamkit(["status", "orders", "nothing here", "--db", db]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, "");
    assert.match(
      missing.stderr,
      /streamkit status: space "orders" holds no segment "nothing here" \(`streamkit segments/,
    );
  });
});

Deno.test("cli append and read: binary payloads, metadata, --after-sequence, --after, --limit, formats", async () => {
  await inTempDir(async (dir) => {
    const db = `level:${join(dir, "db")}`;
    const space = "a/b \\ #?% 🎉";
    const segment = "\uFEFFseg 1";
    const payloads = [
      new Uint8Array([0, 1, 2, 255, 10, 13]),
      new Uint8Array(0),
      new TextEncoder().encode("plain text"),
    ];
    const input = payloads.map((payload, i) =>
      JSON.stringify(
        i === 0
          ? { payload: base64(payload), metadata: { "content-type": "x/y", k: "v" } }
          : { payload: base64(payload) },
      )
    ).join("\n") + "\n\n";
    const first = await ok(["append", space, segment, "--db", db, "--store", STORE], {
      stdin: input,
    });
    assert.equal(first.stdout, "");
    assert.match(first.stderr, /3 entries appended, sequences 1 to 3/);
    const second = await ok(["append", space, segment, "--db", db], {
      stdin: JSON.stringify({ payload: "AA==" }),
    });
    assert.match(second.stderr, /1 entry appended, sequences 4 to 4/);

    const jsonl = linesOf(
      (await ok(["read", space, segment, "--db", db, "--format", "jsonl"])).stdout,
    )
      .map((line) => JSON.parse(line));
    assert.deepEqual(jsonl.map((entry) => entry.sequence), [1, 2, 3, 4]);
    assert.deepEqual(jsonl.map((entry) => entry.payload), [...payloads.map(base64), "AA=="]);
    assert.deepEqual(jsonl[0].metadata, { "content-type": "x/y", k: "v" });
    assert.deepEqual(Object.keys(jsonl[0]), ENTRY_FIELDS);
    assert.deepEqual(Object.keys(jsonl[0].trx), ["id", "node", "number"]);
    assert.equal(jsonl[0].space, space);
    assert.equal(jsonl[0].segment, segment);
    assert.deepEqual(jsonl.map((entry) => entry.trx.number), [1, 1, 1, 2]);

    const text = linesOf((await ok(["read", space, segment, "--db", db])).stdout);
    assert.equal(text.length, 4);
    assert.match(
      text[0],
      /^\d{4}-\d\d-\d\dT\S+Z "a\/b \\\\ #\?% 🎉" "\\ufeffseg 1" #1 trx 1 \[content-type=x\/y k=v\] base64:AAEC\/woN$/,
    );
    assert.match(text[1], / #2 trx 1 ""$/);
    assert.match(text[2], / #3 trx 1 plain text$/);

    const after = linesOf(
      (await ok([
        "read",
        space,
        segment,
        "--db",
        db,
        "--after-sequence",
        "2",
        "--limit",
        "1",
        "--format",
        "jsonl",
      ])).stdout,
    );
    assert.deepEqual(after.map((line) => JSON.parse(line).sequence), [3]);
    // A space read resumes strictly after a space offset, as an application saves it.
    const offset = toHex(spaceOffset({ ...jsonl[1], payload: new Uint8Array() }));
    const resumed = linesOf(
      (await ok(["read", space, "--db", db, "--after", offset, "--format", "jsonl"])).stdout,
    );
    assert.deepEqual(resumed.map((line) => JSON.parse(line).sequence), [3, 4]);
    const limited = linesOf((await ok(["read", space, "--db", db, "--limit", "2"])).stdout);
    assert.equal(limited.length, 2);
    const noSpace = await streamkit(["read", "no such space", "--db", db]);
    assert.deepEqual([noSpace.code, noSpace.stdout], [1, ""]);
    assert.match(noSpace.stderr, /holds no space "no such space"/);
  });
});

Deno.test("cli export then import into a new store reproduces it exactly; import again writes nothing", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const exported = await ok(["export", "--db", db]);
    const lines = linesOf(exported.stdout);
    assert.equal(lines.length, LAYOUT_ENTRIES);
    assert.match(
      exported.stderr,
      new RegExp(
        `^export: ${LAYOUT_ENTRIES} entries, .*: 7 segments in 3 spaces of store ${STORE}`,
        "m",
      ),
    );
    // Segment by segment, in order, each by sequence.
    const keys = lines.map((line) => JSON.parse(line)).map((entry) =>
      `${entry.space}\u0000${entry.segment}`
    );
    assert.deepEqual(
      keys,
      [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );

    const file = join(dir, "backup.ndjson");
    const toFile = await ok(["export", "--db", db, "--out", file]);
    assert.equal(toFile.stdout, "");
    assert.equal(await Deno.readTextFile(file), exported.stdout);
    await assert.rejects(Deno.stat(`${file}.partial`));

    const restored = `level:${join(dir, "restored")}`;
    const imported = await ok(["import", "--db", restored, "--store", OTHER_STORE, "--in", file]);
    assert.equal(imported.stdout, "");
    assert.match(
      imported.stderr,
      new RegExp(
        `^import: ${LAYOUT_ENTRIES} entries, .*7 segments in 3 spaces from --in .*backup\\.ndjson into store ${OTHER_STORE} .*; 0 of the entries were there already`,
        "m",
      ),
    );
    const source = await withLevelStore(join(dir, "db"), STORE, snapshot);
    const copy = await withLevelStore(join(dir, "restored"), OTHER_STORE, snapshot);
    assert.deepEqual(copy, source);

    // Again, from stdin: everything is there and equal, nothing is written twice.
    const again = await ok(["import", "--db", restored], { stdin: exported.stdout });
    assert.match(
      again.stderr,
      new RegExp(`; ${LAYOUT_ENTRIES} of the entries were there already and equal`),
    );
    assert.deepEqual(await withLevelStore(join(dir, "restored"), OTHER_STORE, snapshot), source);
    assert.equal((await ok(["export", "--db", restored])).stdout, exported.stdout);
  });
});

Deno.test("cli import resumes after an interruption, and fails with exit 1 where the store differs", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const lines = linesOf((await ok(["export", "--db", db])).stdout);
    const restored = `level:${join(dir, "restored")}`;
    // Interrupted part-way through a segment (a truncated file): then the whole file.
    const cut = 17;
    await ok(["import", "--db", restored, "--store", STORE], {
      stdin: lines.slice(0, cut).join("\n"),
    });
    const resumed = await ok(["import", "--db", restored], { stdin: lines.join("\n") + "\n" });
    assert.match(
      resumed.stderr,
      new RegExp(`; ${cut} of the entries were there already and equal`),
    );
    assert.deepEqual(
      await withLevelStore(join(dir, "restored"), STORE, snapshot),
      await withLevelStore(join(dir, "db"), STORE, snapshot),
    );

    // A destination whose entry differs from the input's: exit 1, naming where.
    const changed = lines.map((line) => JSON.parse(line));
    const target = changed.findIndex((entry) => entry.segment === "x y" && entry.sequence === 5);
    changed[target].payload = base64(new Uint8Array([1, 2, 3]));
    const other = `level:${join(dir, "other")}`;
    await ok(["import", "--db", other, "--store", STORE], {
      stdin: changed.map((e) => JSON.stringify(e)).join("\n"),
    });
    const mismatch = await streamkit(["import", "--db", other], { stdin: lines.join("\n") });
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stderr,
      /^streamkit import: space "%2F#\?" segment "x y" sequence 5: the destination's entry differs from the source's \(source vs destination\): payload of \d+ vs 3 bytes, first different at byte \d+$/m,
    );

    // Input whose sequences skip: a usage error naming the line.
    const skipping = [lines[0], lines[2]].join("\n");
    await expectUsage(
      ["import", "--db", `level:${join(dir, "third")}`, "--store", STORE],
      /stdin line 2: space "%2F#\?" segment "x y": sequence 3 does not follow 1/,
      skipping,
    );
  });
});

Deno.test("cli copy level to level: exact, resumable, never twice; a differing destination exits 1", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const to = `level:${join(dir, "copy")}`;
    const first = await ok(["copy", "--db", db, "--to", to]);
    assert.equal(first.stdout, "");
    assert.match(
      first.stderr,
      new RegExp(
        `^copy: ${LAYOUT_ENTRIES} entries, .*: 7 segments in 3 spaces from store ${STORE} \\(${db}\\) to store ${STORE} \\(${to}\\); 0 of the entries were there already and equal$`,
        "m",
      ),
    );
    const source = await withLevelStore(join(dir, "db"), STORE, snapshot);
    assert.deepEqual(await withLevelStore(join(dir, "copy"), STORE, snapshot), source);

    const second = await ok(["copy", "--db", db, "--to", to]);
    assert.match(
      second.stderr,
      new RegExp(`; ${LAYOUT_ENTRIES} of the entries were there already and equal`),
    );
    assert.deepEqual(await withLevelStore(join(dir, "copy"), STORE, snapshot), source);

    // The source grows: copy brings the destination up to date.
    await ok(["append", "orders", "order 1", "--db", db], { stdin: '{"payload":"bmV3"}\n' });
    const third = await ok(["copy", "--db", db, "--to", to, "--space", "orders"]);
    assert.match(
      third.stderr,
      /^copy: 35 entries, .*4 segments in 1 space .*; 34 of the entries were there already/m,
    );
    assert.deepEqual(
      await withLevelStore(join(dir, "copy"), STORE, snapshot),
      await withLevelStore(join(dir, "db"), STORE, snapshot),
    );

    // Another store of the same database, named --to-store.
    await ok(["copy", "--db", db, "--to", db, "--to-store", OTHER_STORE, "--space", "🦊 space"]);
    const other = await withLevelStore(join(dir, "db"), OTHER_STORE, snapshot);
    assert.deepEqual(other.map((space) => (space as { space: string }).space), ["🦊 space"]);

    // The destination ahead of its source: it holds an entry the source does not.
    await ok(["append", "orders", "seg2", "--db", to], { stdin: '{"payload":"eA=="}\n' });
    const ahead = await streamkit(["copy", "--db", db, "--store", STORE, "--to", to]);
    assert.equal(ahead.code, 1);
    assert.match(
      ahead.stderr,
      /^streamkit copy: space "orders" segment "seg2": the destination holds entries up to sequence 5, the source only up to 4$/m,
    );
    // An entry of the destination differs from the source's at the same sequence.
    await ok(["append", "orders", "seg", "--db", to], { stdin: '{"payload":"eA=="}\n' });
    await ok(["append", "orders", "seg", "--db", db, "--store", STORE], {
      stdin: '{"payload":"eQ=="}\n',
    });
    const differs = await streamkit(["copy", "--db", db, "--store", STORE, "--to", to]);
    assert.equal(differs.code, 1);
    assert.equal(differs.stdout, "");
    assert.match(
      differs.stderr,
      /^streamkit copy: space "orders" segment "seg" sequence 3: the destination's entry differs from the source's \(source vs destination\): (timestamp \d+ vs \d+; )?trx id "[0-9a-f-]+" vs "[0-9a-f-]+"; payload of 1 vs 1 bytes, first different at byte 0$/m,
    );
  });
});

Deno.test("cli read --follow prints the history, then ends on SIGINT or SIGTERM with exit 130, or on --limit with 0", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const follower = new LiveRun([
      "read",
      "%2F#?",
      "x y",
      "--db",
      db,
      "--follow",
      "--format",
      "jsonl",
      "--after-sequence",
      "10",
    ]);
    assert.equal(JSON.parse(await follower.line()).sequence, 11);
    assert.equal(JSON.parse(await follower.line()).sequence, 12);
    const end = await follower.stop("SIGINT");
    assert.equal(end.code, 130, end.stderr);
    assert.equal(end.stdout, "");
    assert.equal(end.stderr, "streamkit read: interrupted by SIGINT\n");

    const spaceFollower = new LiveRun(["read", "🦊 space", "--db", db, "--follow"]);
    const seen = [];
    for (let i = 0; i < 8; i++) seen.push(await spaceFollower.line());
    assert.equal(seen.length, 8);
    assert.equal((await spaceFollower.stop("SIGTERM")).code, 130);
    // --limit ends a follow too.
    const limited = await ok(["read", "orders", "--db", db, "--follow", "--limit", "3"]);
    assert.equal(linesOf(limited.stdout).length, 3);
  });
});

Deno.test("cli verify: a sound store exits 0; a damaged one prints its problems and exits 1", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const sound = await ok(["verify", "--db", db]);
    assert.equal(sound.stdout, "");
    assert.match(
      sound.stderr,
      new RegExp(
        `^verify: sound: ${LAYOUT_ENTRIES} entries, .*7 segments in 3 spaces of store ${STORE}`,
        "m",
      ),
    );

    // Damage: one entry's row of the space index is gone (written around the driver).
    const [entry] = linesOf(
      (await ok([
        "read",
        "orders",
        "order 1",
        "--db",
        db,
        "--after-sequence",
        "4",
        "--limit",
        "1",
        "--format",
        "jsonl",
      ])).stdout,
    )
      .map((line) => JSON.parse(line));
    const level = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, "db", STORE), {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    await level.del(spaceEntryKey(entry.space, entry.timestamp, entry.segment, entry.sequence));
    await level.close();

    const damaged = await streamkit(["verify", "--db", db]);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stdout, /^space orders segment "order 1" sequence 5: /m);
    assert.match(damaged.stderr, /^verify: \d+ problems? found: /m);
    const jsonl = await streamkit(["verify", "--db", db, "--format", "jsonl"]);
    assert.equal(jsonl.code, 1);
    const problems = linesOf(jsonl.stdout).map((line) => JSON.parse(line));
    assert.ok(
      problems.some((problem) =>
        problem.space === "orders" && problem.segment === "order 1" && problem.sequence === 5
      ),
    );
  });
});

Deno.test("cli memory: starts empty in each run; a store named with --store takes appends", async () => {
  assert.equal((await ok(["stores", "--db", "memory:"])).stdout, "");
  await expectUsage(["spaces", "--db", "memory:"], /--store: memory: holds no store/);
  const appended = await ok(["append", "s", "g", "--db", "memory:", "--store", STORE], {
    stdin: '{"payload":"aGk="}\n',
  });
  assert.match(appended.stderr, /1 entry appended, sequences 1 to 1/);
  assert.equal((await ok(["spaces", "--db", "memory:", "--store", STORE])).stdout, "");
});
