// Every request to Azure goes through AzureRequests.send: transient failures are retried, and a
// failure becomes a streamkit error that says what failed and never carries a secret.

import { StreamkitError } from "@streamkit/core";
import { abortableSleep } from "@streamkit/core/driver";

/** How the driver retries transient failures. */
export interface RetryPolicy {
  /** Attempts after the first one. */
  maxRetries: number;
  /** The first backoff; each next one doubles, with full jitter. */
  baseDelayMs: number;
  /** The cap of one backoff. */
  maxDelayMs: number;
}

/** The HTTP status of an Azure SDK error, if it has one. */
function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * The HTTP status Azure answered a failed {@linkcode AzureRequests.send} with: that of the
 * streamkit error's cause (see `AzureRequestError`), or of the error itself.
 */
export function requestStatusOf(error: unknown): number | undefined {
  return httpStatusOf(error instanceof StreamkitError ? error.cause : error);
}

/**
 * The service's error code of an Azure SDK error: a failed transaction carries it in `code`, a
 * failed single-entity or table operation only in `details` (`errorCode`, `odataError.code`).
 * Only a plain identifier is taken, never free text.
 */
function serviceCodeOf(error: unknown): string | undefined {
  const e = error as {
    code?: unknown;
    details?: { errorCode?: unknown; odataError?: { code?: unknown } };
  } | null;
  for (const code of [e?.code, e?.details?.errorCode, e?.details?.odataError?.code]) {
    if (typeof code === "string" && /^[A-Za-z0-9_]{1,64}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * A token credential's `getToken` failed (threw or gave no token). The driver wraps the
 * credential so this is told apart from a network fault: it is permanent, and it keeps only the
 * name of the credential's error (its message may quote anything).
 */
export class TokenCredentialError extends Error {
  /** The `name` of the credential's error, e.g. `CredentialUnavailableError`. */
  readonly credentialErrorName: string;

  constructor(credentialErrorName: string) {
    super(`the token credential did not give a token (${credentialErrorName})`);
    this.name = "TokenCredentialError";
    this.credentialErrorName = credentialErrorName;
  }
}

const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  "REQUEST_SEND_ERROR",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
]);

/** Whether a retry may succeed: 408, 429, 5xx, and faults with no HTTP answer at all. */
function isTransientAzureError(error: unknown): boolean {
  if (error instanceof StreamkitError) return error.transient;
  if (error instanceof TokenCredentialError) return false;
  const status = httpStatusOf(error);
  if (status === undefined) {
    // No HTTP answer: a transport fault (the SDK's RestError without a status, or a socket
    // error code) may pass; anything else is a bug that a retry would only repeat.
    const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
    return name === "RestError" || (typeof code === "string" && NETWORK_ERROR_CODES.has(code));
  }
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Runs `attempt`, retrying transient failures with capped, jittered exponential backoff;
 * stops at once on a permanent failure or when `signal` aborts.
 */
async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let retry = 0;; retry++) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (retry >= policy.maxRetries || !isTransientAzureError(error)) throw error;
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
      await abortableSleep(Math.random() * cap, signal);
    }
  }
}

/** Names the credential kind an auth failure came with, and what to check. */
export type CredentialKind = "account key" | "connection string" | "token credential";

/**
 * The cause attached to streamkit errors: status and code of the Azure failure only. The SDK's
 * own error carries the request, whose headers hold a signature derived from the secret.
 */
class AzureRequestError extends Error {
  readonly statusCode: number | undefined;
  readonly code: string | undefined;

  constructor(statusCode: number | undefined, code: string | undefined) {
    super(`Azure Tables answered ${statusCode ?? "nothing"}${code ? ` (${code})` : ""}`);
    this.name = "AzureRequestError";
    this.statusCode = statusCode;
    this.code = code;
  }
}

/** A streamkit error for an Azure failure of `what`; never includes secrets. */
function toStreamkitError(
  error: unknown,
  what: string,
  credentialKind: CredentialKind,
): StreamkitError {
  if (error instanceof StreamkitError) return error;
  if (error instanceof TokenCredentialError) {
    return new StreamkitError(
      "AccessDenied",
      `${what}: ${error.message}; check that the token credential can get a token for ` +
        "https://storage.azure.com (e.g. that a managed identity is assigned to this host, or " +
        "that the developer is signed in for DefaultAzureCredential)",
      { cause: new AzureRequestError(undefined, error.credentialErrorName) },
    );
  }
  const status = httpStatusOf(error);
  const code = serviceCodeOf(error);
  const detail = `${status ?? "no HTTP status"}${code ? ` ${code}` : ""}`;
  const cause = new AzureRequestError(status, code);
  if (status === 401 || status === 403) {
    const check = credentialKind === "token credential"
      ? "check that its tokens are for https://storage.azure.com in the account's tenant and " +
        "that the identity has the 'Storage Table Data Contributor' role on the account"
      : credentialKind === "account key"
      ? "check accountName and accountKey (a key of the account's Access keys) and the account's firewall"
      : "check the connection string's AccountName and AccountKey (or SharedAccessSignature) and the account's firewall";
    return new StreamkitError(
      "AccessDenied",
      `${what}: Azure refused the ${credentialKind} (${detail}); ${check}`,
      { cause },
    );
  }
  if (isTransientAzureError(error)) {
    return new StreamkitError("Unavailable", `${what}: Azure Tables did not answer (${detail})`, {
      cause,
    });
  }
  return new StreamkitError(
    status === 400 ? "InvalidArgument" : "Unavailable",
    `${what}: Azure Tables refused the request (${detail})`,
    { cause, transient: false },
  );
}

/** Options of {@linkcode AzureRequests.send}. */
export interface SendOptions {
  /** Aborts the request and its retries; the send then fails with the signal's reason. */
  signal?: AbortSignal;
  /** A failure with this HTTP status is an expected answer: the send resolves to `undefined`. */
  undefinedOn?: number;
}

/** Sends the requests of one factory's stores: its retry policy, its credential kind for errors. */
export class AzureRequests {
  readonly #retry: RetryPolicy;
  readonly #credentialKind: CredentialKind;

  constructor(retry: RetryPolicy, credentialKind: CredentialKind) {
    this.#retry = retry;
    this.#credentialKind = credentialKind;
  }

  /**
   * Runs `request`, retrying transient failures with capped, jittered backoff; any other failure
   * becomes a streamkit error saying `what` failed.
   */
  send<T>(what: string, request: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  send<T>(
    what: string,
    request: () => Promise<T>,
    options: SendOptions & { undefinedOn: number },
  ): Promise<T | undefined>;
  async send<T>(
    what: string,
    request: () => Promise<T>,
    { signal, undefinedOn }: SendOptions = {},
  ): Promise<T | undefined> {
    try {
      return await withRetry(this.#retry, signal, request);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      if (undefinedOn !== undefined && httpStatusOf(error) === undefinedOn) return undefined;
      throw toStreamkitError(error, what, this.#credentialKind);
    }
  }
}
