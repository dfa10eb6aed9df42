/**
 * The space-scaling scenario of the "azure" contestant (`azure.space.scale`): how fast one
 * space takes entries under Azure's partition limits (the simulator's, scaled down) as its
 * index gets more shards. For each shard count, a fresh store of that many shards and a fresh
 * simulator (full buckets, zeroed counts); writers on several factory instances (as several
 * processes would be: each has its own commit pipelines) each stream chunks to segments of
 * their own, for a warm-up and then a timed window.
 *
 * What is counted: the entries that reached the space index in the window, as the simulator
 * charged them to the space's shard partitions (one entity per space row written; refused
 * requests are charged nothing). A chunk acknowledged by `produce` has committed to its
 * segment, but its space rows follow behind: under a throttled index the commits run ahead,
 * and readers of the space see an entry only once its row is there. The commit-point rate is
 * reported beside it. After the window the writers stop and the limits are lifted, so that
 * what they still owe the index drains in seconds (unmeasured) before the stores close.
 *
 * @module
 */

import { sleep } from "../../core/_async.ts";
import type { ProduceRecord, Store } from "../../core/mod.ts";
import { AzureStoreFactory, azureTableName } from "../../drivers/azure/mod.ts";
import { spacePartitions } from "../../drivers/azure/_test_support.ts";
import type { Measured, ScenarioArgs, ScenarioRun } from "./_contestant.ts";
import { AZURE_CHUNK_RECORDS, tableClient } from "./_azure_tables.ts";
import { countsSince, type SimulatorCounts, startSimulator } from "./_simulator.ts";
import { lazyPayloads, segmentName, SPACE, type SpaceScale, STORE_ID } from "./_workload.ts";

/** Distinct payloads a stream cycles through (generated before the clock starts). */
const PAYLOAD_POOL = 1_024;

/**
 * What one shard count measured.
 *
 * @example
 * ```ts ignore
 * const { shards, entriesPerSec } = (result.details!.shards as ShardsResult[])[0];
 * ```
 */
export interface ShardsResult {
  shards: number;
  /** Entries that reached the space index per second, over the timed window. */
  entriesPerSec: number;
  /** Entries committed (acknowledged by produce) per second, over the same window. */
  committedPerSec: number;
  /** Space-index entries per shard partition over the window, shard 0 first. */
  perShard: number[];
  /** Entries committed but not yet in the space index when the window closed. */
  backlogAtEnd: number;
  /** Over the window. */
  requests: number;
  throttledByPartition: number;
  throttledByAccount: number;
  /** Over the whole run of this shard count (warm-up and drain included). */
  totalThrottled: number;
  /** How long the writers took to finish what they owed after the window, limits lifted. */
  drainSeconds: number;
}

/** Entities charged to `partitions` in `counts`. */
function charged(counts: SimulatorCounts, partitions: string[]): number[] {
  return partitions.map((partition) => counts.entitiesByPartition[partition] ?? 0);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The writers' streams: sequences from 1, payloads cycled from the pool, until `stop()`. */
class Streams {
  #stopped = false;
  /** Entries acknowledged by produce (committed), all streams together. */
  committed = 0;
  readonly #payloads: Uint8Array[];
  readonly #callRecords: number;

  constructor(seed: number, callRecords: number) {
    this.#payloads = [...lazyPayloads(PAYLOAD_POOL, seed)];
    this.#callRecords = callRecords;
  }

  stop(): void {
    this.#stopped = true;
  }

  /**
   * Produces into `segment` of `store` until stopped: one produce call after another, each
   * pulling its records lazily (at most `callRecords`, fewer once stopped) and ending once its
   * chunks are in the space index.
   */
  async run(store: Store, segment: string): Promise<void> {
    let next = 1;
    let last = 0;
    const records = function* (self: Streams): Generator<ProduceRecord> {
      for (let i = 0; i < self.#callRecords && !self.#stopped; i++, next++) {
        yield { sequence: next, payload: self.#payloads[next % PAYLOAD_POOL] };
      }
    };
    while (!this.#stopped) {
      for await (const status of store.produce({ space: SPACE, segment }, records(this))) {
        this.committed += status.lastSequence - last;
        last = status.lastSequence;
      }
    }
  }
}

async function measureShards(
  scale: SpaceScale,
  shards: number,
  { seed, tablePrefix, connectionString }: ScenarioArgs<"azure">,
): Promise<ShardsResult> {
  await using simulator = await startSimulator(connectionString, scale.network, seed);
  const prefix = `${tablePrefix}n${shards}`;
  const factories = Array.from({ length: scale.factories }, () =>
    new AzureStoreFactory({
      connectionString: simulator.connectionString,
      allowInsecureHttp: true,
      tablePrefix: prefix,
      spaceShards: shards,
      retry: scale.retry,
    }));
  const stores: Store[] = [];
  const streams = new Streams(seed, scale.chunksPerProduce * AZURE_CHUNK_RECORDS);
  try {
    // One after the other: the first creates the table and records its shard count.
    for (const factory of factories) stores.push(await factory.newStore(STORE_ID));
    const partitions = spacePartitions(SPACE, shards);
    const perWriter = scale.segments / scale.writers;
    const writersPerFactory = scale.writers / scale.factories;
    const start = await simulator.counts();
    const writing = Promise.all(
      Array.from({ length: scale.segments }, (_, segment) => {
        const writer = Math.floor(segment / perWriter);
        return streams.run(stores[Math.floor(writer / writersPerFactory)], segmentName(segment));
      }),
    );
    // A failed stream stops the others, so that the failure is not left waiting for the window.
    writing.catch(() => streams.stop());
    await sleep(scale.warmUpSeconds * 1000);
    const before = await simulator.counts();
    const committedBefore = streams.committed;
    const opened = performance.now();
    await sleep(scale.timedSeconds * 1000);
    const after = await simulator.counts();
    const committedAfter = streams.committed;
    const seconds = (performance.now() - opened) / 1000;
    streams.stop();
    await simulator.setLimits({ partitionEntitiesPerSecond: 0, accountRequestsPerSecond: 0 });
    const drainStarted = performance.now();
    await writing;
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const window = countsSince(before, after);
    const perShard = charged(window, partitions);
    const total = countsSince(start, await simulator.counts());
    return {
      shards,
      entriesPerSec: Math.round(sum(perShard) / seconds),
      committedPerSec: Math.round((committedAfter - committedBefore) / seconds),
      perShard,
      backlogAtEnd: committedAfter - sum(charged(countsSince(start, after), partitions)),
      requests: window.requests,
      throttledByPartition: window.throttledByPartition,
      throttledByAccount: window.throttledByAccount,
      totalThrottled: total.throttledByPartition + total.throttledByAccount,
      drainSeconds: Math.round(drainSeconds * 10) / 10,
    };
  } finally {
    streams.stop();
    // Closing a factory closes its store, which waits for what its writers still owe.
    for (const factory of factories) await factory.close();
    await tableClient(connectionString, azureTableName(prefix, STORE_ID)).deleteTable()
      .catch(() => {});
  }
}

/**
 * The space-scaling scenario: each shard count of `scale` in turn; the result's own figure is
 * the first count's (1 shard), every count's in `details.shards`.
 *
 * @example
 * ```ts ignore
 * const result = await spaceScale(WORKLOADS["azure.space.scale"].scale).measure(args);
 * ```
 */
export function spaceScale(scale: SpaceScale): ScenarioRun<"azure"> {
  return {
    measure: async (args): Promise<Measured> => {
      const results: ShardsResult[] = [];
      for (const shards of scale.shards) {
        const result = await measureShards(scale, shards, args);
        results.push(result);
        console.error(
          `  ${shards} shard(s): ${result.entriesPerSec.toLocaleString("en-US")} entries/s ` +
            `into the space index (${result.committedPerSec.toLocaleString("en-US")} ` +
            `committed), ${result.throttledByPartition} throttled by partition`,
        );
      }
      const first = results[0];
      return {
        entries: Math.round(first.entriesPerSec * scale.timedSeconds),
        seconds: scale.timedSeconds,
        entriesPerSec: first.entriesPerSec,
        details: { shards: results },
      };
    },
  };
}
