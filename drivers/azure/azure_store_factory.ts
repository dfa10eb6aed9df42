/**
 * The Azure Table Storage driver's factory.
 *
 * @module
 */

import {
  AzureNamedKeyCredential,
  TableClient,
  TableServiceClient,
  type TableServiceClientOptions,
} from "@azure/data-tables";
import {
  type ReadOptions,
  type StoreFactory,
  type StoreId,
  StreamkitError,
  validateStoreId,
} from "@streamkit/core";
import {
  type BackendLimits,
  BackendStoreFactory,
  type BackendStoreFactoryOptions,
  resolveLimits,
  type StoreBackend,
} from "@streamkit/core/driver";
import { AzureBackend } from "./_azure_backend.ts";
import { commitStepHookOf, ownClockOf } from "./_commit_hooks.ts";
import {
  AzureRequests,
  type CredentialKind,
  type RetryPolicy,
  TokenCredentialError,
} from "./_requests.ts";
import { AzureTable, MAX_SPACE_SHARDS } from "./_table.ts";
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
  /**
   * Other processes' pending markers are resolved once this old by the table's time, in ms:
   * completed if their chunk committed, else abandoned after fencing the segment's head (so a
   * late commit can only fail); default 2 s. Readers of a space wait at most about this long
   * behind a writer that died.
   */
  abandonedMarkerMs?: number;
  /**
   * How far this process's clock may be from the table's time, in ms; default 500. Checked on
   * every pending marker written: beyond it, produce fails with `ClockSkew` and writes nothing.
   */
  maxClockSkewMs?: number;
  /**
   * Shards of a space's index, 1 to 32; default 4. Azure serves about 2,000 entities/s per
   * partition, and every entry of a space is written to its space index too: each shard is a
   * partition, so a space takes about 2,000 entries/s per shard. Every space read asks each
   * shard. Recorded in the store's table when the store is created and fixed for its life: an
   * existing store keeps its own count (a table without that record counts as 1).
   */
  spaceShards?: number;
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

/** What Azure takes at most, whatever the options say. */
const AZURE_CEILINGS: BackendLimits = {
  /** The most operations of one entity group transaction (100) less the head row, with margin. */
  maxChunkRecords: 90,
  /**
   * A chunk travels base64-encoded (4/3) in one transaction body of at most 4 MiB, and so do its
   * space rows (with longer keys): with 200-byte names 90 records of 2.82 MiB still fit
   * (measured).
   */
  maxChunkBytes: 2.5 * 1024 * 1024,
  /**
   * An entity holds at most 1 MiB, and Azurite measures an upserted entity (the space row) as
   * its JSON body, binary in base64: with 200-byte names the largest incompressible payload that
   * fits is about 765 KiB (measured). The cap leaves room for names and metadata; a larger
   * payload would commit its chunk and then fail its fanout for good.
   */
  maxPayloadBytes: 704 * 1024,
};
/**
 * Chunks as large as Azure takes; payloads of 512 KiB (the least an Azure store promises) unless
 * raised.
 */
const DEFAULT_LIMITS: BackendLimits = { ...AZURE_CEILINGS, maxPayloadBytes: 512 * 1024 };
const NIL_STORE_ID = "00000000-0000-0000-0000-000000000000";
const DEFAULT_SPACE_SHARDS = 4;
/** Other processes' markers are resolved once this old (table time), in ms (I12). */
const DEFAULT_ABANDONED_MARKER_MS = 2_000;
/** How far a writer's clock may be from the table's time, in ms (I15). */
const DEFAULT_MAX_CLOCK_SKEW_MS = 500;
const DEFAULT_RETRY: RetryPolicy = { maxRetries: 6, baseDelayMs: 50, maxDelayMs: 2_000 };

function invalid(message: string): StreamkitError {
  return new StreamkitError("InvalidArgument", message);
}

/** The defaults with the user's overrides, checked by core and against Azure's ceilings. */
function azureLimits(overrides: Partial<BackendLimits> | undefined): BackendLimits {
  const limits = resolveLimits(DEFAULT_LIMITS, overrides);
  for (const name of Object.keys(AZURE_CEILINGS) as (keyof BackendLimits)[]) {
    if (limits[name] > AZURE_CEILINGS[name]) {
      throw invalid(
        `limits.${name}: at most ${AZURE_CEILINGS[name]} on Azure, got ${limits[name]}`,
      );
    }
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
    throw new StreamkitError(
      "InvalidArgument",
      `${argument}: http: is refused; set allowInsecureHttp for the emulator only`,
      { code: "InsecureEndpoint" },
    );
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
  /** The account's table service: for listing tables. */
  service(): TableServiceClient;
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
    const service = () => TableServiceClient.fromConnectionString(connectionString, clientOptions);
    return { kind: "connection string", client, service };
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
      service: () => new TableServiceClient(endpoint, credential, clientOptions),
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
    service: () => new TableServiceClient(endpoint, credential, clientOptions),
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
export class AzureStoreFactory extends BackendStoreFactory implements StoreFactory {
  #connection: Connection;
  #tablePrefix: string | undefined;
  #limits: BackendLimits;
  #requests: AzureRequests;
  #abandonedMarkerMs: number;
  #maxClockSkewMs: number;
  #sweepIntervalMs: number;
  #spaceShards: number;

  /** Checks the options; throws `InvalidArgument` naming the option at fault. */
  constructor(options: AzureStoreFactoryOptions) {
    super(options);
    this.#connection = connect(options ?? {});
    this.#tablePrefix = options.tablePrefix;
    this.#limits = azureLimits(options.limits);
    const retry: RetryPolicy = {
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
    this.#requests = new AzureRequests(retry, this.#connection.kind);
    this.#abandonedMarkerMs = positiveOrZero(
      "abandonedMarkerMs",
      options.abandonedMarkerMs,
      DEFAULT_ABANDONED_MARKER_MS,
    );
    this.#maxClockSkewMs = positiveOrZero(
      "maxClockSkewMs",
      options.maxClockSkewMs,
      DEFAULT_MAX_CLOCK_SKEW_MS,
    );
    this.#sweepIntervalMs = positiveOrZero("sweepIntervalMs", options.sweepIntervalMs, 180_000);
    this.#spaceShards = positiveOrZero("spaceShards", options.spaceShards, DEFAULT_SPACE_SHARDS);
    if (this.#spaceShards < 1 || this.#spaceShards > MAX_SPACE_SHARDS) {
      throw invalid(`spaceShards: must be 1 to ${MAX_SPACE_SHARDS}, got ${this.#spaceShards}`);
    }
    azureTableName(options.tablePrefix, NIL_STORE_ID);
  }

  /**
   * The ids of the stores in the account under this factory's `tablePrefix`, in ascending
   * order: the tables named `<prefix><store id without dashes>` (see `azureTableName`). Needs
   * a credential that may list the account's tables.
   *
   * @example
   * ```ts ignore
   * import { AzureStoreFactory } from "@streamkit/azure";
   * await using factory = new AzureStoreFactory({
   *   connectionString: Deno.env.get("AZURE_STORAGE_CONNECTION_STRING")!,
   *   tablePrefix: "orders",
   * });
   * for (const storeId of await factory.listStores()) console.log(storeId);
   * ```
   */
  async listStores(options: ReadOptions = {}): Promise<StoreId[]> {
    // The prefix as table names carry it: sanitised, maybe cut (ids are the last 32 characters).
    const prefix = azureTableName(this.#tablePrefix, NIL_STORE_ID).slice(0, -32).toLowerCase();
    const service = this.#connection.service();
    const storeIds: StoreId[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.#requests.send("list the tables of the account", async () => {
        const next = await service.listTables().byPage({ continuationToken }).next();
        return next.done ? undefined : next.value;
      }, { signal: options.signal });
      if (!page) break;
      for (const { name } of page) {
        // Table names are case-insensitive; Azure keeps the case they were created with.
        const lower = name?.toLowerCase() ?? "";
        const id = lower.slice(prefix.length);
        if (lower.startsWith(prefix) && /^[0-9a-f]{32}$/.test(id)) {
          storeIds.push(validateStoreId(
            `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${
              id.slice(20)
            }`,
          ));
        }
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return storeIds.sort();
  }

  /** Opens (creating) the table of store `storeId`, then completes what crashed writers left. */
  protected async openBackend(storeId: StoreId): Promise<StoreBackend> {
    const name = azureTableName(this.#tablePrefix, storeId);
    const client = this.#connection.client(name);
    await this.#requests.send(`open table ${name} of store ${storeId}`, () => client.createTable());
    const table = new AzureTable(client, this.#requests);
    const backend = new AzureBackend(table, {
      limits: this.#limits,
      spaceShards: await table.spaceShards(this.#spaceShards),
      abandonedMarkerMs: this.#abandonedMarkerMs,
      maxClockSkewMs: this.#maxClockSkewMs,
      afterCommitStep: commitStepHookOf(this),
      ownClock: ownClockOf(this),
    });
    await backend.recover();
    if (this.#sweepIntervalMs > 0) backend.startSweep(this.#sweepIntervalMs);
    return backend;
  }
}
