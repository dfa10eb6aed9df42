import assert from "node:assert/strict";
import { StreamkitError } from "@streamkit/core";
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from "jose";
import {
  type Access,
  accessStatus,
  type AuthOptions,
  authorize,
  createVerifier,
  mayRead,
  type Principal,
  type Verifier,
} from "./_auth.ts";

const SECRET = "streamkit-test-secret-0123456789abcdef";
const KEY = new TextEncoder().encode(SECRET);
const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER = "7c9e6679-7425-40de-944b-e07fc1f99ae6";
const now = () => Math.floor(Date.now() / 1000);

function sign(
  claims: JWTPayload,
  key: CryptoKey | Uint8Array = KEY,
  header: { alg: string; kid?: string } = { alg: "HS256" },
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).setIssuedAt().setExpirationTime("5m")
    .sign(key);
}

async function refused(
  verifier: Verifier,
  authorization: string | null,
  message: RegExp,
): Promise<void> {
  await assert.rejects(verifier.authenticate(authorization), (error: unknown) => {
    assert.ok(error instanceof StreamkitError);
    assert.equal(error.kind, "AccessDenied");
    assert.match(error.message, message);
    assert.equal(accessStatus(error), 401);
    // Never the credentials: not the token, nor any part of it, nor the secret.
    for (const part of (authorization ?? "").split(/[\s.]+/).filter((p) => p.length > 8)) {
      assert.ok(!error.message.includes(part), `message quotes the token: ${error.message}`);
    }
    assert.ok(!error.message.includes(SECRET));
    assert.equal(error.cause, undefined);
    return true;
  });
}

async function invalidConfig(options: unknown, message: RegExp): Promise<void> {
  await assert.rejects(createVerifier(options as AuthOptions), (error: unknown) => {
    assert.ok(error instanceof StreamkitError);
    assert.equal(error.kind, "InvalidArgument");
    assert.match(error.message, message);
    assert.ok(!error.message.includes(SECRET));
    return true;
  });
}

Deno.test("auth: HS256 tokens give the scopes of scope and scp, and the subject", async () => {
  const verifier = await createVerifier({ secret: SECRET });
  const cases: [JWTPayload, string[]][] = [
    [{ scope: `streamkit::${STORE} openid` }, [`streamkit::${STORE}`, "openid"]],
    [{ scp: ["streamkit::*", "streamkit:read::*"] }, ["streamkit::*", "streamkit:read::*"]],
    [{ scp: `streamkit:read::${STORE}  x` }, [`streamkit:read::${STORE}`, "x"]],
    [{ scope: "a b", scp: ["b", "c", 7] }, ["a", "b", "c"]],
    [{}, []],
  ];
  for (const [claims, scopes] of cases) {
    const principal = await verifier.authenticate(`Bearer ${await sign(claims)}`);
    assert.deepEqual([...principal.scopes].sort(), scopes.sort());
    assert.equal(principal.subject, undefined);
  }
  const principal = await verifier.authenticate(`bearer  ${await sign({ sub: "svc" })} `);
  assert.equal(principal.subject, "svc");
  const key = new Uint8Array(KEY);
  const binary = await createVerifier({ secret: key, algorithms: ["HS256", "HS512"] });
  key.fill(0); // the verifier keeps its own copy
  const token = await sign({ scope: "streamkit::*" }, KEY, { alg: "HS512" });
  assert.ok((await binary.authenticate(`Bearer ${token}`)).scopes.has("streamkit::*"));
});

Deno.test("auth: authorize and mayRead follow the four scope forms", () => {
  const forms: [string, Record<string, Access | undefined>][] = [
    ["streamkit::*", { [STORE]: "write", [OTHER]: "write" }],
    [`streamkit::${STORE.toUpperCase()}`, { [STORE]: "write", [OTHER]: undefined }],
    ["streamkit:read::*", { [STORE]: "read", [OTHER]: "read" }],
    [`streamkit:read::${STORE}`, { [STORE]: "read", [OTHER]: undefined }],
    ["streamkit:write::*", { [STORE]: undefined, [OTHER]: undefined }],
    [`storage::${STORE}`, { [STORE]: undefined, [OTHER]: undefined }],
  ];
  for (const [scope, grants] of forms) {
    const principal: Principal = { scopes: new Set([scope]) };
    for (const [id, grant] of Object.entries(grants)) {
      for (const access of ["read", "write"] as const) {
        const allowed = grant === "write" || (grant === "read" && access === "read");
        assert.equal(mayRead(principal, id), grant !== undefined, `${scope} ${id}`);
        if (allowed) {
          authorize(principal, id.toUpperCase(), access);
          continue;
        }
        assert.throws(() => authorize(principal, id, access), (error: unknown) => {
          assert.ok(error instanceof StreamkitError && error.kind === "AccessDenied");
          assert.equal(accessStatus(error), 403);
          const needed = access === "write" ? `streamkit::${id}` : `streamkit:read::${id}`;
          assert.ok(error.message.startsWith(`token lacks scope "${needed}" (or `));
          assert.ok(error.message.endsWith(`to ${access} store ${id}`), error.message);
          return true;
        });
      }
    }
  }
  const all: Principal = { scopes: new Set(["streamkit::*"]) };
  assert.throws(() => authorize(all, "nope", "read"), /InvalidArgument|storeId/);
  assert.equal(mayRead(all, "nope"), false);
  assert.equal(accessStatus(new StreamkitError("AccessDenied", "x")), undefined);
  assert.equal(accessStatus("error"), undefined);
});

Deno.test("auth: refuses bad headers and bad tokens with 401 and a reason", async () => {
  const verifier = await createVerifier({ secret: SECRET });
  const good = await sign({ scope: `streamkit::${STORE}` });
  const [header, , signature] = good.split(".");
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  const unsecured = `${encode({ alg: "none", typ: "JWT" })}.${encode({ scope: "streamkit::*" })}.`;
  const tampered = `${header}.${encode({ scope: "streamkit::*", exp: now() + 60 })}.${signature}`;
  const wrongSecret = await sign({}, new TextEncoder().encode(SECRET.replace("s", "z")));
  const expired = await new SignJWT({}).setProtectedHeader({ alg: "HS256" })
    .setExpirationTime(now() - 60).sign(KEY);
  const early = await new SignJWT({}).setProtectedHeader({ alg: "HS256" })
    .setNotBefore(now() + 60).setExpirationTime("5m").sign(KEY);
  const hs384 = await sign({}, KEY, { alg: "HS384" });
  await refused(verifier, null, /^no bearer token$/);
  await refused(verifier, "", /^no bearer token$/);
  await refused(verifier, "Bearer ", /^no bearer token$/);
  await refused(verifier, "Basic dXNlcjpwYXNzd29yZA==", /scheme is not Bearer/);
  await refused(verifier, `Bearer ${good} extra`, /token malformed/);
  await refused(verifier, "Bearer not-a-jwt-at-all", /token malformed/);
  await refused(verifier, "Bearer aaaaaaaaa.bbbbbbbbb.ccccccccc", /token malformed/);
  await refused(verifier, `Bearer ${unsecured}`, /algorithm not allowed \(accepted: HS256\)/);
  await refused(verifier, `Bearer ${tampered}`, /token signature invalid/);
  await refused(verifier, `Bearer ${wrongSecret}`, /token signature invalid/);
  await refused(verifier, `Bearer ${expired}`, /^token expired$/);
  await refused(verifier, `Bearer ${early}`, /^token not valid yet$/);
  await refused(verifier, `Bearer ${hs384}`, /algorithm not allowed/);
});

Deno.test("auth: allows 5 seconds of clock skew on exp and nbf", async () => {
  const verifier = await createVerifier({ secret: SECRET });
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" })
    .setNotBefore(now() + 2).setExpirationTime(now() - 2).sign(KEY);
  await verifier.authenticate(`Bearer ${token}`);
});

Deno.test("auth: checks issuer and audience when configured", async () => {
  const verifier = await createVerifier({ secret: SECRET, issuer: "https://idp", audience: "sk" });
  await verifier.authenticate(`Bearer ${await sign({ iss: "https://idp", aud: "sk" })}`);
  await verifier.authenticate(`Bearer ${await sign({ iss: "https://idp", aud: ["x", "sk"] })}`);
  const wrongIssuer = await sign({ iss: "https://evil", aud: "sk" });
  await refused(verifier, `Bearer ${wrongIssuer}`, /^token issuer mismatch$/);
  await refused(verifier, `Bearer ${await sign({ aud: "sk" })}`, /^token issuer mismatch$/);
  const wrongAudience = await sign({ iss: "https://idp", aud: "other" });
  await refused(verifier, `Bearer ${wrongAudience}`, /^token audience mismatch$/);
  await refused(verifier, `Bearer ${await sign({ iss: "https://idp" })}`, /audience mismatch/);
  // Not configured: not checked.
  const open = await createVerifier({ secret: SECRET });
  await open.authenticate(`Bearer ${wrongIssuer}`);
});

Deno.test("auth: verifies RS256, ES256 and EdDSA tokens against a PEM public key", async () => {
  for (const alg of ["RS256", "ES256", "EdDSA"]) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const pem = await exportSPKI(publicKey);
    const token = await sign({ scope: "streamkit::*", sub: alg }, privateKey, { alg });
    for (const options of [{ publicKey: pem }, { publicKey: pem, algorithm: alg }]) {
      const verifier = await createVerifier(options);
      const principal = await verifier.authenticate(`Bearer ${token}`);
      assert.equal(principal.subject, alg);
      assert.ok(principal.scopes.has("streamkit::*"));
    }
    const other = await generateKeyPair(alg);
    const forged = await sign({ scope: "streamkit::*" }, other.privateKey, { alg });
    const verifier = await createVerifier({ publicKey: pem });
    await refused(verifier, `Bearer ${forged}`, /token signature invalid/);
  }
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const verifier = await createVerifier({ publicKey: await exportSPKI(rsa.publicKey) });
  // The HS256 confusion: the public key's bytes used as an HMAC secret must not pass.
  const pemBytes = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
  await refused(verifier, `Bearer ${await sign({}, pemBytes)}`, /not allowed \(accepted: RS256\)/);
  await refused(verifier, `Bearer ${await sign({})}`, /algorithm not allowed/);
});

Deno.test("auth: verifies tokens against a JWKS URL, and reports a missing key set", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ keys: [jwk] }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/jwks.json`;
  try {
    const verifier = await createVerifier({ jwksUrl: new URL(url), audience: "sk" });
    const token = await sign({ scp: ["streamkit::*"], aud: "sk" }, privateKey, {
      alg: "ES256",
      kid: "k1",
    });
    assert.ok((await verifier.authenticate(`Bearer ${token}`)).scopes.has("streamkit::*"));
    const stranger = await generateKeyPair("ES256");
    const unknown = await sign({ aud: "sk" }, stranger.privateKey, { alg: "ES256", kid: "k2" });
    await refused(verifier, `Bearer ${unknown}`, /signing key not in the key set/);
    await refused(verifier, `Bearer ${await sign({ aud: "sk" })}`, /algorithm not allowed/);
  } finally {
    await server.shutdown();
  }
  const down = await createVerifier({ jwksUrl: `${url}?token=hidden` });
  const token = await sign({}, privateKey, { alg: "ES256", kid: "k1" });
  await assert.rejects(down.authenticate(`Bearer ${token}`), (error: unknown) => {
    assert.ok(error instanceof StreamkitError && error.kind === "Unavailable");
    assert.equal(error.message, `jwksUrl: cannot get the key set at ${url}`);
    assert.equal(accessStatus(error), undefined);
    return true;
  });
});

Deno.test("auth: none gives every store, whatever the header", async () => {
  const verifier = await createVerifier({ none: true });
  for (const header of [null, "Bearer garbage"]) {
    const principal = await verifier.authenticate(header);
    assert.deepEqual([...principal.scopes], ["streamkit::*"]);
    authorize(principal, STORE, "write");
  }
});

Deno.test("auth: bad configuration throws InvalidArgument naming the option", async () => {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  const pem = await exportSPKI(publicKey);
  await invalidConfig({ secret: "" }, /^secret: must not be empty$/);
  await invalidConfig({ secret: new Uint8Array() }, /^secret: must not be empty$/);
  await invalidConfig({ secret: "short" }, /^secret: must be at least 32 bytes, got 5$/);
  await invalidConfig({ secret: 42 }, /^secret: must be a string or a Uint8Array$/);
  await invalidConfig({ secret: SECRET, algorithms: [] }, /^algorithms: /);
  await invalidConfig({ secret: SECRET, algorithms: ["none"] }, /^algorithms: /);
  await invalidConfig({ secret: SECRET, algorithms: ["RS256"] }, /^algorithms: /);
  await invalidConfig({ secret: SECRET, issuer: "" }, /^issuer: must be a non-empty string$/);
  await invalidConfig({ secret: SECRET, audience: 3 }, /^audience: /);
  await invalidConfig({ publicKey: "" }, /^publicKey: must be a PEM string/);
  await invalidConfig({ publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n" }, /^publicKey: not an/);
  await invalidConfig({ publicKey: pem, algorithm: "RS256" }, /^publicKey: not an .* for RS256$/);
  await invalidConfig({ publicKey: pem, algorithm: "HS256" }, /^algorithm: must be one of/);
  await invalidConfig({ jwksUrl: "not a url" }, /^jwksUrl: must be an http: or https: URL$/);
  await invalidConfig({ jwksUrl: "file:///etc/jwks.json" }, /^jwksUrl: /);
  await invalidConfig({ none: false }, /^none: must be true$/);
  await invalidConfig({}, /^auth: give exactly one of/);
  await invalidConfig({ secret: SECRET, none: true }, /^auth: give exactly one of/);
});
