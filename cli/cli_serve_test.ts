// `streamkit serve` run as a subprocess on 127.0.0.1 (port 0), and the other commands run against
// it with `--db http://127.0.0.1:<port>`: the same output as on the LevelDB it serves, token
// scopes enforced (a read token cannot append), --no-auth refused off loopback, usage errors
// naming the flag, TLS, and a graceful stop on SIGTERM with a follower attached (the LevelDB
// lock released, the follower resuming on the next server). Every server is stopped, even when
// a test fails; the secret is never printed.

import assert from "node:assert/strict";
import { join } from "node:path";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { sleep } from "../core/_test_util.ts";
import { LAYOUT_ENTRIES, linesOf, LiveRun, type Run, seed, withLevelStore } from "./_test_cli.ts";
import { client, clientOk, hmacToken, ServeProcess, spawnClient } from "./_test_serve.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";
const LOOPBACK = ["--listen", "127.0.0.1:0"];
const TESTDATA = new URL("./testdata/", import.meta.url).pathname;

/** A temporary LevelDB database holding STORE, seeded with LAYOUT, for one test; its --db. */
async function withSeededDb(use: (level: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-serve-" });
  try {
    const path = join(dir, "db");
    await withLevelStore(path, STORE, seed);
    await use(`level:${path}`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `secret` is in no output of `runs`. */
function assertNotPrinted(secret: string, runs: { stdout: string; stderr: string }[]): void {
  for (const run of runs) {
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), "a secret was printed");
  }
}

async function expectUsage(args: string[], message: RegExp, env?: Record<string, string>) {
  const run = await client(args, { env });
  assert.equal(run.code, 2, `streamkit ${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
  assert.match(run.stderr, message);
  assert.equal(run.stdout, "");
  return run;
}

Deno.test("cli serve --no-auth: the commands print the same through --db http://127.0.0.1:<port> as on the LevelDB it serves", async () => {
  await withSeededDb(async (level) => {
    const commands = [
      ["stores"],
      ["spaces"],
      ["spaces", "--format", "jsonl"],
      ["segments", "orders"],
      ["segments", "🦊 space", "--format", "jsonl"],
      ["status", "orders", "order 1"],
      ["status", "%2F#?", "x y", "--format", "jsonl"],
      ["read", "orders"],
      ["read", "🦊 space", "\uFEFFbom", "--format", "jsonl", "--after-sequence", "2"],
      ["read", "%2F#?", "--limit", "3", "--format", "jsonl"],
      ["export"],
      ["verify"],
    ];
    const local: Run[] = [];
    for (const args of commands) local.push(await clientOk([...args, "--db", level]));
    assert.equal(linesOf(local[10].stdout).length, LAYOUT_ENTRIES);

    await using server = await ServeProcess.start(["--db", level, "--no-auth", ...LOOPBACK]);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.port, 0);
    const db = server.url;
    for (const [i, args] of commands.entries()) {
      const run = await clientOk([...args, "--db", db]);
      assert.equal(run.stdout, local[i].stdout, `streamkit ${args.join(" ")}`);
    }
    assert.match((await clientOk(["export", "--db", db])).stderr, /of store 0f8fad5b.* \(http:/);

    const appended = await clientOk(["append", "orders", "new one", "--db", db], {
      stdin: '{"payload":"aGVsbG8="}\n{"payload":"AAE=","metadata":{"k":"v"}}\n',
    });
    assert.match(appended.stderr, /2 entries appended, sequences 1 to 2/);
    const read = await clientOk(["read", "orders", "new one", "--format", "jsonl", "--db", db]);
    const entries = linesOf(read.stdout).map((line) => JSON.parse(line));
    assert.deepEqual(entries.map((entry) => [entry.sequence, entry.payload, entry.metadata]), [
      [1, "aGVsbG8=", {}],
      [2, "AAE=", { k: "v" }],
    ]);
    const status = await clientOk(["status", "orders", "new one", "--format", "jsonl", "--db", db]);
    assert.equal(JSON.parse(status.stdout).lastSequence, 2);

    // import and export of another store through the server: exactly the same entries.
    const exported = local[10].stdout;
    await clientOk(["import", "--db", db, "--store", OTHER_STORE], { stdin: exported });
    assert.equal((await clientOk(["export", "--db", db, "--store", OTHER_STORE])).stdout, exported);
    assert.equal((await clientOk(["stores", "--db", db])).stdout, `${STORE}\n${OTHER_STORE}\n`);
    const named = await client(["spaces", "--db", db]);
    assert.equal(named.code, 2);
    assert.match(named.stderr, /--store: http:\/\/127\.0\.0\.1:\d+ holds 2 stores/);

    const exit = await server.stop("SIGINT");
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout, "");
    // What was written through the server is in the LevelDB, which is free again.
    const after = await clientOk([
      "read",
      "orders",
      "new one",
      "--format",
      "jsonl",
      "--db",
      level,
      "--store",
      STORE,
    ]);
    assert.equal(after.stdout, read.stdout);
  });
});

Deno.test("cli serve --auth-secret-env: a read token reads but cannot append, no token is denied, the secret is never printed", async () => {
  const secret = `streamkit-test-secret-${crypto.randomUUID()}`;
  const env = { SK_TEST_SECRET: secret };
  const writeToken = await hmacToken(secret, "streamkit::*");
  const readToken = await hmacToken(secret, "streamkit:read::*");
  const runs: Run[] = [];
  const track = async (run: Promise<Run>) => {
    runs.push(await run);
    return runs.at(-1)!;
  };
  await withSeededDb(async (level) => {
    await using server = await ServeProcess.start(
      ["--db", level, "--auth-secret-env", "SK_TEST_SECRET", ...LOOPBACK],
      env,
    );
    const db = server.url;
    const readArgs = ["read", "orders", "seg", "--format", "jsonl", "--db", db];
    const read = await track(clientOk(readArgs, { token: readToken }));
    assert.equal(linesOf(read.stdout).length, 2);
    assert.equal(
      (await track(clientOk(["stores", "--db", db], { token: readToken }))).stdout,
      `${STORE}\n`,
    );

    const denied = await track(client(["append", "orders", "seg", "--db", db], {
      token: readToken,
      stdin: '{"payload":"aGk="}\n',
    }));
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      denied.stderr,
      /AccessDenied: token lacks scope "streamkit::0f8fad5b-[^"]*" \(or "streamkit::\*"\) to write/,
    );
    assert.match(denied.stderr, /nothing appended/);
    assert.equal((await track(clientOk(readArgs, { token: readToken }))).stdout, read.stdout);

    const anonymous = await track(client(["spaces", "--db", db]));
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /^streamkit spaces: AccessDenied: no bearer token$/m);
    const forged = await track(client(["spaces", "--db", db], {
      token: await hmacToken("another-secret-that-is-at-least-32-bytes", "streamkit::*"),
    }));
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /AccessDenied: token signature invalid/);
    // A token for another store sees none of this one.
    const other = await hmacToken(secret, `streamkit:read::${OTHER_STORE}`);
    assert.equal((await track(clientOk(["stores", "--db", db], { token: other }))).stdout, "");
    const notGranted = await track(client(readArgs.concat("--store", STORE), { token: other }));
    assert.equal(notGranted.code, 2);
    assert.match(
      notGranted.stderr,
      /--store: http:\S+ holds no store 0f8fad5b-\S+ that the token \(STREAMKIT_TOKEN\) may read/,
    );
    // Past the listing (a write may create a store), the server refuses what the scope lacks.
    const notWritable = await track(
      client(["append", "orders", "seg", "--db", db, "--store", STORE], {
        token: other,
        stdin: '{"payload":"aGk="}\n',
      }),
    );
    assert.equal(notWritable.code, 1);
    assert.match(notWritable.stderr, /AccessDenied: token lacks scope "streamkit:read::0f8fad5b-/);

    const written = await track(clientOk(["append", "orders", "seg", "--db", db], {
      token: writeToken,
      stdin: '{"payload":"aGk="}\n',
    }));
    assert.match(written.stderr, /1 entry appended, sequences 3 to 3/);
    const exit = await server.stop();
    assert.equal(exit.code, 0, exit.stderr);
    runs.push(exit);
    assertNotPrinted(secret, runs);
    for (const token of [readToken, writeToken]) assertNotPrinted(token, runs);

    // A secret too short: refused before listening, named by its variable, not printed.
    const short = "short-secret-31-bytes-long-----";
    const refused = await expectUsage(
      ["serve", "--db", level, "--auth-secret-env", "SK_SHORT", ...LOOPBACK],
      /--auth-secret-env SK_SHORT: secret: must be at least 32 bytes, got 31/,
      { SK_SHORT: short },
    );
    assertNotPrinted(short, [refused]);
  });
});

Deno.test("cli serve --auth-public-key and --auth-jwks: tokens signed by the key, with --issuer and --audience checked", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const sign = (claims: { iss?: string; aud?: string; scope: string }, kid?: string) =>
    new SignJWT({ scope: claims.scope })
      .setProtectedHeader({ alg: "ES256", ...(kid === undefined ? {} : { kid }) })
      .setIssuer(claims.iss ?? "https://idp.test")
      .setAudience(claims.aud ?? "streamkit")
      .setExpirationTime("10m")
      .sign(privateKey);
  const jwk = { ...(await crypto.subtle.exportKey("jwk", publicKey)), kid: "k1", alg: "ES256" };
  const jwks = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ keys: [jwk] }),
  );
  try {
    await withSeededDb(async (level, dir) => {
      const pem = join(dir, "public.pem");
      await Deno.writeTextFile(pem, await exportSPKI(publicKey));
      const claims = ["--issuer", "https://idp.test", "--audience", "streamkit"];
      const modes = [
        ["--auth-public-key", pem],
        ["--auth-jwks", `http://127.0.0.1:${jwks.addr.port}/jwks.json`],
      ];
      for (const mode of modes) {
        await using server = await ServeProcess.start([
          "--db",
          level,
          ...mode,
          ...claims,
          ...LOOPBACK,
        ]);
        const db = server.url;
        const good = await sign({ scope: "streamkit:read::*" }, "k1");
        assert.equal(
          (await clientOk(["spaces", "--db", db], { token: good })).stdout,
          "%2F#?\norders\n🦊 space\n",
        );
        const wrongAudience = await client(["spaces", "--db", db], {
          token: await sign({ scope: "streamkit::*", aud: "another" }, "k1"),
        });
        assert.equal(wrongAudience.code, 1);
        assert.match(wrongAudience.stderr, /AccessDenied: token audience mismatch/);
        const wrongIssuer = await client(["spaces", "--db", db], {
          token: await sign({ scope: "streamkit::*", iss: "https://evil.test" }, "k1"),
        });
        assert.match(wrongIssuer.stderr, /AccessDenied: token issuer mismatch/);
        const hmac = await client(["spaces", "--db", db], {
          token: await hmacToken("a-secret-that-is-at-least-32-bytes-long", "streamkit::*"),
        });
        assert.match(hmac.stderr, /AccessDenied: token algorithm not allowed/);
        assert.equal((await server.stop()).code, 0);
      }
    });
  } finally {
    await jwks.shutdown();
  }
});

Deno.test("cli serve usage errors: --no-auth off loopback refused, exactly one token check, the flag named, exit 2", async () => {
  await withSeededDb(async (level, dir) => {
    const db = ["--db", level];
    for (const listen of ["0.0.0.0:0", "192.0.2.1:0", "[::]:0", "example.com:7070"]) {
      const host = listen.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
      const run = await expectUsage(["serve", ...db, "--no-auth", "--listen", listen], /--no-auth/);
      assert.ok(
        run.stderr.includes(`refused on ${host}, which is not a loopback address`),
        run.stderr,
      );
    }
    await expectUsage(
      ["serve", ...db],
      /serve needs one of --auth-secret-env <VAR>, --auth-public-key/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--auth-secret-env", "X"],
      /serve takes only one of .*, got --auth-secret-env and --no-auth/,
    );
    await expectUsage(
      ["serve", ...db, "--auth-secret-env", "SK_UNSET_VARIABLE"],
      /--auth-secret-env SK_UNSET_VARIABLE: the environment variable SK_UNSET_VARIABLE is not set or empty/,
    );
    await expectUsage(
      ["serve", ...db, "--auth-public-key", join(dir, "nope.pem")],
      /--auth-public-key .*nope\.pem: cannot read it \(ENOENT\)/,
    );
    await Deno.writeTextFile(join(dir, "garbage.pem"), "not a key");
    await expectUsage(
      ["serve", ...db, "--auth-public-key", join(dir, "garbage.pem")],
      /--auth-public-key .*: publicKey: not an SPKI PEM public key/,
    );
    await expectUsage(
      ["serve", ...db, "--auth-jwks", "ftp://keys"],
      /--auth-jwks: jwksUrl: must be an http: or https: URL/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--issuer", "me"],
      /--issuer checks tokens: give it with --auth-secret-env/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--listen", "7070"],
      /--listen expects <host>:<port>, e\.g\. 127\.0\.0\.1:7070.*got "7070"/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--listen", "127.0.0.1:70000"],
      /--listen expects <host>:<port>/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--cert", join(TESTDATA, "tls_server.pem")],
      /--cert needs --key/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--key", join(TESTDATA, "tls_server.key")],
      /--key needs --cert/,
    );
    await expectUsage(
      ["serve", ...db, "--no-auth", "--cors", "https://app.test/path"],
      /--cors expects an origin .* got "https:\/\/app\.test\/path"/,
    );
    await expectUsage(["serve", ...db, "--no-auth", "--store", STORE], /serve takes no --store/);
    await expectUsage(
      ["serve", ...db, "--no-auth", "extra"],
      /serve takes no arguments, got "extra"/,
    );
    // A server's address holds no credentials, and they are not printed back.
    const run = await expectUsage(
      ["spaces", "--db", "http://user:hunter2-password@127.0.0.1:7070"],
      /--db http:\/\/\*\*\*@127\.0\.0\.1:7070: a server's address holds no credentials; set the token in STREAMKIT_TOKEN/,
    );
    assertNotPrinted("hunter2-password", [run]);
    await expectUsage(
      ["spaces", "--db", "http://127.0.0.1:7070/?token=x"],
      /takes no query or fragment/,
    );
    await expectUsage(
      ["copy", ...db, "--to", "http://127.0.0.1:7070/?token=x"],
      /--to http:\/\/127\.0\.0\.1:7070\/: a server's address takes no query/,
    );

    // Loopback spellings all serve without authentication.
    for (const listen of ["localhost:0", "127.0.0.2:0", "[::1]:0"]) {
      await using server = await ServeProcess.start([...db, "--no-auth", "--listen", listen]);
      assert.ok(server.port > 0);
      assert.equal((await server.stop()).code, 0);
    }

    const overview = await clientOk(["--help"]);
    assert.match(overview.stdout, /^ {2}serve +serve the database's stores over HTTP/m);
    assert.match(overview.stdout, /STREAMKIT_TOKEN/);
    const help = await clientOk(["help", "serve"]);
    assert.equal((await clientOk(["serve", "--help"])).stdout, help.stdout);
    for (
      const flag of [
        "--listen <host:port>",
        "--auth-secret-env <VAR>",
        "--auth-public-key <pem file>",
        "--auth-jwks <url>",
        "--no-auth",
        "--issuer <iss>",
        "--audience <aud>",
        "--cert <pem file>",
        "--key <pem file>",
        "--cors <origin>",
        "--db <db>",
      ]
    ) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    assert.ok(!help.stdout.includes("--store <uuid>"));
  });
});

Deno.test("cli serve stops on SIGTERM with a follower attached: exit 0 at once, the LevelDB free, the follower resumes on the next server", async () => {
  await withSeededDb(async (level) => {
    let port = 0;
    let follower: LiveRun | undefined;
    try {
      {
        await using server = await ServeProcess.start(["--db", level, "--no-auth", ...LOOPBACK]);
        port = server.port;
        follower = new LiveRun(["read", "orders", "seg", "--follow", "--db", server.url]);
        assert.match(await follower.line(), / seg #1 /);
        assert.match(await follower.line(), / seg #2 /);
        await clientOk(["append", "orders", "seg", "--db", server.url], {
          stdin: '{"payload":"aGk="}\n',
        });
        assert.match(await follower.line(), / seg #3 trx \d+ hi$/);

        const exit = await server.stop("SIGTERM");
        assert.equal(exit.code, 0, exit.stderr);
        assert.ok(exit.stopMs < 2_000, `the server took ${Math.round(exit.stopMs)} ms to stop`);
      }
      // The LevelDB lock is released: the store opens in another process.
      const local = await clientOk(["read", "orders", "seg", "--db", level]);
      assert.equal(linesOf(local.stdout).length, 3);

      // A server on the same address again: the follower goes on, without a gap or a duplicate.
      await using again = await ServeProcess.start([
        "--db",
        level,
        "--no-auth",
        "--listen",
        `127.0.0.1:${port}`,
      ]);
      await clientOk(["append", "orders", "seg", "--db", again.url], {
        stdin: '{"payload":"aG8="}\n',
      });
      assert.match(await follower.line(), / seg #4 trx \d+ ho$/);
      const end = await follower.stop("SIGINT");
      follower = undefined;
      assert.equal(end.code, 130, end.stderr);
      assert.equal(end.stdout, "");
      assert.equal((await again.stop("SIGTERM")).code, 0);
    } finally {
      await follower?.stop("SIGKILL");
    }
  });
});

Deno.test("cli serve on SIGTERM refuses new requests and lets a write in flight finish before it exits", async () => {
  await withSeededDb(async (level) => {
    await using server = await ServeProcess.start(["--db", level, "--no-auth", ...LOOPBACK]);
    const records = Array.from(
      { length: 2_000 },
      (_, i) => JSON.stringify({ payload: btoa(`record ${i}`) }),
    );
    const append = spawnClient(["append", "orders", "slow", "--db", server.url], {
      stdin: "piped",
    });
    try {
      const writer = append.stdin.getWriter();
      const encode = (lines: string[]) =>
        new TextEncoder().encode(lines.map((line) => `${line}\n`).join(""));
      await writer.write(encode(records.slice(0, 1_000)));
      await sleep(1_000);
      let exited = false;
      const stopped = server.stop("SIGTERM").finally(() => exited = true);
      await sleep(300);
      // Stopping: new requests are refused, the write in flight goes on.
      const refused = await client(["spaces", "--db", server.url]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Unavailable: the server is shutting down/);
      assert.ok(!exited, "the server exited with a write in flight");
      await writer.write(encode(records.slice(1_000)));
      await writer.close();
      const result = await append.output();
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, `${stderr}\nserver: ${server.stderr}`);
      assert.match(stderr, /2,000 entries appended, sequences 1 to 2000/);
      assert.equal((await stopped).code, 0);
    } finally {
      try {
        append.kill("SIGKILL");
      } catch {
        // exited
      }
    }
    const status = await clientOk(["status", "orders", "slow", "--format", "jsonl", "--db", level]);
    assert.equal(JSON.parse(status.stdout).lastSequence, 2_000);
    assert.match((await clientOk(["verify", "--db", level])).stderr, /^verify: sound: /m);
  });
});

Deno.test("cli serve --cert --key: https, reached with --db https://127.0.0.1:<port>", async () => {
  await withSeededDb(async (level) => {
    const tls = [
      "--cert",
      join(TESTDATA, "tls_server.pem"),
      "--key",
      join(TESTDATA, "tls_server.key"),
    ];
    await using server = await ServeProcess.start([
      "--db",
      level,
      "--no-auth",
      ...tls,
      ...LOOPBACK,
    ]);
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = { env: { DENO_CERT: join(TESTDATA, "tls_ca.pem") } };
    assert.equal((await clientOk(["stores", "--db", server.url], trusted)).stdout, `${STORE}\n`);
    // Without the test CA the certificate is not trusted.
    const untrusted = await client(["stores", "--db", server.url]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /Unavailable: the server did not answer/);
    assert.equal((await server.stop()).code, 0);
  });
});
