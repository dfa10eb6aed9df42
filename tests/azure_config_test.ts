// Configuration of the Azure driver: the ways in, `http:` refused unless `allowInsecureHttp`,
// options checked as InvalidArgument naming them, secrets never in errors, auth failures naming
// the credential kind. The TokenCredential runs against an https Azurite (`--oauth basic`; the SDK
// sends no bearer token over http:), whose certificate only NODE_EXTRA_CA_CERTS at process start
// makes trusted: so in a child process, this file run with `deno run ... token-child <endpoint>`.

import assert from "node:assert/strict";
import { AzureNamedKeyCredential, TableServiceClient } from "@azure/data-tables";
import type { TokenCredential } from "@azure/core-auth";
import { type Store, StreamkitError } from "../core/mod.ts";
import {
  AzureStoreFactory,
  type AzureStoreFactoryOptions,
  azureTableName,
} from "../drivers/azure/mod.ts";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { collect } from "../core/_test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const KIB = 1024;

// ---------------------------------------------------------------------------------------------
// Helpers

/** Writes two chunks and reads them back through every read API. */
async function roundTrip(store: Store, tag: string): Promise<void> {
  const space = `config ${tag}`;
  const records = (first: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      sequence: first + i,
      payload: encoder.encode(`${tag} ${first + i}`),
    }));
  for await (const _ of store.produce({ space, segment: "g" }, records(1, 2)));
  for await (const _ of store.produce({ space, segment: "g" }, records(3, 1)));
  const entries = await collect(store.consumeSegment({ space, segment: "g" }));
  assert.deepEqual(entries.map((e) => decoder.decode(e.payload)), [
    `${tag} 1`,
    `${tag} 2`,
    `${tag} 3`,
  ]);
  assert.equal((await collect(store.consumeSpace({ space }))).length, 3);
  assert.equal((await store.peek(space, "g"))?.sequence, 3);
  assert.equal((await store.getSegmentStatus(space, "g"))?.lastSequence, 3);
  assert.ok((await collect(store.getSpaces())).includes(space));
  assert.deepEqual(await collect(store.getSegments(space)), ["g"]);
}

/** Everything an error lets out: message, String, JSON, stack, inspect, the whole cause chain. */
function everythingIn(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth++) {
    parts.push(String(e), JSON.stringify(e) ?? "", Deno.inspect(e, { depth: 10 }));
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? "");
      for (const key of Object.getOwnPropertyNames(e)) {
        parts.push(key, String((e as unknown as Record<string, unknown>)[key]));
      }
      e = e.cause;
    } else {
      e = undefined;
    }
  }
  return parts.join("\n");
}

/** Asserts that no secret, nor a long piece of one, shows anywhere in `error`. */
function assertNoSecrets(error: unknown, secrets: string[]): void {
  const text = everythingIn(error);
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), "a secret leaked into the error");
    // Any 12 characters of it (say, a cut or re-encoded quote) must not show either.
    for (let at = 0; at + 12 <= secret.length; at += 6) {
      assert.ok(!text.includes(secret.slice(at, at + 12)), "part of a secret leaked");
    }
  }
}

function assertStreamkitError(error: unknown, kind: string, ...mentions: (string | RegExp)[]) {
  assert.ok(error instanceof StreamkitError, `not a StreamkitError: ${error}`);
  assert.equal(error.kind, kind, error.message);
  for (const mention of mentions) {
    if (typeof mention === "string") {
      assert.ok(error.message.includes(mention), `${JSON.stringify(mention)} in ${error.message}`);
    } else {
      assert.match(error.message, mention);
    }
  }
  return error;
}

/** The error a construction throws. */
function constructionError(options: unknown): unknown {
  try {
    new AzureStoreFactory(options as AzureStoreFactoryOptions);
  } catch (error) {
    return error;
  }
  assert.fail(`constructed with ${JSON.stringify(options)}`);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

// ---------------------------------------------------------------------------------------------
// Option checks: no I/O at all

const FAKE_KEY = "c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3MtMTIzNDU2Nzg5MA==";
const token: TokenCredential = {
  getToken: () => Promise.resolve({ token: "x", expiresOnTimestamp: Date.now() + 3600e3 }),
};

Deno.test("azure config: http: endpoints are refused unless allowInsecureHttp", () => {
  const withKey = { accountName: "acct", accountKey: FAKE_KEY };
  for (const endpoint of ["http://127.0.0.1:10002/devstoreaccount1", "HTTP://acct.example"]) {
    const error = constructionError({ ...withKey, endpoint });
    assertStreamkitError(error, "InvalidArgument", /^endpoint: /, "allowInsecureHttp");
    assert.equal((error as StreamkitError).code, "InsecureEndpoint");
    assertNoSecrets(error, [FAKE_KEY]);
    new AzureStoreFactory({ ...withKey, endpoint, allowInsecureHttp: true });
  }
  // A connection string's own endpoint, whichever way it says http.
  const strings = [
    `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${FAKE_KEY};` +
    "TableEndpoint=http://127.0.0.1:10002/acct;",
    `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${FAKE_KEY};` +
    "EndpointSuffix=core.windows.net",
    "UseDevelopmentStorage=true",
  ];
  for (const connectionString of strings) {
    const error = constructionError({ connectionString });
    assertStreamkitError(error, "InvalidArgument", /^connectionString/, "allowInsecureHttp");
    assert.equal((error as StreamkitError).code, "InsecureEndpoint");
    assertNoSecrets(error, [FAKE_KEY]);
    new AzureStoreFactory({ connectionString, allowInsecureHttp: true });
  }
  // https: needs nothing; other schemes never work.
  new AzureStoreFactory({ ...withKey, endpoint: "https://acct.table.core.windows.net" });
  new AzureStoreFactory(withKey);
  for (const endpoint of ["ftp://acct.example", "not a url", "//acct.example"]) {
    const error = assertStreamkitError(
      constructionError({ ...withKey, endpoint, allowInsecureHttp: true }),
      "InvalidArgument",
      /^endpoint: /,
    );
    assert.equal(error.code, undefined, "only a refused http: endpoint is InsecureEndpoint");
  }
});

Deno.test("azure config: a token credential over http: is refused up front", () => {
  let calls = 0;
  const credential: TokenCredential = {
    getToken: () => {
      calls++;
      return Promise.resolve({ token: "x", expiresOnTimestamp: Date.now() + 3600e3 });
    },
  };
  // The SDK never sends a bearer token over http: (it would fail every call, after retries).
  const error = constructionError({
    endpoint: "http://127.0.0.1:10002/devstoreaccount1",
    credential,
    allowInsecureHttp: true,
  });
  assertStreamkitError(error, "InvalidArgument", /^endpoint: /, "token credential", "https:");
  // allowInsecureHttp would not help: no InsecureEndpoint.
  assert.equal((error as StreamkitError).code, undefined);
  assert.equal(calls, 0);
  new AzureStoreFactory({ endpoint: "https://127.0.0.1:10002/devstoreaccount1", credential });
  new AzureStoreFactory({ accountName: "acct", credential });
});

Deno.test("azure config: no way in, or several, is InvalidArgument", () => {
  const cs = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${FAKE_KEY};` +
    "EndpointSuffix=core.windows.net";
  const refused: [unknown, RegExp][] = [
    [undefined, /exactly one of connectionString, accountName \+ accountKey, or credential/],
    [{}, /exactly one of/],
    [{ accountName: "acct" }, /exactly one of/],
    [{ endpoint: "https://acct.example" }, /exactly one of/],
    [{ connectionString: cs, accountName: "acct", accountKey: FAKE_KEY }, /exactly one of/],
    [{ connectionString: cs, credential: token }, /exactly one of/],
    [{ accountName: "acct", accountKey: FAKE_KEY, credential: token }, /exactly one of/],
    [{ accountKey: FAKE_KEY }, /^accountName: required with accountKey/],
    [{ accountKey: FAKE_KEY, endpoint: "https://acct.example" }, /^accountName: required/],
    [{ connectionString: cs, endpoint: "https://other.example" }, /^endpoint: not used/],
    [{ connectionString: cs, accountName: "other" }, /^accountName: not used/],
    [{ accountName: "Not_Valid", accountKey: FAKE_KEY }, /^accountName: /],
    [{ accountName: "ab", accountKey: FAKE_KEY }, /^accountName: /],
    [{ accountName: "acct", accountKey: "" }, /^accountKey: /],
    [{ accountName: "acct", accountKey: 42 }, /^accountKey: /],
    [{ connectionString: "" }, /^connectionString: /],
    [{ connectionString: 42 }, /^connectionString: /],
    [{ credential: token }, /^endpoint: give endpoint or accountName/],
    [{ accountName: "acct", credential: {} }, /^credential: /],
    [{ accountName: "acct", credential: { getToken: "no" } }, /^credential: /],
  ];
  for (const [options, message] of refused) {
    const error = constructionError(options);
    assertStreamkitError(error, "InvalidArgument", message);
    assertNoSecrets(error, [FAKE_KEY]);
  }
  // A connection string that is none is refused when the factory is made, quoting nothing.
  const garbage = `AccountKey=${FAKE_KEY};this is not a connection string`;
  const error = constructionError({ connectionString: garbage });
  assertStreamkitError(error, "InvalidArgument", /^connectionString: not a valid/);
  assertNoSecrets(error, [FAKE_KEY]);
  assert.ok(!everythingIn(error).includes(garbage));
});

Deno.test("azure config: bad limits and tuning knobs are InvalidArgument naming them", () => {
  const base = { accountName: "acct", accountKey: FAKE_KEY };
  const refused: [Partial<AzureStoreFactoryOptions>, string][] = [
    [{ limits: { maxPayloadBytes: 0 } }, "limits.maxPayloadBytes"],
    [{ limits: { maxPayloadBytes: -1 } }, "limits.maxPayloadBytes"],
    [{ limits: { maxPayloadBytes: 1.5 } }, "limits.maxPayloadBytes"],
    [{ limits: { maxPayloadBytes: NaN } }, "limits.maxPayloadBytes"],
    [{ limits: { maxPayloadBytes: "1" as unknown as number } }, "limits.maxPayloadBytes"],
    [{ limits: { maxPayloadBytes: 704 * KIB + 1 } }, "limits.maxPayloadBytes"],
    [{ limits: { maxPayloadBytes: 16 * 1024 * KIB } }, "limits.maxPayloadBytes"],
    [{ limits: { maxChunkRecords: 0 } }, "limits.maxChunkRecords"],
    [{ limits: { maxChunkRecords: 91 } }, "limits.maxChunkRecords"],
    [{ limits: { maxChunkRecords: 100 } }, "limits.maxChunkRecords"],
    [{ limits: { maxChunkBytes: 0 } }, "limits.maxChunkBytes"],
    [{ limits: { maxChunkBytes: 2.5 * 1024 * KIB + 1 } }, "limits.maxChunkBytes"],
    [{ limits: { maxChunkBytes: 4 * 1024 * KIB } }, "limits.maxChunkBytes"],
    [{ retry: { maxRetries: -1 } }, "retry.maxRetries"],
    [{ retry: { baseDelayMs: 0.5 } }, "retry.baseDelayMs"],
    [{ retry: { maxDelayMs: Infinity } }, "retry.maxDelayMs"],
    [{ sweepIntervalMs: -1 }, "sweepIntervalMs"],
    [{ abandonedMarkerMs: 1.5 }, "abandonedMarkerMs"],
    [{ nodeId: "not-a-uuid" }, "nodeId"],
    [{ tablePrefix: 7 as unknown as string }, "tablePrefix"],
  ];
  for (const [extra, option] of refused) {
    const error = constructionError({ ...base, ...extra });
    assertStreamkitError(error, "InvalidArgument", new RegExp(`^${option.replace(".", "\\.")}: `));
    assertNoSecrets(error, [FAKE_KEY]);
  }
  // The caps themselves are fine, as are lower values and zero where zero means "never".
  new AzureStoreFactory({
    ...base,
    limits: { maxPayloadBytes: 704 * KIB, maxChunkRecords: 90, maxChunkBytes: 2.5 * 1024 * KIB },
  });
  new AzureStoreFactory({
    ...base,
    limits: { maxPayloadBytes: 1, maxChunkRecords: 1, maxChunkBytes: 1 },
    retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
    sweepIntervalMs: 0,
    abandonedMarkerMs: 0,
  });
});

// ---------------------------------------------------------------------------------------------
// Against Azurite (http)

Deno.test("azure config: against Azurite", async (t) => {
  const azurite = await startAzurite();
  try {
    const storeId = crypto.randomUUID();
    const prefix = `cfg${crypto.randomUUID().slice(0, 6)}`;
    const wrongKey = azurite.accountKey.replace(/^.{8}/, "AAAAAAAA");
    assert.notEqual(wrongKey, azurite.accountKey);

    await t.step("account name + key works end to end", async () => {
      await using factory = new AzureStoreFactory({
        endpoint: azurite.endpoint,
        accountName: azurite.accountName,
        accountKey: azurite.accountKey,
        allowInsecureHttp: true,
        tablePrefix: prefix,
        sweepIntervalMs: 0,
      });
      const store = await factory.newStore(storeId);
      assert.deepEqual(store.limits, { maxPayloadBytes: 512 * KIB, maxChunkRecords: 90 });
      await roundTrip(store, "key");
    });

    await t.step("a connection string works, on the same tables", async () => {
      await using factory = new AzureStoreFactory({
        connectionString: azurite.connectionString,
        allowInsecureHttp: true,
        tablePrefix: prefix,
        sweepIntervalMs: 0,
      });
      const store = await factory.newStore(storeId);
      await roundTrip(store, "string");
      // What the account-key factory wrote is there: one table, two ways in.
      assert.deepEqual(await collect(store.getSpaces()), ["config key", "config string"]);
    });

    await t.step("a wrong account key: AccessDenied naming the key, leaking nothing", async () => {
      await using factory = new AzureStoreFactory({
        endpoint: azurite.endpoint,
        accountName: azurite.accountName,
        accountKey: wrongKey,
        allowInsecureHttp: true,
        tablePrefix: prefix,
      });
      const started = performance.now();
      const error = await rejection(factory.newStore(crypto.randomUUID()));
      const elapsed = performance.now() - started;
      const e = assertStreamkitError(
        error,
        "AccessDenied",
        "account key",
        "403 AuthorizationFailure",
        "check accountName and accountKey",
        "open table",
      );
      assert.equal(e.transient, false);
      assert.ok(elapsed < 2_000, `a permanent failure is not retried (${elapsed} ms)`);
      assertNoSecrets(error, [azurite.accountKey, wrongKey]);
      // The cause says status and code, no more.
      const cause = e.cause as { name: string; statusCode: number; code: string };
      assert.equal(cause.name, "AzureRequestError");
      assert.equal(cause.statusCode, 403);
      assert.equal(cause.code, "AuthorizationFailure");
      assert.equal((cause as { cause?: unknown }).cause, undefined);
    });

    await t.step("a wrong key in a connection string names the connection string", async () => {
      const connectionString = azurite.connectionString.replace(azurite.accountKey, wrongKey);
      await using factory = new AzureStoreFactory({
        connectionString,
        allowInsecureHttp: true,
        tablePrefix: prefix,
      });
      const error = await rejection(factory.newStore(storeId));
      const e = assertStreamkitError(
        error,
        "AccessDenied",
        "connection string",
        "403 AuthorizationFailure",
        "check the connection string's AccountName and AccountKey",
      );
      assert.equal(e.transient, false);
      assertNoSecrets(error, [azurite.accountKey, wrongKey, connectionString]);
    });

    await t.step("a wrong account name is refused too, naming the key", async () => {
      await using factory = new AzureStoreFactory({
        endpoint: azurite.endpoint,
        accountName: "otheraccount",
        accountKey: azurite.accountKey,
        allowInsecureHttp: true,
      });
      const error = await rejection(factory.newStore(storeId));
      assertStreamkitError(error, "AccessDenied", "account key", "check accountName");
      assertNoSecrets(error, [azurite.accountKey]);
    });

    await t.step("nobody listening: Unavailable (transient), leaking nothing", async () => {
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (closed.addr as Deno.NetAddr).port;
      closed.close();
      const connectionString = azurite.connectionString.replace(`:${azurite.port}/`, `:${port}/`);
      await using factory = new AzureStoreFactory({
        connectionString,
        allowInsecureHttp: true,
        retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 },
      });
      const error = await rejection(factory.newStore(storeId));
      const e = assertStreamkitError(error, "Unavailable", "did not answer");
      assert.equal(e.transient, true);
      assertNoSecrets(error, [azurite.accountKey, connectionString]);
    });

    await t.step("every table name the driver makes is accepted by Azurite", async () => {
      const prefixes = [
        undefined,
        "",
        "1abc",
        "orders-eu_west",
        "ünïcødé-präfix",
        "Mixed-Case",
        "tables",
        "x".repeat(100),
        "9".repeat(100),
      ];
      const service = new TableServiceClient(
        azurite.endpoint,
        new AzureNamedKeyCredential(azurite.accountName, azurite.accountKey),
        { allowInsecureConnection: true },
      );
      const ids = [crypto.randomUUID(), crypto.randomUUID().toUpperCase()];
      for (const tablePrefix of prefixes) {
        await using factory = new AzureStoreFactory({
          connectionString: azurite.connectionString,
          allowInsecureHttp: true,
          tablePrefix,
          sweepIntervalMs: 0,
        });
        const names = new Set<string>();
        for (const id of ids) {
          const store = await factory.newStore(id);
          await roundTrip(store, JSON.stringify(tablePrefix ?? null));
          names.add(azureTableName(tablePrefix, id));
        }
        assert.equal(names.size, ids.length, "two store ids, two tables");
        const tables = new Set<string>();
        for await (const table of service.listTables()) tables.add(table.name!.toLowerCase());
        for (const name of names) {
          assert.ok(tables.has(name.toLowerCase()), `table ${name} was not created`);
        }
      }
    });
  } finally {
    await azurite.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// TokenCredential against Azurite over https with --oauth basic (child process)

/** DER encoding, just enough for one self-signed certificate. */
const der = {
  length(n: number): number[] {
    if (n < 0x80) return [n];
    const bytes: number[] = [];
    for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    return [0x80 | bytes.length, ...bytes];
  },
  tlv(tag: number, ...contents: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
    const body = contents.flatMap((c) => [...c]);
    return new Uint8Array([tag, ...der.length(body.length), ...body]);
  },
  seq: (...contents: (Uint8Array | number[])[]) => der.tlv(0x30, ...contents),
  oid(text: string): Uint8Array {
    const [a, b, ...rest] = text.split(".").map(Number);
    const bytes = [40 * a + b];
    for (const n of rest) {
      const chunk = [n & 0x7f];
      for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
      bytes.push(...chunk);
    }
    return der.tlv(0x06, bytes);
  },
  integer(bytes: Uint8Array): Uint8Array {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = [...bytes.subarray(start)];
    return der.tlv(0x02, trimmed[0] & 0x80 ? [0, ...trimmed] : trimmed);
  },
  time(date: Date): Uint8Array {
    const text = date.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
    return der.tlv(0x17, encoder.encode(text));
  },
};

function pem(label: string, bytes: Uint8Array): string {
  const base64 = btoa(String.fromCharCode(...bytes));
  return `-----BEGIN ${label}-----\n${
    base64.match(/.{1,64}/g)!.join("\n")
  }\n-----END ${label}-----\n`;
}

/** A self-signed ECDSA P-256 certificate for 127.0.0.1 (a CA, so it can be its own anchor). */
async function selfSignedCertificate(): Promise<{ cert: string; key: string }> {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const ecdsaWithSha256 = der.seq(der.oid("1.2.840.10045.4.3.2"));
  const name = der.seq(
    der.tlv(0x31, der.seq(der.oid("2.5.4.3"), der.tlv(0x0c, encoder.encode("127.0.0.1")))),
  );
  const now = Date.now();
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const extensions = der.tlv(
    0xa3,
    der.seq(
      // basicConstraints (critical): CA
      der.seq(
        der.oid("2.5.29.19"),
        der.tlv(0x01, [0xff]),
        der.tlv(0x04, der.seq(der.tlv(0x01, [0xff]))),
      ),
      // subjectAltName: IP 127.0.0.1, DNS localhost
      der.seq(
        der.oid("2.5.29.17"),
        der.tlv(
          0x04,
          der.seq(der.tlv(0x87, [127, 0, 0, 1]), der.tlv(0x82, encoder.encode("localhost"))),
        ),
      ),
    ),
  );
  const tbs = der.seq(
    der.tlv(0xa0, der.integer(new Uint8Array([2]))),
    der.integer(serial),
    ecdsaWithSha256,
    name,
    der.seq(der.time(new Date(now - 3600e3)), der.time(new Date(now + 2 * 86400e3))),
    name,
    spki,
    extensions,
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs),
  );
  // WebCrypto signs as r || s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }.
  const signature = der.seq(der.integer(raw.subarray(0, 32)), der.integer(raw.subarray(32)));
  const certificate = der.seq(tbs, ecdsaWithSha256, der.tlv(0x03, [0], signature));
  return { cert: pem("CERTIFICATE", certificate), key: pem("PRIVATE KEY", pkcs8) };
}

/** Azurite's table server over https with basic OAuth checks, on a free port. */
async function startHttpsAzurite(certFile: string, keyFile: string): Promise<{
  endpoint: string;
  stop(): Promise<void>;
}> {
  const entry = new URL(
    "../node_modules/azurite/dist/src/table/main.js",
    import.meta.url,
  ).pathname;
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command("node", {
    args: [
      entry,
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--tableHost",
      "127.0.0.1",
      "--tablePort",
      String(port),
      "--skipApiVersionCheck",
      "--cert",
      certFile,
      "--key",
      keyFile,
      "--oauth",
      "basic",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await stderr;
  };
  let output = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 30_000;
  try {
    while (!output.includes(`successfully started on 127.0.0.1:${port}`)) {
      if (Date.now() > deadline) throw new Error("timed out");
      const { value, done } = await reader.read();
      if (done) throw new Error("exited");
      output += value;
    }
  } catch (error) {
    await stop();
    throw new Error(
      `https Azurite did not start (${(error as Error).message}):\n${output}\n${await stderr}`,
    );
  }
  // Keep draining its log so it never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  return { endpoint: `https://127.0.0.1:${port}/devstoreaccount1`, stop };
}

/** A JWT Azurite's basic OAuth check accepts (it checks claims, not the signature). */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.c2ln`;
}

/** What the child reports for each case. */
interface TokenCase {
  name: string;
  ok: boolean;
  calls: number;
  ms: number;
  kind?: string;
  transient?: boolean;
  message?: string;
  everything?: string;
}

const SECRET_IN_CREDENTIAL_ERROR = "client-secret-0123456789abcdef";

/** The child: runs each token case against the https Azurite and prints the results. */
async function tokenChild(endpoint: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: "https://storage.azure.com",
    iss: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
    iat: now - 60,
    nbf: now - 60,
    exp: now + 3600,
  };
  const cases: [string, () => Promise<{ token: string; expiresOnTimestamp: number } | null>][] = [
    // The brief's fake credential: a token that is no JWT.
    ["token x", () => Promise.resolve({ token: "x", expiresOnTimestamp: Date.now() + 3600e3 })],
    // A well-formed token for another audience.
    ["wrong audience", () =>
      Promise.resolve({
        token: unsignedJwt({ ...claims, aud: "https://vault.azure.net" }),
        expiresOnTimestamp: Date.now() + 3600e3,
      })],
    // A credential that cannot get a token (no managed identity here, say).
    ["getToken throws", () => {
      const error = new Error(`no identity; secret ${SECRET_IN_CREDENTIAL_ERROR}`);
      error.name = "CredentialUnavailableError";
      return Promise.reject(error);
    }],
    ["getToken gives null", () => Promise.resolve(null)],
    // A token Azurite's basic check accepts: the whole path works end to end.
    [
      "valid token",
      () =>
        Promise.resolve({ token: unsignedJwt(claims), expiresOnTimestamp: Date.now() + 3600e3 }),
    ],
  ];
  for (const [name, getToken] of cases) {
    let calls = 0;
    const credential: TokenCredential = {
      getToken: () => {
        calls++;
        return getToken();
      },
    };
    const started = performance.now();
    const result: TokenCase = { name, ok: false, calls: 0, ms: 0 };
    try {
      await using factory = new AzureStoreFactory({
        endpoint,
        credential,
        tablePrefix: "token",
        sweepIntervalMs: 0,
        retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
      });
      const store = await factory.newStore(crypto.randomUUID());
      await roundTrip(store, name);
      result.ok = true;
    } catch (error) {
      result.kind = (error as StreamkitError).kind;
      result.transient = (error as StreamkitError).transient;
      result.message = (error as Error).message;
      result.everything = everythingIn(error);
    }
    result.calls = calls;
    result.ms = Math.round(performance.now() - started);
    console.log(JSON.stringify(result));
  }
}

Deno.test("azure config: a TokenCredential against Azurite over https (--oauth basic)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-tls-" });
  try {
    const { cert, key } = await selfSignedCertificate();
    const certFile = `${dir}/cert.pem`;
    const keyFile = `${dir}/key.pem`;
    await Deno.writeTextFile(certFile, cert);
    await Deno.writeTextFile(keyFile, key);
    const azurite = await startHttpsAzurite(certFile, keyFile);
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          new URL(import.meta.url).pathname,
          "token-child",
          azurite.endpoint,
        ],
        env: { NODE_EXTRA_CA_CERTS: certFile },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = decoder.decode(output.stdout);
      const stderr = decoder.decode(output.stderr);
      assert.equal(output.code, 0, `the child failed:\n${stdout}\n${stderr}`);
      const results = new Map<string, TokenCase>(
        stdout.trim().split("\n").map((line) => {
          const result = JSON.parse(line) as TokenCase;
          return [result.name, result];
        }),
      );
      const refused = (name: string, ...mentions: string[]) => {
        const result = results.get(name)!;
        assert.equal(result.ok, false, `${name} worked`);
        assert.equal(result.kind, "AccessDenied", `${name}: ${result.message}`);
        assert.equal(result.transient, false, name);
        for (const mention of mentions) {
          assert.ok(result.message!.includes(mention), `${name}: ${mention} in ${result.message}`);
        }
        assert.ok(!result.everything!.includes(SECRET_IN_CREDENTIAL_ERROR), `${name} leaked`);
        // Permanent: the table creation was tried once, with one token.
        assert.equal(result.calls, 1, `${name}: getToken calls`);
        return result;
      };
      // What Azurite does with a bearer token over https: it checks the JWT's claims (lifetime,
      // issuer, audience) and answers 403 AuthenticationFailed when they do not hold.
      refused(
        "token x",
        "Azure refused the token credential (403 AuthenticationFailed)",
        "'Storage Table Data Contributor' role",
      );
      refused("wrong audience", "Azure refused the token credential (403 AuthenticationFailed)");
      refused(
        "getToken throws",
        "the token credential did not give a token (CredentialUnavailableError)",
        "check that the token credential can get a token",
      );
      refused("getToken gives null", "the token credential did not give a token (null)");
      const valid = results.get("valid token")!;
      assert.equal(valid.ok, true, `a valid token failed: ${valid.message}`);
      assert.equal(valid.calls, 1, "the token is cached and reused");
    } finally {
      await azurite.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

if (import.meta.main && Deno.args[0] === "token-child") {
  await tokenChild(Deno.args[1]);
  Deno.exit(0);
}
