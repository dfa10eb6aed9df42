// The `streamkit` command on Azure Table Storage (Azurite), run as a subprocess: every command
// against a connection string or account variables, copies level → azure → level exactly and
// resumably, a follower that prints what another process appends, and no secret in any output.

import assert from "node:assert/strict";
import { join } from "node:path";
import { AzureStoreFactory } from "@streamkit/azure";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import {
  LAYOUT,
  LAYOUT_ENTRIES,
  linesOf,
  LiveRun,
  type Run,
  type RunOptions,
  seed,
  snapshot,
  streamkit,
  withFactoryStore,
  withLevelStore,
} from "./_test_cli.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";

Deno.test("cli on Azurite: every command, exact copies both ways, follow across processes, no secret printed", async (t) => {
  const azurite = await startAzurite();
  const dir = await Deno.makeTempDir({ prefix: "streamkit-cli-azure-" });
  const runs: Run[] = [];
  const env = { STREAMKIT_AZURE_CONNECTION_STRING: azurite.connectionString };
  const azure = (
    prefix: string,
  ) => ["--db", "azure", "--allow-insecure-http", "--table-prefix", prefix];
  const run = async (args: string[], options: RunOptions = {}) => {
    const result = await streamkit(args, { env, ...options });
    runs.push(result);
    return result;
  };
  const ok = async (args: string[], options: RunOptions = {}) => {
    const result = await run(args, options);
    assert.equal(result.code, 0, `streamkit ${args.join(" ")} failed:\n${result.stderr}`);
    return result;
  };
  const azureSnapshot = (prefix: string, storeId = STORE) =>
    withFactoryStore(
      new AzureStoreFactory({
        connectionString: azurite.connectionString,
        allowInsecureHttp: true,
        tablePrefix: prefix,
      }),
      storeId,
      snapshot,
    );
  try {
    const level = join(dir, "level");
    await withLevelStore(level, STORE, seed);
    const source = await withLevelStore(level, STORE, snapshot);

    /** Copies the level store into the azure tables `clia`. */
    const copyToAzure = [
      ...["copy", "--db", `level:${level}`],
      ...["--to", "azure", "--allow-insecure-http", "--table-prefix", "clia"],
    ];

    await t.step("copy level → azure, exactly; again writes nothing", async () => {
      const first = await ok(copyToAzure);
      assert.match(
        first.stderr,
        new RegExp(
          `^copy: ${LAYOUT_ENTRIES} entries, .* to store ${STORE} \\(azure\\); 0 of the entries were there already`,
          "m",
        ),
      );
      assert.deepEqual(await azureSnapshot("clia"), source);
      const again = await ok(copyToAzure);
      assert.match(
        again.stderr,
        new RegExp(`; ${LAYOUT_ENTRIES} of the entries were there already and equal`),
      );
      assert.deepEqual(await azureSnapshot("clia"), source);
    });

    await t.step("stores, spaces, segments, status, read, export and verify on azure", async () => {
      assert.deepEqual(linesOf((await ok(["stores", ...azure("clia")])).stdout), [STORE]);
      assert.equal((await ok(["stores", ...azure("nothinghere")])).stdout, "");
      assert.equal(
        linesOf((await ok(["spaces", ...azure("clia")])).stdout).length,
        Object.keys(LAYOUT).length,
      );
      assert.deepEqual(linesOf((await ok(["segments", "%2F#?", ...azure("clia")])).stdout), [
        "x y",
      ]);
      const status = JSON.parse(
        (await ok(["status", "%2F#?", "x y", "--format", "jsonl", ...azure("clia")])).stdout,
      );
      assert.equal(status.lastSequence, 12);
      const read = linesOf(
        (await ok([
          "read",
          "orders",
          "order 1",
          "--after-sequence",
          "20",
          "--format",
          "jsonl",
          ...azure("clia"),
        ])).stdout,
      );
      assert.deepEqual(read.map((line) => JSON.parse(line).sequence), [21, 22, 23, 24, 25]);
      const exported = await ok(["export", ...azure("clia")]);
      assert.equal(exported.stdout, (await ok(["export", "--db", `level:${level}`])).stdout);
      const verified = await ok(["verify", ...azure("clia")]);
      assert.match(verified.stderr, /^verify: sound: /m);
      // The account's name, key and endpoint instead of a connection string.
      const variables = {
        STREAMKIT_AZURE_ACCOUNT_NAME: azurite.accountName,
        STREAMKIT_AZURE_ACCOUNT_KEY: azurite.accountKey,
        STREAMKIT_AZURE_ENDPOINT: azurite.endpoint,
      };
      const byAccount = await run(["spaces", ...azure("clia")], { env: variables });
      assert.equal(byAccount.code, 0, byAccount.stderr);
      assert.equal(byAccount.stdout, (await ok(["spaces", ...azure("clia")])).stdout);
    });

    await t.step(
      "copy azure → level reproduces the store; import of the export into azure too",
      async () => {
        const back = join(dir, "back");
        await ok(["copy", ...azure("clia"), "--to", `level:${back}`, "--to-store", OTHER_STORE]);
        assert.deepEqual(await withLevelStore(back, OTHER_STORE, snapshot), source);
        const file = join(dir, "export.ndjson");
        await ok(["export", "--db", `level:${level}`, "--out", file]);
        await ok(["import", "--in", file, "--store", OTHER_STORE, ...azure("clib")]);
        const twice = await ok(["import", "--in", file, ...azure("clib")]);
        assert.match(
          twice.stderr,
          new RegExp(`; ${LAYOUT_ENTRIES} of the entries were there already and equal`),
        );
        assert.deepEqual(await azureSnapshot("clib", OTHER_STORE), source);
      },
    );

    await t.step("copy into an azure store that differs exits 1, naming the entry", async () => {
      await ok(["append", "orders", "seg", ...azure("clia")], { stdin: '{"payload":"eA=="}\n' });
      await ok(["append", "orders", "seg", "--db", `level:${level}`], {
        stdin: '{"payload":"eQ=="}\n',
      });
      const differs = await run(copyToAzure);
      assert.equal(differs.code, 1);
      assert.match(
        differs.stderr,
        /^streamkit copy: space "orders" segment "seg" sequence 3: the destination's entry differs from the source's \(source vs destination\): (timestamp \d+ vs \d+; )?trx id /m,
      );
    });

    await t.step(
      "read --follow prints what another process appends, and ends on SIGINT",
      async () => {
        const follower = new LiveRun([
          "read",
          "🦊 space",
          "🎉",
          "--follow",
          "--format",
          "jsonl",
          ...azure("clia"),
        ], { env });
        assert.equal(JSON.parse(await follower.line()).sequence, 1);
        await ok(["append", "🦊 space", "🎉", ...azure("clia")], {
          stdin: '{"payload":"bGl2ZQ=="}\n',
        });
        const live = JSON.parse(await follower.line());
        assert.deepEqual([live.sequence, live.payload], [2, "bGl2ZQ=="]);
        const spaceFollower = new LiveRun(["read", "%2F#?", "--follow", ...azure("clia")], { env });
        for (let i = 0; i < 12; i++) await spaceFollower.line();
        await ok(["append", "%2F#?", "x y", ...azure("clia")], { stdin: '{"payload":"bmV3"}\n' });
        assert.match(await spaceFollower.line(), / "x y" #13 trx \d+ new$/);
        for (const stopped of [await follower.stop("SIGINT"), await spaceFollower.stop("SIGINT")]) {
          runs.push(stopped);
          assert.equal(stopped.code, 130, stopped.stderr);
          assert.equal(stopped.stderr, "streamkit read: interrupted by SIGINT\n");
        }
      },
    );

    await t.step(
      "Azure's mistakes: http: without --allow-insecure-http, no settings, a wrong key",
      async () => {
        const insecure = await run(["spaces", "--db", "azure", "--table-prefix", "clia"]);
        assert.equal(insecure.code, 2);
        assert.match(
          insecure.stderr,
          /--db azure: the endpoint is http:, which is refused; add --allow-insecure-http/,
        );
        const unset = await streamkit(["spaces", "--db", "azure"]);
        assert.equal(unset.code, 2);
        assert.match(
          unset.stderr,
          /--db azure: set STREAMKIT_AZURE_CONNECTION_STRING, or STREAMKIT_AZURE_ACCOUNT_NAME/,
        );
        const inline = await run(["spaces", "--db", `azure:${azurite.connectionString}`]);
        assert.equal(inline.code, 2);
        assert.match(inline.stderr, /never from the command line/);
        const wrongKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(64))));
        const wrong = await streamkit(["spaces", "--store", STORE, ...azure("clia")], {
          env: {
            STREAMKIT_AZURE_CONNECTION_STRING: azurite.connectionString.replace(
              azurite.accountKey,
              wrongKey,
            ),
          },
        });
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /AccessDenied: .*connection string/);
        assert.ok(!`${wrong.stdout}${wrong.stderr}`.includes(wrongKey), "the wrong key is printed");
      },
    );

    // Not a byte of a secret in anything any run printed, failures included.
    assert.ok(runs.length > 20);
    for (const { stdout, stderr } of runs) {
      for (const secret of [azurite.accountKey, azurite.connectionString]) {
        assert.ok(
          !stdout.includes(secret) && !stderr.includes(secret),
          `a secret was printed:\n${stderr}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await azurite.stop();
  }
});
