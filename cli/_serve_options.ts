// The options of `streamkit serve`, checked: where it listens, how it checks bearer tokens
// (exactly one way; none on loopback only), TLS and CORS. The HMAC secret is read from the
// environment variable named, never from the command line, and is never printed.

import { readFile } from "node:fs/promises";
import process from "node:process";
import type { AuthOptions } from "@streamkit/remote/server";
import { listOption, type OptionSpecs, type OptionValues, stringOption } from "./_args.ts";
import { UsageError } from "./_errors.ts";
import { DEFAULT_LISTEN, isLoopback, type ListenAddress, parseListen } from "./_listen.ts";

const AUTH_FLAGS = "--auth-secret-env <VAR>, --auth-public-key <pem file>, --auth-jwks <url> " +
  "or --no-auth";

/** The options of `streamkit serve`. */
export const SERVE_OPTIONS: OptionSpecs = {
  listen: {
    type: "string",
    value: "<host:port>",
    expects: "<host>:<port>",
    help: `where to listen (default ${DEFAULT_LISTEN}); port 0 takes any free port`,
  },
  "auth-secret-env": {
    type: "string",
    value: "<VAR>",
    expects: "the name of an environment variable",
    help: "check HS256 tokens with the secret (at least 32 bytes) held by this environment " +
      "variable",
  },
  "auth-public-key": {
    type: "string",
    value: "<pem file>",
    expects: "a PEM file",
    help: "check tokens signed with the key of this SPKI PEM public key (RS256, ES256 or EdDSA)",
  },
  "auth-jwks": {
    type: "string",
    value: "<url>",
    expects: "the URL of a JWKS key set",
    help: "check tokens signed with a key of this key set (asymmetric algorithms only)",
  },
  "no-auth": {
    type: "boolean",
    help: "no tokens: every client may read and write every store; only on a loopback address " +
      "(127.0.0.0/8, ::1, localhost)",
  },
  issuer: {
    type: "string",
    value: "<iss>",
    expects: "a token issuer",
    help: "tokens must have this iss claim",
  },
  audience: {
    type: "string",
    value: "<aud>",
    expects: "a token audience",
    help: "tokens must have this aud claim",
  },
  cert: {
    type: "string",
    value: "<pem file>",
    expects: "a PEM certificate file",
    help: "serve https with this certificate (chain), together with --key",
  },
  key: {
    type: "string",
    value: "<pem file>",
    expects: "a PEM private key file",
    help: "the private key of --cert",
  },
  cors: {
    type: "string",
    multiple: true,
    value: "<origin>",
    expects: "an origin, e.g. https://app.example.com",
    help: "let browser pages of this origin call the server (repeatable; * for any)",
  },
};

/** How `streamkit serve` serves, from its options. */
export interface ServeSettings {
  listen: ListenAddress;
  auth: AuthOptions;
  /** The option that chose `auth`, as given (`--auth-secret-env SECRET`): for messages. */
  authFlag: string;
  /** The HMAC secret, to keep out of every message; empty without one. */
  secret: string;
  tls?: { cert: string; key: string };
  cors: string[];
}

/** The text of the file `path` given as `flag`; a usage error when it cannot be read. */
async function readTextOption(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "an error";
    throw new UsageError(`${flag} ${path}: cannot read it (${code})`);
  }
}

/** The token check the options choose, for a server on `listen`. */
async function authOf(values: OptionValues, listen: ListenAddress) {
  const chosen = ["auth-secret-env", "auth-public-key", "auth-jwks", "no-auth"]
    .filter((name) => values[name] !== undefined);
  if (chosen.length !== 1) {
    throw new UsageError(
      `serve ${chosen.length === 0 ? "needs" : "takes only"} one of ${AUTH_FLAGS}` +
        (chosen.length === 0 ? "" : `, got ${chosen.map((name) => `--${name}`).join(" and ")}`),
    );
  }
  const claims = {
    issuer: stringOption(values, "issuer"),
    audience: stringOption(values, "audience"),
  };
  for (const [name, value] of Object.entries(claims)) {
    if (value === "") throw new UsageError(`--${name} expects a non-empty ${name}`);
  }
  const secretEnv = stringOption(values, "auth-secret-env");
  const publicKey = stringOption(values, "auth-public-key");
  const jwks = stringOption(values, "auth-jwks");
  if (secretEnv !== undefined) {
    const secret = process.env[secretEnv] ?? "";
    if (secret === "") {
      throw new UsageError(
        `--auth-secret-env ${secretEnv}: the environment variable ${secretEnv} is not set or empty`,
      );
    }
    const auth: AuthOptions = { secret, ...claims };
    return { auth, authFlag: `--auth-secret-env ${secretEnv}`, secret };
  }
  if (publicKey !== undefined) {
    const pem = await readTextOption("--auth-public-key", publicKey);
    const auth: AuthOptions = { publicKey: pem, ...claims };
    return { auth, authFlag: `--auth-public-key ${publicKey}`, secret: "" };
  }
  if (jwks !== undefined) {
    const auth: AuthOptions = { jwksUrl: jwks, ...claims };
    return { auth, authFlag: "--auth-jwks", secret: "" };
  }
  if (!isLoopback(listen.hostname)) {
    throw new UsageError(
      `--no-auth lets anyone who connects read and write every store: refused on ` +
        `${listen.hostname}, which is not a loopback address (127.0.0.0/8, ::1, localhost); ` +
        "listen on 127.0.0.1, or check tokens with --auth-secret-env, --auth-public-key or " +
        "--auth-jwks",
    );
  }
  if (claims.issuer !== undefined || claims.audience !== undefined) {
    throw new UsageError(
      `--${claims.issuer !== undefined ? "issuer" : "audience"} checks tokens: give it with ` +
        "--auth-secret-env, --auth-public-key or --auth-jwks, not --no-auth",
    );
  }
  const auth: AuthOptions = { none: true };
  return { auth, authFlag: "--no-auth", secret: "" };
}

/** The certificate and key of `--cert` and `--key`: both or neither. */
async function tlsOf(values: OptionValues): Promise<{ cert: string; key: string } | undefined> {
  const cert = stringOption(values, "cert");
  const key = stringOption(values, "key");
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      `${cert === undefined ? "--key" : "--cert"} needs ${
        cert === undefined ? "--cert" : "--key"
      }` +
        ": https takes a certificate and its private key",
    );
  }
  return { cert: await readTextOption("--cert", cert), key: await readTextOption("--key", key) };
}

/** The origins of `--cors`, each checked. */
function corsOf(values: OptionValues): string[] {
  const origins = listOption(values, "cors");
  for (const origin of origins) {
    if (origin !== "*" && !(URL.canParse(origin) && new URL(origin).origin === origin)) {
      throw new UsageError(
        `--cors expects an origin (scheme, host and port only, e.g. https://app.example.com) ` +
          `or *, got ${JSON.stringify(origin)}`,
      );
    }
  }
  return origins;
}

/** The settings `values` give, checked; files named are read. */
export async function serveSettings(values: OptionValues): Promise<ServeSettings> {
  const listen = parseListen(stringOption(values, "listen") ?? DEFAULT_LISTEN);
  const { auth, authFlag, secret } = await authOf(values, listen);
  const tls = await tlsOf(values);
  const cors = corsOf(values);
  return { listen, auth, authFlag, secret, tls, cors };
}
