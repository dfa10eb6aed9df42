// Where a command works: the database named by --db (LevelDB, memory, Azure or a streamkit
// server) and the store in it named by --store (or the only one there). Azure and servers connect
// with secrets from environment variables, whose values are kept out of every message.

import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import process from "node:process";
import {
  type Store,
  type StoreFactory,
  type StoreId,
  StreamkitError,
  validateStoreId,
} from "@streamkit/core";
import type { AzureStoreFactory } from "@streamkit/azure";
import { LevelStoreFactory } from "@streamkit/level";
import { MemoryStoreFactory } from "@streamkit/memory";
import { RemoteStoreFactory } from "@streamkit/remote";
import { flagOption, type OptionSpecs, type OptionValues, stringOption } from "./_args.ts";
import { NotFound, UsageError } from "./_errors.ts";

/** The database the demo and `streamkit` use when `--db` is not given. */
export const DEFAULT_DB = "level:./.streamkit-data";

const ENV_CONNECTION_STRING = "STREAMKIT_AZURE_CONNECTION_STRING";
const ENV_ACCOUNT_NAME = "STREAMKIT_AZURE_ACCOUNT_NAME";
const ENV_ACCOUNT_KEY = "STREAMKIT_AZURE_ACCOUNT_KEY";
const ENV_ENDPOINT = "STREAMKIT_AZURE_ENDPOINT";
/** The bearer token sent to a server (`--db http(s)://...`). */
export const ENV_TOKEN = "STREAMKIT_TOKEN";

/** What `--db` (and `--to`) may name, for messages. */
export const DB_VALUE = "level:<dir>, memory:, azure or http(s)://<host>:<port>[/<path>]";

/** The options naming a database: every command but `help` takes them. */
export const DATABASE_OPTIONS: OptionSpecs = {
  db: {
    type: "string",
    value: "<db>",
    expects: `a database: ${DB_VALUE}`,
    help: `the database: level:<dir> (default ${DEFAULT_DB}), memory: (empty, for trying ` +
      `things out), azure (connection from ${ENV_CONNECTION_STRING}, or ${ENV_ACCOUNT_NAME}, ` +
      `${ENV_ACCOUNT_KEY} and optionally ${ENV_ENDPOINT}), or http(s)://<host>:<port>[/<path>] ` +
      `(a \`streamkit serve\` server; the bearer token from ${ENV_TOKEN})`,
  },
  "allow-insecure-http": {
    type: "boolean",
    help: "azure: allow an http: endpoint (for the Azurite emulator only)",
  },
  "table-prefix": {
    type: "string",
    value: "<prefix>",
    expects: "a table name prefix (letters and digits)",
    help: "azure: the prefix of the stores' table names (default streamkit)",
  },
};

/** The option naming a store. */
export const STORE_OPTIONS: OptionSpecs = {
  store: {
    type: "string",
    value: "<uuid>",
    expects: "a store id (a UUID)",
    help: "the store; may be left out when the database holds exactly one",
  },
};

/**
 * An open database: its name and its store factory, whose `listStores` lists the stores it holds
 * (`memory:`, empty in every process, has none).
 */
export interface Database extends AsyncDisposable {
  /** The database as given (`level:./data`, `memory:`, `azure`): never holds a secret. */
  readonly name: string;
  /**
   * Which stores `listStores` shows, when not all (a server: those the token may read), for
   * messages: `" that the token may read"`; empty otherwise.
   */
  readonly listed: string;
  readonly factory: StoreFactory;
  close(): Promise<void>;
}

function database(name: string, factory: StoreFactory, listed = ""): Database {
  return {
    name,
    listed,
    factory,
    close: () => factory.close(),
    [Symbol.asyncDispose]: () => factory.close(),
  };
}

/** The Azure settings the environment holds, checked: exactly one way in. */
function azureOptions(flag: string) {
  const env = (name: string) => process.env[name] || undefined;
  const connectionString = env(ENV_CONNECTION_STRING);
  const accountName = env(ENV_ACCOUNT_NAME);
  const accountKey = env(ENV_ACCOUNT_KEY);
  const endpoint = env(ENV_ENDPOINT);
  if (connectionString !== undefined) {
    if (accountName !== undefined || accountKey !== undefined || endpoint !== undefined) {
      throw new UsageError(
        `${flag} azure: set either ${ENV_CONNECTION_STRING} or ${ENV_ACCOUNT_NAME} and ` +
          `${ENV_ACCOUNT_KEY} (and ${ENV_ENDPOINT}), not both`,
      );
    }
    return { connectionString };
  }
  if (accountName === undefined || accountKey === undefined) {
    throw new UsageError(
      `${flag} azure: set ${ENV_CONNECTION_STRING}, or ${ENV_ACCOUNT_NAME} and ${ENV_ACCOUNT_KEY} ` +
        `(and ${ENV_ENDPOINT} for another endpoint than the account's, e.g. Azurite)`,
    );
  }
  return { accountName, accountKey, endpoint };
}

/**
 * The secrets the environment holds: for Azure the account key and the connection string with
 * its key or signature, for a server the token. Every message `streamkit` prints is cleaned of
 * them.
 */
export function secretsFromEnvironment(): string[] {
  const secrets: string[] = [];
  const token = process.env[ENV_TOKEN];
  if (token) secrets.push(token);
  const accountKey = process.env[ENV_ACCOUNT_KEY];
  if (accountKey) secrets.push(accountKey);
  const connectionString = process.env[ENV_CONNECTION_STRING];
  if (connectionString) {
    secrets.push(connectionString);
    for (const setting of connectionString.split(";")) {
      const at = setting.indexOf("=");
      const key = setting.slice(0, at).trim().toLowerCase();
      if (key === "accountkey" || key === "sharedaccesssignature") {
        secrets.push(setting.slice(at + 1).trim());
      }
    }
  }
  // Longest first: a secret that contains another is replaced whole.
  return secrets.sort((a, b) => b.length - a.length);
}

async function azureDatabase(
  name: string,
  flag: string,
  values: OptionValues,
): Promise<Database> {
  const allowInsecureHttp = flagOption(values, "allow-insecure-http");
  const options = azureOptions(flag);
  // Loaded for --db azure only: on Node, the Azure SDK is most of the command's start-up time.
  const { AzureStoreFactory } = await import("@streamkit/azure");
  let factory: AzureStoreFactory;
  try {
    factory = new AzureStoreFactory({
      ...options,
      allowInsecureHttp,
      tablePrefix: stringOption(values, "table-prefix"),
    });
  } catch (error) {
    if (error instanceof StreamkitError && error.code === "InsecureEndpoint") {
      throw new UsageError(
        `${flag} azure: the endpoint is http:, which is refused; add --allow-insecure-http ` +
          "(for the Azurite emulator only)",
      );
    }
    // The driver names the setting at fault, never its secret value.
    throw new UsageError(`${flag} azure: ${(error as Error).message}`);
  }
  return database(name, factory);
}

/**
 * A server's address given as `flag`, checked: http or https, with a host, without user info,
 * query or fragment (the token comes from the environment, never from the command line).
 */
function serverUrl(flag: string, spec: string): URL {
  const url = URL.canParse(spec) ? new URL(spec) : undefined;
  if (url === undefined || url.hostname === "") {
    throw new UsageError(
      `${flag} expects a server's address http(s)://<host>:<port>[/<path>], got ` +
        // The spec may hold user info that is a secret: the host part is not shown.
        JSON.stringify(spec.replace(/\/\/[^/]*@/, "//***@")),
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new UsageError(
      `${flag} ${url.protocol}//***@${url.host}: a server's address holds no credentials; ` +
        `set the token in ${ENV_TOKEN}`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(
      `${flag} ${url.origin}${url.pathname}: a server's address takes no query or fragment ` +
        `(the token goes in ${ENV_TOKEN})`,
    );
  }
  return url;
}

/** The server at `spec`, with the token from the environment (if set). */
function remoteDatabase(flag: string, spec: string): Database {
  const url = serverUrl(flag, spec);
  const name = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  const token = process.env[ENV_TOKEN] || undefined;
  return database(
    name,
    new RemoteStoreFactory({ url: name, token }),
    ` that the token (${ENV_TOKEN}) may read`,
  );
}

/**
 * Throws {@linkcode NotFound} when the LevelDB directory `path` is not there: a command that
 * only reads says so rather than list an empty database (and creates no directory).
 */
async function assertDirectory(flag: string, spec: string, path: string): Promise<void> {
  // A relative path is shown resolved: the default one depends on the working directory.
  const where = resolve(path);
  const directory = where === path ? "the directory" : `the directory ${where}`;
  let isDirectory;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Anything else (permission denied) is the driver's to tell, as it is when writing.
    if (code !== "ENOENT" && code !== "ENOTDIR") return;
    throw new NotFound(
      `${flag} ${spec}: ${directory} does not exist`,
      "commands that write, such as append and import, create it",
    );
  }
  if (!isDirectory) throw new NotFound(`${flag} ${spec}: ${where} is not a directory`);
}

/**
 * Opens the database `spec` names (given as `flag`, `--db` or `--to`); the Azure options
 * `--allow-insecure-http` and `--table-prefix` come from `values`. Throws a usage error for
 * anything but `level:<dir>`, `memory:`, `azure` and a server's `http(s):` address; with
 * `mustExist` (commands that only read), {@linkcode NotFound} for a LevelDB directory that does
 * not exist. Without it, the directory is created when a store is.
 */
export async function openDatabase(
  flag: string,
  spec: string,
  values: OptionValues,
  options: { mustExist?: boolean } = {},
): Promise<Database> {
  if (spec.startsWith("level:")) {
    const path = spec.slice("level:".length);
    if (path === "") throw new UsageError(`${flag} expects level:<dir>, with a directory`);
    if (options.mustExist) await assertDirectory(flag, spec, path);
    return database(spec, new LevelStoreFactory({ path }));
  }
  if (spec === "memory:" || spec === "memory") return database("memory:", new MemoryStoreFactory());
  if (spec === "azure" || spec === "azure:") return await azureDatabase("azure", flag, values);
  if (/^https?:/i.test(spec)) return remoteDatabase(flag, spec);
  if (spec.startsWith("azure:")) {
    throw new UsageError(
      `${flag} azure takes its connection from the environment (${ENV_CONNECTION_STRING}, or ` +
        `${ENV_ACCOUNT_NAME} and ${ENV_ACCOUNT_KEY}), never from the command line`,
    );
  }
  throw new UsageError(`${flag} expects a database: ${DB_VALUE}, got ${JSON.stringify(spec)}`);
}

/**
 * Whether two database specs name the same database: the same LevelDB directory however it is
 * spelled, the same server address, or both azure (one account, one table prefix: the
 * environment and the options are shared).
 */
export function sameDatabase(a: string, b: string): boolean {
  const level = (spec: string) => spec.startsWith("level:") ? resolve(spec.slice(6)) : undefined;
  const levelA = level(a);
  if (levelA !== undefined) return levelA === level(b);
  const server = (spec: string) =>
    /^https?:/i.test(spec) && URL.canParse(spec)
      ? new URL(spec).href.replace(/\/+$/, "")
      : undefined;
  const serverA = server(a);
  if (serverA !== undefined) return serverA === server(b);
  const kind = (spec: string) => spec.replace(/:$/, "");
  return kind(a) === "azure" && kind(b) === "azure";
}

/** The database `--db` names (or the default); `options` as {@linkcode openDatabase}'s. */
export function sourceDatabase(
  values: OptionValues,
  options: { mustExist?: boolean } = {},
): Promise<Database> {
  return openDatabase("--db", stringOption(values, "db") ?? DEFAULT_DB, values, options);
}

/** A store id given as `flag`, checked and lower-cased. */
export function storeIdOption(flag: string, value: string): StoreId {
  try {
    return validateStoreId(value);
  } catch {
    throw new UsageError(`${flag} expects a store id (a UUID), got ${JSON.stringify(value)}`);
  }
}

/**
 * The store a command works on: the one `--store` names (`requested`) or, when it is not
 * given, the only store the database holds. With `mustExist` (commands that only read) a
 * requested store must be there: reading never creates one.
 */
async function selectStore(
  database: Database,
  requested: string | undefined,
  options: { mustExist: boolean; signal?: AbortSignal },
): Promise<StoreId> {
  const flag = "--store";
  const storeId = requested === undefined ? undefined : storeIdOption(flag, requested);
  const storeIds = storeId !== undefined && !options.mustExist
    ? undefined
    : await database.factory.listStores?.({ signal: options.signal });
  if (storeId !== undefined) {
    if (storeIds !== undefined && !storeIds.includes(storeId)) {
      throw new UsageError(
        `${flag}: ${database.name} holds no store ${storeId}${database.listed} ` +
          "(`streamkit stores` lists them)",
      );
    }
    return storeId;
  }
  if (storeIds?.length === 1) return storeIds[0];
  if (storeIds !== undefined && storeIds.length > 1) {
    throw new UsageError(
      `${flag}: ${database.name} holds ${storeIds.length} stores: name one with ${flag} <uuid> ` +
        "(`streamkit stores` lists them)",
    );
  }
  throw new UsageError(
    `${flag}: ${database.name} holds no store${database.listed}` +
      (options.mustExist
        ? ""
        : `: name the store to create with ${flag} <uuid>, e.g. ${flag} ${crypto.randomUUID()}`),
  );
}

/** Where a command's store is: its database and id. */
export interface StorePlace {
  database: Database;
  storeId: StoreId;
}

/**
 * Runs `use` on the store `--db` and `--store` select (see {@linkcode selectStore}), then closes
 * the store and its database. With `mustExist`, a LevelDB directory must exist too.
 */
export async function withSelectedStore<T>(
  values: OptionValues,
  options: { mustExist: boolean; signal: AbortSignal },
  use: (store: Store, place: StorePlace) => Promise<T>,
): Promise<T> {
  await using database = await sourceDatabase(values, { mustExist: options.mustExist });
  const storeId = await selectStore(database, stringOption(values, "store"), options);
  await using store = await database.factory.newStore(storeId);
  return await use(store, { database, storeId });
}
