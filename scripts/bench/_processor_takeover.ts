/**
 * `azure.processor.takeover`: processor instances in processes of their own, each behind a
 * simulator of its own in front of the shared Azurite, while this process produces a steady
 * stream into the followed space. The instance holding the lease is SIGKILLed at a random point
 * of its renewal cycle; the figure is the time from the kill to the first batch another
 * instance is handed (on the host's wall clock). A replacement instance is started after each
 * takeover, so there is always one waiting.
 *
 * @module
 */

import type { Store } from "../../core/mod.ts";
import { SeededRandom } from "../../core/_test_random.ts";
import { sleep, withTimeout } from "../../core/_async.ts";
import { waitFor } from "../../core/_test_util.ts";
import { AzureStoreFactory, azureTableName } from "../../drivers/azure/mod.ts";
import { tableClient } from "./_azure_tables.ts";
import type { Measured, ScenarioArgs, ScenarioRun } from "./_contestant.ts";
import { wallClockMs } from "./_cross_process_writer.ts";
import { milliseconds } from "./_latency.ts";
import {
  type HandedBatch,
  type Instance,
  type InstanceOrders,
  startInstance,
} from "./_processor_takeover_instance.ts";
import { startSimulator } from "./_simulator.ts";
import { type ProcessorTakeover, SPACE, STORE_ID } from "./_workload.ts";

/** How long the instances may take to start, and a takeover past the ttl, before it fails. */
const START_TIMEOUT_MS = 60_000;
const TAKEOVER_SLACK_MS = 30_000;

/**
 * What a takeover run measured, in `Measured.details`.
 *
 * @example
 * ```ts ignore
 * const { takeoversMs } = result.details as unknown as TakeoverDetails;
 * ```
 */
export interface TakeoverDetails {
  ttlMs: number;
  /** Each kill's time to the next batch handed by another instance, in ms. */
  takeoversMs: number[];
  /** The lease tokens of the batches, in order: one more holder per kill. */
  tokens: number[];
}

/** Polls `find` every 10 ms until it gives something; fails naming `what` after `ms`. */
async function found<T>(find: () => T | undefined, ms: number, what: string): Promise<T> {
  let value: T | undefined;
  await waitFor(what, () => (value = find()) !== undefined, { timeoutMs: ms, intervalMs: 10 });
  return value!;
}

/** Produces a chunk of 5 records every `intervalMs` until `signal` aborts. */
async function produceSteadily(store: Store, intervalMs: number, signal: AbortSignal) {
  const payload = new Uint8Array(256);
  for (let next = 1; !signal.aborted; next += 5) {
    const records = Array.from({ length: 5 }, (_, i) => ({ sequence: next + i, payload }));
    for await (const _ of store.produce({ space: SPACE, segment: "steady" }, records)) {
      // One status per chunk.
    }
    await sleep(intervalMs);
  }
}

async function measureTakeovers(
  takeover: ProcessorTakeover,
  { seed, tablePrefix, connectionString }: ScenarioArgs<"azure">,
): Promise<Measured> {
  const prefix = `${tablePrefix}pt`;
  const random = new SeededRandom(seed);
  await using simulator = await startSimulator(connectionString, takeover.network, seed);
  const factory = new AzureStoreFactory({
    connectionString: simulator.connectionString,
    allowInsecureHttp: true,
    tablePrefix: prefix,
  });
  const batches: HandedBatch[] = [];
  const instances: Instance[] = [];
  const start = (index: number) => {
    const orders: InstanceOrders = {
      tablePrefix: prefix,
      name: "takeover",
      ttlMs: takeover.ttlMs,
      network: takeover.network,
      seed: seed + index + 1,
    };
    const instance = startInstance(index, orders, connectionString, (batch) => batches.push(batch));
    instances.push(instance);
    return instance;
  };
  const producing = new AbortController();
  let producer: Promise<void> | undefined;
  const began = wallClockMs();
  try {
    // This process's store first: it creates the table the instances open.
    const store = await factory.newStore(STORE_ID);
    producer = produceSteadily(store, takeover.produceIntervalMs, producing.signal);
    const first = [start(0), start(1)];
    await withTimeout(
      Promise.all(first.map((i) => i.ready)),
      "starting the instances",
      START_TIMEOUT_MS,
    );
    const takeoversMs: number[] = [];
    let since = wallClockMs();
    for (let kill = 0; kill < takeover.kills; kill++) {
      const holding = await found(
        () => batches.findLast((batch) => batch.at > since && batch.entries > 0),
        START_TIMEOUT_MS + takeover.ttlMs,
        "a batch handled",
      );
      // A random point of the holder's renewal cycle (renewed every third of the ttl).
      await sleep(1_000 + random.float() * takeover.ttlMs / 3);
      const holder = instances[holding.instance];
      const killedAt = wallClockMs();
      holder.kill();
      const next = await found(
        () => batches.find((batch) => batch.at > killedAt && batch.instance !== holder.index),
        takeover.ttlMs + TAKEOVER_SLACK_MS,
        `a batch handled by another instance after the kill of instance ${holder.index}`,
      );
      takeoversMs.push(milliseconds(next.at - killedAt));
      console.error(
        `  kill ${kill + 1}: instance ${holder.index} killed, instance ${next.instance} handed ` +
          `a batch ${(next.at - killedAt).toFixed(0)} ms later (token ${next.token})`,
      );
      await holder.exited;
      await withTimeout(start(instances.length).ready, "starting a replacement", START_TIMEOUT_MS);
      since = next.at;
    }
    const sorted = [...takeoversMs].sort((a, b) => a - b);
    const entries = batches.reduce((sum, batch) => sum + batch.entries, 0);
    const seconds = (wallClockMs() - began) / 1000;
    const details: TakeoverDetails = {
      ttlMs: takeover.ttlMs,
      takeoversMs,
      tokens: batches.map((batch) => batch.token),
    };
    return {
      entries,
      seconds,
      entriesPerSec: Math.round(entries / seconds),
      latency: { p50Ms: sorted[Math.floor((sorted.length - 1) / 2)], p99Ms: sorted.at(-1)! },
      details: details as unknown as Record<string, unknown>,
    };
  } finally {
    for (const instance of instances) instance.kill();
    await Promise.all(instances.map((instance) => instance.exited));
    producing.abort();
    await producer?.catch(() => {});
    await factory.close();
    await tableClient(connectionString, azureTableName(prefix, STORE_ID)).deleteTable()
      .catch(() => {});
  }
}

/**
 * The takeover scenario: `takeover.kills` kills of the lease's holder, each timed to the next
 * batch handed by another instance; the latency figures are the median and the longest.
 *
 * @example
 * ```ts ignore
 * const result = await processorTakeover(WORKLOADS["azure.processor.takeover"].takeover).measure(args);
 * ```
 */
export function processorTakeover(takeover: ProcessorTakeover): ScenarioRun<"azure"> {
  return { measure: (args) => measureTakeovers(takeover, args) };
}
