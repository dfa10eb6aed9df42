// What the `streamkit` command tells a newcomer, run as a subprocess the way a user runs it: an
// import of a file cut short says what it wrote and that the complete file goes on from there
// (and it does), export's summary counts the bytes of the file, and the messages for a negative
// --limit, bad JSON and unpadded base64 say what is wrong and nothing misleading.

import assert from "node:assert/strict";
import { join } from "node:path";
import { formatBytes, formatCount } from "./_progress.ts";
import {
  inTempDir,
  LAYOUT_ENTRIES,
  linesOf,
  ok,
  seed,
  seededDb,
  snapshot,
  streamkit,
  withLevelStore,
} from "./_test_cli.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";

/** The entries store STORE of the LevelDB database `path` holds. */
function entriesIn(path: string): Promise<number> {
  return withLevelStore(path, STORE, async (store) => {
    let count = 0;
    for await (const space of store.getSpaces()) {
      for await (const _ of store.consumeSpace({ space })) count++;
    }
    return count;
  });
}

/** `text` as a regular expression matching it literally. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("cli import of a file cut short: exit 2 at the bad line, saying how many entries were written and committed; the complete file then goes on, writing none twice", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const full = join(dir, "backup.ndjson");
    await ok(["export", "--db", db, "--out", full]);
    const lines = linesOf(await Deno.readTextFile(full));
    assert.equal(lines.length, LAYOUT_ENTRIES);
    // Cut in the middle of a line half-way through, as a copy that ran out of space leaves it.
    const cutAt = Math.floor(lines.length / 2);
    const cut = join(dir, "cut.ndjson");
    await Deno.writeTextFile(
      cut,
      lines.slice(0, cutAt).map((line) => `${line}\n`).join("") +
        lines[cutAt].slice(0, lines[cutAt].length / 2),
    );

    const destination = join(dir, "restored");
    const to = `level:${destination}`;
    const stopped = await streamkit(["import", "--db", to, "--store", STORE, "--in", cut]);
    assert.equal(stopped.code, 2, stopped.stderr);
    assert.equal(stopped.stdout, "");
    const written = await entriesIn(destination);
    // Whole transactions before the bad line are written; the one it cut is not.
    assert.ok(written > 0 && written < cutAt, `${written} written of ${cutAt} whole lines`);
    const [summary, error, ...rest] = linesOf(stopped.stderr);
    assert.deepEqual(rest, [], stopped.stderr);
    assert.match(
      summary,
      new RegExp(
        `^import stopped: ${formatCount(written)} entries, [\\d.]+ (?:B|KiB) of payloads, .*: ` +
          `\\d+ segments in \\d+ spaces? from --in ${literally(cut)} into store ${STORE} ` +
          `\\(${literally(to)}\\); 0 of the entries were there already and equal, ` +
          `${formatCount(written)} written and committed$`,
      ),
    );
    assert.match(
      error,
      new RegExp(
        `^streamkit import: --in ${literally(cut)} line ${cutAt + 1}: not JSON .*; the ` +
          `${written} entries written before it are committed: run the import again with the ` +
          "complete input and it goes on where it stopped \\(what is there already is " +
          "checked, not written twice\\)$",
      ),
    );

    // The complete file: what the cut one wrote is checked, the rest written, none twice.
    const resumed = await ok(["import", "--db", to, "--in", full]);
    assert.match(
      resumed.stderr,
      new RegExp(
        `^import: ${formatCount(LAYOUT_ENTRIES)} entries, .*; ${written} of the entries were ` +
          "there already and equal$",
        "m",
      ),
    );
    const source = await withLevelStore(join(dir, "db"), STORE, snapshot);
    assert.deepEqual(await withLevelStore(destination, STORE, snapshot), source);
    assert.equal(await entriesIn(destination), LAYOUT_ENTRIES);
  });
});

Deno.test("cli export: the summary counts the bytes written, the file's size (checkpoint lines too), to a file or to stdout", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "db");
    await withLevelStore(path, STORE, async (store) => {
      await seed(store);
      await store.putCheckpoint("payment-log", new TextEncoder().encode('{"at":"0a1b"}'));
    });
    const db = `level:${path}`;
    const out = join(dir, "backup.ndjson");
    const toFile = await ok(["export", "--db", db, "--checkpoints", "--out", out]);
    const size = (await Deno.stat(out)).size;
    const bytes = literally(formatBytes(size));
    assert.match(
      toFile.stderr,
      new RegExp(
        `^export: ${LAYOUT_ENTRIES} entries, ${bytes} written, [\\d,]+ entries/s, .*: ` +
          `7 segments in 3 spaces and 1 checkpoint of store ${STORE} \\(${literally(db)}\\) ` +
          `to ${literally(out)}\n$`,
      ),
    );
    // Payload bytes alone would be a fraction of it: the figure is the file's, not theirs.
    const toStdout = await ok(["export", "--db", db, "--checkpoints"]);
    assert.equal(new TextEncoder().encode(toStdout.stdout).byteLength, size);
    assert.match(
      toStdout.stderr,
      new RegExp(`^export: ${LAYOUT_ENTRIES} entries, ${bytes} written, `),
    );
  });
});

Deno.test("cli a negative count or a missing value: the command, the flag and what it expects named, and no refused form suggested", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const limit =
      'streamkit read: --limit expects a number of entries (a whole number >= 1), got "-1"\n';
    for (const args of [["--limit", "-1"], ["--limit=-1"]]) {
      const run = await streamkit(["read", "orders", "--db", db, ...args]);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr, limit);
    }
    const sequence = await streamkit([
      "read",
      "orders",
      "order 1",
      "--db",
      db,
      "--after-sequence",
      "-3",
    ]);
    assert.equal(sequence.code, 2);
    assert.equal(
      sequence.stderr,
      'streamkit read: --after-sequence expects a sequence number (a whole number >= 0), got "-3"\n',
    );
    // A value left out, the next option taken for it: said so, and no `--limit=--follow`.
    const missing = await streamkit(["read", "orders", "--db", db, "--limit", "--follow"]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^streamkit read: --limit expects a number of entries \(a whole number >= 1\), got --follow: is the value missing\?\n$/,
    );
    assert.doesNotMatch(missing.stderr, /--limit=/);
    // Found while the line is parsed, before the command runs: named after it all the same.
    const unknown = await streamkit(["read", "orders", "--db", db, "--bogus"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^streamkit read: unknown option --bogus /);
  });
});

Deno.test("cli append of a line that is not JSON: the stdin line and a column in it, not the parser's own line", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const trailing = await streamkit(["append", "orders", "o", "--db", db], {
      stdin: '{"payload":"YQ=="}\n{"payload":"YQ==",}\n',
    });
    assert.equal(trailing.code, 2);
    const error = linesOf(trailing.stderr).at(-1)!;
    assert.match(error, /^streamkit append: stdin line 2: not JSON at column 19 \([^()]+\)$/);
    assert.doesNotMatch(error, /line 1|position/);
    // A parser message that quotes the text instead: the quote goes, the reason stays.
    const token = await streamkit(["append", "orders", "o", "--db", db], {
      stdin: '{"payload":"YQ=="}\n{"payload":YQ}\n',
    });
    assert.equal(token.code, 2);
    assert.match(
      linesOf(token.stderr).at(-1)!,
      /^streamkit append: stdin line 2: not JSON \(Unexpected token 'Y'\)$/,
    );
  });
});

Deno.test("cli base64 that is not standard: the message says what is wrong, e.g. the missing padding", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const cases: [string, string][] = [
      [
        "YQ",
        'it is not padded: standard base64 has a length that is a multiple of 4 ("YQ==")',
      ],
      [
        "YQ=",
        'its padding is wrong: standard base64 has a length that is a multiple of 4 ("YQ==")',
      ],
      ["a-b_", 'it has "-" at character 2: URL-safe base64, where standard base64 has "+" and "/"'],
      [
        "YR==",
        'its last character before the padding has bits set past the data (standard: "YQ==")',
      ],
    ];
    for (const [payload, problem] of cases) {
      const run = await streamkit(["append", "orders", "o", "--db", db], {
        stdin: `${JSON.stringify({ payload })}\n`,
      });
      assert.equal(run.code, 2);
      assert.equal(
        linesOf(run.stderr).at(-1),
        `streamkit append: stdin line 1: payload: must be standard base64 text, but ${problem}`,
      );
    }
    // import reads payloads the same way.
    const exported = linesOf((await ok(["export", "--db", db, "--space", "orders"])).stdout)[0];
    const unpadded = exported.replace(/"payload":"([^"]*?)=*"/, '"payload":"$1"');
    assert.notEqual(unpadded, exported, "the first entry's payload is padded");
    const run = await streamkit(
      ["import", "--db", `level:${join(dir, "other")}`, "--store", STORE],
      {
        stdin: `${unpadded}\n`,
      },
    );
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /stdin line 1: payload: must be standard base64 text, but it is not padded: /,
    );
  });
});
