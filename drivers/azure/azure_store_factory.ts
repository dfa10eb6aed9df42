/**
 * The Azure Table Storage driver's factory.
 *
 * @module
 */

import {
  AzureNamedKeyCredential,
  TableClient,
  type TableServiceClientOptions,
} from "@azure/data-tables";
import {
  type BackendLimits,
  BackendStoreFactory,
  type BackendStoreFactoryOptions,
  type StoreBackend,
  type StoreId,
  StreamkitError,
} from "@streamkit/core";
import { AzureBackend, type CommitStep } from "./_azure_backend.ts";
import {
  type CredentialKind,
  type RetryPolicy,
  TokenCredentialError,
  toStreamkitError,
  withRetry,
} from "./_errors.ts";
import { azureTableName } from "./table_name.ts";

/**
 * Options of {@linkcode AzureStoreFactory}. Give exactly one way in: `connectionString`,
 * `accountName` + `accountKey`, or `credential` (with `endpoint` or `accountName`).
 *
 * @example
 * ```ts
 * import type { AzureStoreFactoryOptions } from "@streamkit/azure";
 * const options: AzureStoreFactoryOptions = {
 *   accountName: "mystorageaccount",
 *   accountKey: "<key from the portal>",
 *   tablePrefix: "orders",
 * };
 * ```
 */
export interface AzureStoreFactoryOptions extends BackendStoreFactoryOptions {
  /** The table service endpoint; default `https://<accountName>.table.core.windows.net`. */
  endpoint?: string;
  /** The storage account's name. */
  accountName?: string;
  /** The storage account's key (with `accountName`). */
  accountKey?: string;
  /** A storage connection string (its `TableEndpoint` or account settings). */
  connectionString?: string;
  /** A token credential, e.g. `DefaultAzureCredential` or `ManagedIdentityCredential`. */
  credential?: AzureTokenCredential;
  /** Prefix of every table name: `<prefix><storeId without dashes>`, sanitised; default `streamkit`. */
  tablePrefix?: string;
  /** Allows `http:` endpoints: for the emulator (Azurite) only. */
  allowInsecureHttp?: boolean;
  /** Overrides of the limits: payloads up to 512 KiB (at most 704 KiB), chunks of 90 records and 2.5 MiB (at most). */
  limits?: Partial<BackendLimits>;
  /** Retries of transient failures (408, 429, 5xx, network faults). */
  retry?: Partial<RetryPolicy>;
  /** How often the background sweep completes pending fanouts, in ms; default 3 minutes, 0: never. */
  sweepIntervalMs?: number;
  /** A pending marker whose commit never happened is deleted once this old, in ms; default 60 s. */
  abandonedMarkerMs?: number;
  /** For fault-injection tests: runs after each commit step; throwing simulates a crash there. */
  afterCommitStep?: (step: CommitStep) => void | Promise<void>;
}

/**
 * A token credential, as `@azure/identity` provides them (`DefaultAzureCredential`,
 * `ManagedIdentityCredential`, ...): what the driver uses of `@azure/core-auth`'s
 * `TokenCredential`.
 *
 * @example
 * ```ts
 * import type { AzureTokenCredential } from "@streamkit/azure";
 * const fixed: AzureTokenCredential = {
 *   getToken: () => Promise.resolve({ token: "<token>", expiresOnTimestamp: Date.now() + 3_600_000 }),
 * };
 * ```
 */
export interface AzureTokenCredential {
  /** A token for `scopes`, or `null` when none can be had. */
  getToken(
    scopes: string | string[],
    options?: object,
  ): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** The most operations of one entity group transaction (100) less the head row, with margin. */
const MAX_CHUNK_RECORDS = 90;
const DEFAULT_LIMITS: BackendLimits = {
  maxPayloadBytes: 512 * 1024,
  maxChunkRecords: MAX_CHUNK_RECORDS,
  // Binary travels as base64 (4/3): 2.5 MiB stays under a transaction's 4 MiB.
  maxChunkBytes: 2.5 * 1024 * 1024,
};
/**
 * An entity holds at most 1 MiB, and Azurite measures an upserted entity (the space row) as its
 * JSON body, binary in base64: with 200-byte names the largest incompressible payload that fits
 * is about 765 KiB (measured). The cap leaves room for names and metadata; a larger payload would
 * commit its chunk and then fail its fanout for good.
 */
const MAX_PAYLOAD_BYTES = 704 * 1024;
/**
 * A chunk travels base64-encoded in one transaction body of at most 4 MiB, and so do its space
 * rows (with longer keys): with 200-byte names 90 records of 2.82 MiB still fit (measured).
 */
const MAX_CHUNK_BYTES = DEFAULT_LIMITS.maxChunkBytes;
const DEFAULT_RETRY: RetryPolicy = { maxRetries: 6, baseDelayMs: 50, maxDelayMs: 2_000 };

function invalid(message: string): StreamkitError {
  return new StreamkitError("InvalidArgument", message);
}

function checkLimits(overrides: Partial<BackendLimits> = {}): BackendLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw invalid(`limits.${name}: must be a positive safe integer, got ${String(value)}`);
    }
  }
  if (limits.maxChunkRecords > MAX_CHUNK_RECORDS) {
    throw invalid(
      `limits.maxChunkRecords: at most ${MAX_CHUNK_RECORDS} on Azure, got ${limits.maxChunkRecords}`,
    );
  }
  if (limits.maxChunkBytes > MAX_CHUNK_BYTES) {
    throw invalid(
      `limits.maxChunkBytes: at most ${MAX_CHUNK_BYTES} on Azure, got ${limits.maxChunkBytes}`,
    );
  }
  if (limits.maxPayloadBytes > MAX_PAYLOAD_BYTES) {
    throw invalid(
      `limits.maxPayloadBytes: at most ${MAX_PAYLOAD_BYTES} on Azure, got ${limits.maxPayloadBytes}`,
    );
  }
  return limits;
}

function checkEndpoint(endpoint: string, allowInsecureHttp: boolean, argument: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalid(`${argument}: not a URL`);
  }
  if (url.protocol === "http:" && !allowInsecureHttp) {
    throw invalid(`${argument}: http: is refused; set allowInsecureHttp for the emulator only`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid(`${argument}: must be an https: URL`);
  }
}

/** The table endpoint a connection string names, for the http: check. */
function connectionStringEndpoint(connectionString: string): string | undefined {
  const settings = new Map(
    connectionString.split(";").filter(Boolean).map((pair) => {
      const at = pair.indexOf("=");
      return [pair.slice(0, at).trim().toLowerCase(), pair.slice(at + 1).trim()] as const;
    }),
  );
  const endpoint = settings.get("tableendpoint");
  if (endpoint) return endpoint;
  if (settings.get("usedevelopmentstorage") === "true") return "http://127.0.0.1:10002";
  return settings.get("defaultendpointsprotocol") === "http" ? "http://account" : undefined;
}

interface Connection {
  kind: CredentialKind;
  client(table: string): TableClient;
}

function connect(options: AzureStoreFactoryOptions): Connection {
  const allowInsecureHttp = options.allowInsecureHttp === true;
  const clientOptions: TableServiceClientOptions = {
    allowInsecureConnection: allowInsecureHttp,
    // The driver retries itself: it knows which calls are safe to repeat and honours abort.
    retryOptions: { maxRetries: 0 },
  };
  const ways = [
    options.connectionString !== undefined,
    options.accountKey !== undefined,
    options.credential !== undefined,
  ].filter(Boolean).length;
  if (ways !== 1) {
    throw invalid(
      "options: give exactly one of connectionString, accountName + accountKey, or credential",
    );
  }
  if (options.connectionString !== undefined) {
    if (typeof options.connectionString !== "string" || options.connectionString === "") {
      throw invalid("connectionString: must be a non-empty string");
    }
    for (const other of ["endpoint", "accountName"] as const) {
      if (options[other] !== undefined) {
        throw invalid(`${other}: not used with connectionString (it names the account itself)`);
      }
    }
    const endpoint = connectionStringEndpoint(options.connectionString);
    if (endpoint) checkEndpoint(endpoint, allowInsecureHttp, "connectionString's endpoint");
    const connectionString = options.connectionString;
    const client = (table: string) => {
      try {
        return TableClient.fromConnectionString(connectionString, table, clientOptions);
      } catch {
        // The SDK's message may quote the string, secret included.
        throw invalid("connectionString: not a valid storage connection string");
      }
    };
    // Checked now, not at the first newStore.
    client("streamkit");
    return { kind: "connection string", client };
  }
  const accountName = options.accountName;
  if (
    accountName !== undefined &&
    (typeof accountName !== "string" || !/^[a-z0-9]{3,24}$/.test(accountName))
  ) {
    throw invalid("accountName: must be 3-24 lower-case letters and digits");
  }
  if (options.accountKey !== undefined && !accountName) {
    throw invalid("accountName: required with accountKey");
  }
  const endpoint = options.endpoint ??
    (accountName ? `https://${accountName}.table.core.windows.net` : undefined);
  if (endpoint === undefined) throw invalid("endpoint: give endpoint or accountName");
  checkEndpoint(endpoint, allowInsecureHttp, "endpoint");
  if (options.accountKey !== undefined) {
    if (typeof options.accountKey !== "string" || options.accountKey === "") {
      throw invalid("accountKey: must be a non-empty string");
    }
    const credential = new AzureNamedKeyCredential(accountName!, options.accountKey);
    return {
      kind: "account key",
      client: (table) => new TableClient(endpoint, table, credential, clientOptions),
    };
  }
  const given = options.credential!;
  if (typeof given?.getToken !== "function") {
    throw invalid("credential: must be a TokenCredential (with getToken)");
  }
  if (new URL(endpoint).protocol === "http:") {
    // The SDK refuses to send a bearer token over http:, whatever allowInsecureConnection says.
    throw invalid(
      "endpoint: a token credential needs an https: endpoint (Azure SDKs never send a token " +
        "over http:, even with allowInsecureHttp)",
    );
  }
  // Failures of getToken are told apart from network faults (see TokenCredentialError).
  const credential: AzureTokenCredential = {
    getToken: async (scopes, getTokenOptions) => {
      let token;
      try {
        token = await given.getToken(scopes, getTokenOptions);
      } catch (error) {
        const name = (error as { name?: unknown } | null)?.name;
        throw new TokenCredentialError(
          typeof name === "string" && /^[A-Za-z0-9_]{1,64}$/.test(name) ? name : "Error",
        );
      }
      if (!token) throw new TokenCredentialError("null");
      return token;
    },
  };
  return {
    kind: "token credential",
    client: (table) => new TableClient(endpoint, table, credential, clientOptions),
  };
}

function positiveOrZero(argument: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${argument}: must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Stores in Azure Table Storage: one table per store, shared by every process that opens it.
 * Each chunk commits with one entity group transaction on the segment's partition, conditional
 * on the segment's head (If-Match), so of writers racing anywhere exactly one wins. The space
 * index and inventory are written after the commit point; a pending marker and the head's
 * pending flag let the next writer, `newStore` or the background sweep finish that work after a
 * crash.
 *
 * @example
 * ```ts ignore
 * import { AzureStoreFactory } from "@streamkit/azure";
 * await using factory = new AzureStoreFactory({
 *   connectionString: Deno.env.get("AZURE_STORAGE_CONNECTION_STRING")!,
 * });
 * await using store = await factory.newStore("0f8fad5b-d9cb-469f-a165-70867728950e");
 * for await (const space of store.getSpaces()) console.log(space);
 * ```
 */
export class AzureStoreFactory extends BackendStoreFactory {
  #connection: Connection;
  #options: AzureStoreFactoryOptions;
  #limits: BackendLimits;
  #retry: RetryPolicy;
  #abandonedMarkerMs: number;
  #sweepIntervalMs: number;

  /** Checks the options; throws `InvalidArgument` naming the option at fault. */
  constructor(options: AzureStoreFactoryOptions) {
    super(options);
    this.#connection = connect(options ?? {});
    this.#options = options;
    this.#limits = checkLimits(options.limits);
    this.#retry = {
      maxRetries: positiveOrZero(
        "retry.maxRetries",
        options.retry?.maxRetries,
        DEFAULT_RETRY.maxRetries,
      ),
      baseDelayMs: positiveOrZero(
        "retry.baseDelayMs",
        options.retry?.baseDelayMs,
        DEFAULT_RETRY.baseDelayMs,
      ),
      maxDelayMs: positiveOrZero(
        "retry.maxDelayMs",
        options.retry?.maxDelayMs,
        DEFAULT_RETRY.maxDelayMs,
      ),
    };
    this.#abandonedMarkerMs = positiveOrZero(
      "abandonedMarkerMs",
      options.abandonedMarkerMs,
      60_000,
    );
    this.#sweepIntervalMs = positiveOrZero("sweepIntervalMs", options.sweepIntervalMs, 180_000);
    azureTableName(options.tablePrefix, "00000000-0000-0000-0000-000000000000");
  }

  /** Opens (creating) the table of store `storeId`, then completes what crashed writers left. */
  protected async openBackend(storeId: StoreId): Promise<StoreBackend> {
    const table = azureTableName(this.#options.tablePrefix, storeId);
    const client = this.#connection.client(table);
    try {
      await withRetry(this.#retry, undefined, () => client.createTable());
    } catch (error) {
      throw toStreamkitError(
        error,
        `open table ${table} of store ${storeId}`,
        this.#connection.kind,
      );
    }
    const backend = new AzureBackend(client, {
      limits: this.#limits,
      retry: this.#retry,
      credentialKind: this.#connection.kind,
      pageSize: 1_000,
      abandonedMarkerMs: this.#abandonedMarkerMs,
      afterCommitStep: this.#options.afterCommitStep,
    });
    await backend.recover();
    if (this.#sweepIntervalMs > 0) backend.startSweep(this.#sweepIntervalMs);
    return backend;
  }
}
