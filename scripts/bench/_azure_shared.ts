/**
 * What the two Azure contestants of the benchmark share (the driver "azure" and the raw
 * reference "data-tables"): the scenarios, the child protocol, the table layout of DESIGN 7.3
 * (computed from `@streamkit/core`'s lexkeys, not from the driver's internals) and the rows
 * the driver writes, precomputed for the raw reference.
 *
 * A contestant process gets the Azurite connection string in the environment variable
 * {@linkcode CONNECTION_STRING_ENV} (the orchestrator starts one Azurite for every Azure
 * scenario) and a table prefix of its own on the command line, so each scenario runs on fresh
 * tables.
 *
 * @module
 */

import { compressEntry, encodeKey, type Entry, i64, toHex, u64 } from "../../core/mod.ts";
import { TableClient } from "@azure/data-tables";
import {
  collectGarbage,
  DEFAULT_SEED,
  expectCount,
  type Measured,
  NIL_NODE_ID,
  type Phase,
  SPACE,
  throughput,
} from "./_shared.ts";

/**
 * The Azure scenarios a contestant process can run.
 *
 * @example
 * ```ts ignore
 * const scenario: AzureScenarioName = "azure.produce.8seg";
 * ```
 */
export type AzureScenarioName =
  | "azure.produce.1seg"
  | "azure.produce.8seg"
  | "azure.consumeSegment"
  | "azure.consumeSpace";

/**
 * The environment variable carrying the Azurite connection string to the contestant processes.
 *
 * @example
 * ```ts ignore
 * const connectionString = Deno.env.get(CONNECTION_STRING_ENV);
 * ```
 */
export const CONNECTION_STRING_ENV = "STREAMKIT_BENCH_AZURE_CONNECTION_STRING";

/**
 * Records per chunk: `store.limits.maxChunkRecords` of the Azure driver (one entity group
 * transaction holds at most 100 operations; the driver adds its head row).
 *
 * @example
 * ```ts ignore
 * const chunks = prepareAzureRows("segment-0", payloads, AZURE_CHUNK_RECORDS);
 * ```
 */
export const AZURE_CHUNK_RECORDS = 90;

/**
 * Rows per query page: the driver's page size, and the most Azure returns in one answer.
 *
 * @example
 * ```ts ignore
 * client.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: AZURE_PAGE_SIZE });
 * ```
 */
export const AZURE_PAGE_SIZE = 1_000;

/**
 * The arguments of an Azure contestant process.
 *
 * @example
 * ```ts ignore
 * const args = parseAzureChildArgs(Deno.args);
 * ```
 */
export interface AzureChildArgs {
  scenario: AzureScenarioName;
  phase: Phase;
  entries: number;
  seed: number;
  /** Prefix of the tables of this run: fresh tables for every scenario run. */
  tablePrefix: string;
  /** The Azurite (or account) connection string, from {@linkcode CONNECTION_STRING_ENV}. */
  connectionString: string;
}

/**
 * Reads `--scenario`, `--phase`, `--entries`, `--seed` and `--table-prefix` from `args`, and
 * the connection string from the environment.
 *
 * @example
 * ```ts ignore
 * const args = parseAzureChildArgs(["--scenario", "azure.produce.1seg", "--table-prefix", "b1"]);
 * ```
 */
export function parseAzureChildArgs(args: string[]): AzureChildArgs {
  const value = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const scenario = value("scenario") as AzureScenarioName | undefined;
  const tablePrefix = value("table-prefix");
  const phase = (value("phase") ?? "all") as Phase;
  const connectionString = Deno.env.get(CONNECTION_STRING_ENV);
  if (!scenario || !tablePrefix || !["setup", "measure", "all"].includes(phase)) {
    throw new Error(
      "usage: --scenario NAME --table-prefix P [--phase setup|measure|all] [--entries N] [--seed S]",
    );
  }
  if (!connectionString) throw new Error(`${CONNECTION_STRING_ENV} is not set`);
  return {
    scenario,
    phase,
    tablePrefix,
    connectionString,
    entries: Number(value("entries") ?? 5_000),
    seed: Number(value("seed") ?? DEFAULT_SEED),
  };
}

/**
 * An Azure scenario as a contestant implements it: an optional untimed setup, then the
 * measurement.
 *
 * @example
 * ```ts ignore
 * const run: AzureScenarioRun = { measure: async ({ entries }) => throughput(entries, 1) };
 * ```
 */
export interface AzureScenarioRun {
  setup?: (args: AzureChildArgs) => Promise<void>;
  measure: (args: AzureChildArgs) => Promise<Measured>;
}

/**
 * The main of an Azure contestant process: runs the phase of the scenario named on the command
 * line and prints its result as one JSON line (`{"setup":"done"}` after a setup phase), in the
 * protocol of the level contestants.
 *
 * @example
 * ```ts ignore
 * await runAzureContestant("azure", { "azure.produce.1seg": { measure: produceOne } });
 * ```
 */
export async function runAzureContestant(
  contestant: string,
  scenarios: Record<AzureScenarioName, AzureScenarioRun>,
): Promise<void> {
  const args = parseAzureChildArgs(Deno.args);
  const run = scenarios[args.scenario];
  if (!run) throw new Error(`${contestant}: no scenario ${args.scenario}`);
  if (args.phase !== "measure") await run.setup?.(args);
  if (args.phase === "setup") {
    console.log(JSON.stringify({ setup: "done" }));
    return;
  }
  collectGarbage();
  const measured = await run.measure(args);
  console.log(JSON.stringify({ contestant, scenario: args.scenario, ...measured }));
}

/**
 * Untimed passes before the timed ones, in every Azure contestant process: a pass of 5,000
 * entries is short (0.1 to 1 s), so without them the first pass's JIT warm-up (of this process
 * and of Azurite's handlers) would weigh on every number.
 *
 * @example
 * ```ts ignore
 * console.log(AZURE_PASSES.produce); // { warmUp: 1, timed: 5 }
 * ```
 */
export const AZURE_PASSES = {
  /** Each produce pass writes every entry again, on fresh tables. */
  produce: { warmUp: 1, timed: 5 },
  /** Reads do not change the data: every pass reads the same rows. */
  read: { warmUp: 3, timed: 15 },
} as const;

/**
 * Runs `pass` (resolving to the seconds it took and the entries it saw) for the warm-up passes
 * and then the timed ones, each expected to see `entries`, and reports the median timed pass.
 *
 * @example
 * ```ts ignore
 * const result = await medianPass("consume space", 5_000, AZURE_PASSES.read, readAll);
 * ```
 */
export async function medianPass(
  what: string,
  entries: number,
  passes: { warmUp: number; timed: number },
  pass: (index: number) => Promise<{ seconds: number; count: number }>,
): Promise<Measured> {
  const times: number[] = [];
  for (let i = 0; i < passes.warmUp + passes.timed; i++) {
    collectGarbage();
    const { seconds, count } = await pass(i);
    expectCount(what, count, entries);
    if (i >= passes.warmUp) times.push(seconds);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const seconds = sorted[Math.floor(sorted.length / 2)];
  return {
    ...throughput(entries, seconds),
    details: { passes: times.map((t) => Math.round(entries / t)) },
  };
}

/**
 * A table client configured as the driver's (http allowed for Azurite, no SDK retries).
 *
 * @example
 * ```ts ignore
 * const client = tableClient(args, `${args.tablePrefix}raw`);
 * ```
 */
export function tableClient({ connectionString }: AzureChildArgs, table: string): TableClient {
  return TableClient.fromConnectionString(connectionString, table, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
}

/**
 * Partition of a segment's entries: `hex(DAT,SEGMENTS,space,segment)` (DESIGN 7.3).
 *
 * @example
 * ```ts ignore
 * const partition = segmentPartitionKey(SPACE, "segment-0");
 * ```
 */
export function segmentPartitionKey(space: string, segment: string): string {
  return toHex(encodeKey("DAT", "SEGMENTS", space, segment));
}

/**
 * Row key of an entry in its segment partition: `hex(u64 sequence)`.
 *
 * @example
 * ```ts ignore
 * console.log(sequenceRowKey(1)); // "0000000000000001"
 * ```
 */
export function sequenceRowKey(sequence: number): string {
  return toHex(u64(sequence).bytes);
}

/**
 * Partition of a space's timeline: `hex(DAT,SPACES,space)`.
 *
 * @example
 * ```ts ignore
 * const partition = spacePartitionKey(SPACE);
 * ```
 */
export function spacePartitionKey(space: string): string {
  return toHex(encodeKey("DAT", "SPACES", space));
}

/**
 * Row key of an entry in its space partition: `hex(i64 timestamp, segment, u64 sequence)`.
 *
 * @example
 * ```ts ignore
 * const row = spaceRowKey(Date.now(), "segment-0", 1);
 * ```
 */
export function spaceRowKey(timestamp: number, segment: string, sequence: number): string {
  return toHex(encodeKey(i64(timestamp), segment, u64(sequence)));
}

/**
 * An entity as the raw reference hands it to the SDK: the entry's compressed bytes in `v0`
 * (every 256-byte entry fits one binary property).
 *
 * @example
 * ```ts ignore
 * const action: TransactionAction = ["create", row];
 * ```
 */
export type EntryEntity =
  & { partitionKey: string; rowKey: string; v0: Uint8Array }
  & Record<
    string,
    unknown
  >;

/**
 * One chunk of a segment, precomputed: its rows in the segment partition and in the space
 * partition, sharing the same `compressEntry` bytes (as the driver stores them).
 *
 * @example
 * ```ts ignore
 * for (const chunk of chunks) await client.submitTransaction(chunk.segmentRows.map(create));
 * ```
 */
export interface AzureChunk {
  segmentRows: EntryEntity[];
  spaceRows: EntryEntity[];
}

/**
 * The entry rows the driver writes for a segment, precomputed: per chunk of at most
 * `chunkRecords` entries (a fresh trx and a timestamp of its own), each entry's segment row
 * and space row with its `compressEntry` bytes.
 *
 * @example
 * ```ts ignore
 * const chunks = prepareAzureRows("segment-0", makePayloads(5_000, 1), AZURE_CHUNK_RECORDS);
 * console.log(chunks.length); // 56
 * ```
 */
export function prepareAzureRows(
  segment: string,
  payloads: Uint8Array[],
  chunkRecords: number,
): AzureChunk[] {
  const segmentPartition = segmentPartitionKey(SPACE, segment);
  const spacePartition = spacePartitionKey(SPACE);
  const chunks: AzureChunk[] = [];
  const base = Date.now();
  for (let start = 0, number = 1; start < payloads.length; start += chunkRecords, number++) {
    const end = Math.min(start + chunkRecords, payloads.length);
    const timestamp = base + number;
    const trx = { id: crypto.randomUUID(), node: NIL_NODE_ID, number };
    const chunk: AzureChunk = { segmentRows: [], spaceRows: [] };
    for (let i = start; i < end; i++) {
      const entry: Entry = {
        space: SPACE,
        segment,
        sequence: i + 1,
        timestamp,
        trx,
        payload: payloads[i],
        metadata: {},
      };
      // A buffer of its own, as the driver copies it: the SDK encodes a view's whole buffer.
      const v0 = compressEntry(entry).slice();
      chunk.segmentRows.push({
        partitionKey: segmentPartition,
        rowKey: sequenceRowKey(entry.sequence),
        v0,
      });
      chunk.spaceRows.push({
        partitionKey: spacePartition,
        rowKey: spaceRowKey(timestamp, segment, entry.sequence),
        v0,
      });
    }
    chunks.push(chunk);
  }
  return chunks;
}
