/**
 * Bearer-token authentication (JWT, verified with `jose`) and per-store authorization from the
 * `streamkit::` scopes, for the remote server.
 *
 * @module
 */

import { StreamkitError, validateStoreId } from "@streamkit/core";
import { createRemoteJWKSet, errors, importSPKI, jwtVerify } from "jose";
import type { CryptoKey, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from "jose";

/**
 * How the server verifies bearer tokens: exactly one of `secret` (HMAC, `algorithms` default
 * `["HS256"]`, at least 32 bytes), `publicKey` (an SPKI PEM; `algorithm` RS256, ES256 or EdDSA,
 * detected from the key when omitted), `jwksUrl` (a remote key set, asymmetric algorithms only),
 * or `none: true` (no authentication; the server allows it on loopback only). `exp` and `nbf`
 * are checked with 5 seconds of clock tolerance; `issuer` and `audience`, when given, must match.
 *
 * @example
 * ```ts
 * import type { AuthOptions } from "./_auth.ts";
 * const options: AuthOptions = { jwksUrl: "https://idp.example/jwks.json", audience: "streamkit" };
 * ```
 */
export type AuthOptions =
  | { secret: string | Uint8Array; algorithms?: string[]; issuer?: string; audience?: string }
  | { publicKey: string; algorithm?: string; issuer?: string; audience?: string }
  | { jwksUrl: string | URL; issuer?: string; audience?: string }
  | { none: true };

/**
 * What a request may do to a store.
 *
 * @example
 * ```ts
 * import type { Access } from "./_auth.ts";
 * const access: Access = "write";
 * ```
 */
export type Access = "read" | "write";

/**
 * A verified caller: its scopes (from the `scope` and `scp` claims) and its `sub` claim.
 *
 * @example
 * ```ts
 * import type { Principal } from "./_auth.ts";
 * const admin: Principal = { scopes: new Set(["streamkit::*"]), subject: "ops" };
 * ```
 */
export interface Principal {
  /** The granted scopes, e.g. `streamkit::*` or `streamkit:read::<storeId>`. */
  readonly scopes: ReadonlySet<string>;
  /** The token's `sub` claim, if it had one. */
  readonly subject?: string;
}

/**
 * Checks the `Authorization` header of requests; made by {@linkcode createVerifier}.
 *
 * @example
 * ```ts ignore
 * const principal = await verifier.authenticate(request.headers.get("authorization"));
 * ```
 */
export interface Verifier {
  /** Returns the caller, or throws `AccessDenied` (HTTP 401) saying what is wrong. */
  authenticate(authorization: string | null): Promise<Principal>;
}

/** Seconds of skew allowed between the issuer's clock and ours on `exp` and `nbf`. */
const CLOCK_TOLERANCE_S = 5;
const MODES = "secret, publicKey, jwksUrl or none: true";
const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"];
const PEM_ALGORITHMS = ["RS256", "ES256", "EdDSA"];
// A key set is public, so HMAC is excluded: a published key must never work as a secret.
const JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
  .concat(["ES512", "EdDSA", "Ed25519"]);
// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (256 bits for HS256).
const MIN_SECRET_BYTES = 32;

// The HTTP status of each AccessDenied made here: 401 by authenticate, 403 by authorize.
const statuses = new WeakMap<object, 401 | 403>();

function denied(status: 401 | 403, message: string): StreamkitError {
  const error = new StreamkitError("AccessDenied", message);
  statuses.set(error, status);
  return error;
}

function invalid(message: string): StreamkitError {
  return new StreamkitError("InvalidArgument", message);
}

/**
 * Builds a verifier once: imports the key or prepares the key set (fetched on first use, then
 * cached by `jose`). Bad configuration throws `InvalidArgument` naming the option; a key set
 * that cannot be fetched later makes `authenticate` throw `Unavailable`, not `AccessDenied`.
 *
 * @example
 * ```ts
 * import { createVerifier } from "./_auth.ts";
 * const verifier = await createVerifier({ secret: "a-secret-of-at-least-32-bytes-long!" });
 * await verifier.authenticate(null).catch((error) => console.log(error.message)); // no bearer token
 * ```
 */
export async function createVerifier(options: AuthOptions): Promise<Verifier> {
  const fields = options as Partial<Record<string, unknown>>;
  const modes = ["secret", "publicKey", "jwksUrl", "none"].filter((k) => fields[k] !== undefined);
  if (modes.length !== 1) throw invalid(`auth: give exactly one of ${MODES}`);
  if ("none" in options) {
    if (options.none !== true) throw invalid("none: must be true");
    return { authenticate: () => Promise.resolve({ scopes: new Set(["streamkit::*"]) }) };
  }
  const claims = claimOptions(options);
  let getKey: JWTVerifyGetKey;
  let algorithms: string[];
  if ("secret" in options) {
    const key = secretKey(options.secret);
    algorithms = options.algorithms ?? ["HS256"];
    if (
      !Array.isArray(algorithms) || algorithms.length === 0 ||
      !algorithms.every((a) => HMAC_ALGORITHMS.includes(a))
    ) throw invalid(`algorithms: must be a non-empty list of ${HMAC_ALGORITHMS.join(", ")}`);
    getKey = () => key;
  } else if ("publicKey" in options) {
    const [key, algorithm] = await importPublicKey(options.publicKey, options.algorithm);
    [getKey, algorithms] = [() => key, [algorithm]];
  } else {
    [getKey, algorithms] = [remoteKeySet(options.jwksUrl), JWKS_ALGORITHMS];
  }
  return {
    async authenticate(authorization) {
      const token = bearer(authorization);
      try {
        return principalOf((await jwtVerify(token, getKey, { ...claims, algorithms })).payload);
      } catch (error) {
        throw error instanceof StreamkitError ? error : denied(401, rejection(error, algorithms));
      }
    },
  };
}

function secretKey(secret: unknown): Uint8Array {
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array)) throw invalid("secret: must be a string or a Uint8Array");
  if (key.length === 0) throw invalid("secret: must not be empty");
  if (key.length < MIN_SECRET_BYTES) {
    throw invalid(`secret: must be at least ${MIN_SECRET_BYTES} bytes, got ${key.length}`);
  }
  return key.slice(); // a copy: later changes to the caller's bytes do not apply
}

function claimOptions(options: { issuer?: unknown; audience?: unknown }): JWTVerifyOptions {
  for (const name of ["issuer", "audience"] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw invalid(`${name}: must be a non-empty string`);
    }
  }
  const { issuer, audience } = options as { issuer?: string; audience?: string };
  return { issuer, audience, clockTolerance: CLOCK_TOLERANCE_S };
}

// Without `algorithm`, the key's type decides: the first of RS256, ES256, EdDSA that imports.
async function importPublicKey(pem: unknown, algorithm: unknown): Promise<[CryptoKey, string]> {
  if (typeof pem !== "string" || pem.trim() === "") {
    throw invalid("publicKey: must be a PEM string (-----BEGIN PUBLIC KEY-----)");
  }
  if (algorithm !== undefined && !PEM_ALGORITHMS.includes(algorithm as string)) {
    throw invalid(`algorithm: must be one of ${PEM_ALGORITHMS.join(", ")}`);
  }
  const candidates = algorithm === undefined ? PEM_ALGORITHMS : [algorithm as string];
  for (const candidate of candidates) {
    try {
      return [await importSPKI(pem.trim(), candidate), candidate];
    } catch {
      // not a key of this algorithm: try the next
    }
  }
  throw invalid(`publicKey: not an SPKI PEM public key for ${candidates.join(" or ")}`);
}

// Fetch failures are the server's problem (Unavailable), not the caller's (AccessDenied).
function remoteKeySet(jwksUrl: unknown): JWTVerifyGetKey {
  const url = URL.canParse(String(jwksUrl)) ? new URL(String(jwksUrl)) : null;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") {
    throw invalid("jwksUrl: must be an http: or https: URL");
  }
  const jwks = createRemoteJWKSet(url);
  const shown = url.origin + url.pathname; // never the query or user info, which may hold secrets
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw error;
      throw new StreamkitError("Unavailable", `jwksUrl: cannot get the key set at ${shown}`, {
        cause: error,
      });
    }
  };
}

function bearer(authorization: string | null): string {
  const [scheme = "", ...rest] = (authorization ?? "").trim().split(/\s+/);
  if (scheme === "") throw denied(401, "no bearer token");
  if (scheme.toLowerCase() !== "bearer") throw denied(401, "authorization scheme is not Bearer");
  if (rest.length === 0) throw denied(401, "no bearer token");
  if (rest.length > 1) throw denied(401, "token malformed");
  return rest[0];
}

// What went wrong, in words that never quote the token (jose's messages are not passed on).
function rejection(error: unknown, accepted: string[]): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf" && error.reason === "check_failed") return "token not valid yet";
    if (error.claim === "iss") return "token issuer mismatch";
    if (error.claim === "aud") return "token audience mismatch";
    return `token claim "${error.claim}" invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return `token algorithm not allowed (accepted: ${accepted.join(", ")})`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return "token signing key not in the key set";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return "token malformed";
  }
  return "token rejected";
}

function principalOf(payload: JWTPayload): Principal {
  const words = (value: unknown): string[] =>
    typeof value === "string"
      ? value.split(/\s+/).filter((word) => word !== "")
      : Array.isArray(value)
      ? value.filter((word): word is string => typeof word === "string")
      : [];
  const scopes = new Set([...words(payload.scope), ...words(payload.scp)]);
  return typeof payload.sub === "string" ? { scopes, subject: payload.sub } : { scopes };
}

// The best access the scopes give on `storeId` (lower-case): write (which includes read), read.
function granted(principal: Principal, storeId: string): Access | undefined {
  let best: Access | undefined;
  for (const scope of principal.scopes) {
    const match = /^streamkit(:read)?::(.+)$/.exec(scope);
    if (match === null || (match[2] !== "*" && match[2].toLowerCase() !== storeId)) continue;
    if (match[1] === undefined) return "write";
    best = "read";
  }
  return best;
}

/**
 * Checks that `principal` may do `access` on store `storeId`: `streamkit::*` and
 * `streamkit::<storeId>` allow both, `streamkit:read::*` and `streamkit:read::<storeId>` reading
 * only. Otherwise throws `AccessDenied` (HTTP 403) naming the missing scope; a `storeId` that is
 * not a UUID throws `InvalidArgument`. Store ids in scopes match in any case.
 *
 * @example
 * ```ts
 * import { authorize } from "./_auth.ts";
 * const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
 * authorize({ scopes: new Set([`streamkit:read::${id}`]) }, id, "read"); // allowed
 * ```
 */
export function authorize(principal: Principal, storeId: string, access: Access): void {
  const id = validateStoreId(storeId);
  const has = granted(principal, id);
  if (has === "write" || (has === "read" && access === "read")) return;
  throw denied(
    403,
    access === "write"
      ? `token lacks scope "streamkit::${id}" (or "streamkit::*") to write store ${id}`
      : `token lacks scope "streamkit:read::${id}" (or "streamkit:read::*", "streamkit::${id}", ` +
        `"streamkit::*") to read store ${id}`,
  );
}

/**
 * Whether `principal` may read store `storeId` (false for an id that is not a UUID); for
 * filtering store listings.
 *
 * @example
 * ```ts
 * import { mayRead } from "./_auth.ts";
 * console.log(mayRead({ scopes: new Set(["streamkit:read::*"]) }, crypto.randomUUID())); // true
 * ```
 */
export function mayRead(principal: Principal, storeId: string): boolean {
  try {
    return granted(principal, validateStoreId(storeId)) !== undefined;
  } catch {
    return false;
  }
}

/**
 * The HTTP status of an `AccessDenied` error from this module: 401 if `authenticate` threw it
 * (no valid token), 403 if `authorize` did (valid token, missing scope); otherwise `undefined`.
 *
 * @example
 * ```ts
 * import { accessStatus, authorize } from "./_auth.ts";
 * try {
 *   authorize({ scopes: new Set() }, crypto.randomUUID(), "read");
 * } catch (error) {
 *   console.log(accessStatus(error)); // 403
 * }
 * ```
 */
export function accessStatus(error: unknown): 401 | 403 | undefined {
  return typeof error === "object" && error !== null ? statuses.get(error) : undefined;
}
