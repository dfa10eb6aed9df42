/**
 * The Azure simulator (drivers/azure/_test_simulator.ts: Azure's round trip and scalability targets in
 * front of Azurite) as a benchmark child uses it: started in a worker thread of its own (see
 * `_simulator_worker.ts`) in front of the Azurite the orchestrator started, with a connection
 * string through it; its counts read between passes, its limits changed on the way.
 *
 * @module
 */

import type {
  AzureSimulatorLimits,
  AzureSimulatorOptions,
} from "../../drivers/azure/_test_support.ts";

/**
 * The network a simulated scenario runs on: the round trip added to every request, and the
 * scalability targets enforced (0: none).
 *
 * @example
 * ```ts ignore
 * const rtt10: SimulatedNetwork = {
 *   latencyMs: 10, jitterMs: 1, partitionEntitiesPerSecond: 0, accountRequestsPerSecond: 0,
 *   burstSeconds: 1,
 * };
 * ```
 */
export interface SimulatedNetwork {
  /** The mean round trip, in ms. */
  latencyMs: number;
  /** Each round trip lies uniformly within ±jitterMs of the mean. */
  jitterMs: number;
  /** Entities per second and partition; 0: no limit. */
  partitionEntitiesPerSecond: number;
  /** Requests per second on the account; 0: no limit. */
  accountRequestsPerSecond: number;
  /** How many seconds of their rate the token buckets hold. */
  burstSeconds: number;
}

/**
 * What the simulator saw, as it crosses from its thread (or as a difference of two of them,
 * see {@linkcode countsSince}).
 *
 * @example
 * ```ts ignore
 * const { requests, throttledByPartition } = await simulator.counts();
 * ```
 */
export interface SimulatorCounts {
  /** Requests received (throttled ones included). */
  requests: number;
  /** Requests passed on to Azurite. */
  forwarded: number;
  /** Requests answered 503 ServerBusy by the partition limit. */
  throttledByPartition: number;
  /** Requests answered 503 ServerBusy by the account limit. */
  throttledByAccount: number;
  /** Requests that repeated one the simulator had refused. */
  retriesObserved: number;
  /** The round-trip delay added to all requests, in ms. */
  delayMs: number;
  /** Entities charged to each partition: admitted writes and returned query rows. */
  entitiesByPartition: Record<string, number>;
}

/**
 * A message to the simulator's worker.
 *
 * @example
 * ```ts ignore
 * const request: SimulatorRequest = { id: 1, op: "counts" };
 * ```
 */
export type SimulatorRequest =
  & { id: number }
  & (
    | { op: "start"; options: AzureSimulatorOptions }
    | { op: "counts" }
    | { op: "limits"; limits: Partial<AzureSimulatorLimits> }
    | { op: "stop" }
  );

/**
 * A running simulator in front of Azurite.
 *
 * @example
 * ```ts ignore
 * await using simulator = await startSimulator(connectionString, RTT10, seed);
 * const client = tableClient(simulator.connectionString, "t");
 * ```
 */
export interface Simulator extends AsyncDisposable {
  /** Azurite's connection string, with the table endpoint through the simulator. */
  readonly connectionString: string;
  counts(): Promise<SimulatorCounts>;
  /** Changes the limits for the requests that follow. */
  setLimits(limits: Partial<AzureSimulatorLimits>): Promise<void>;
  /** Stops the simulator and its worker; idempotent. */
  stop(): Promise<void>;
}

/** The `key=value` settings of a connection string, in order. */
function settings(connectionString: string): [string, string][] {
  return connectionString.split(";").filter((pair) => pair !== "").map((pair) => {
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

function setting(pairs: [string, string][], name: string): string {
  const found = pairs.find(([key]) => key.toLowerCase() === name.toLowerCase());
  if (!found) throw new Error(`the connection string has no ${name}`);
  return found[1];
}

/**
 * Starts the simulator with `network` in front of the Azurite that `connectionString` names
 * (its `TableEndpoint` on 127.0.0.1); `seed` seeds the jitter.
 *
 * @example
 * ```ts ignore
 * await using simulator = await startSimulator(connectionString, RTT10, DEFAULT_SEED);
 * ```
 */
export async function startSimulator(
  connectionString: string,
  network: SimulatedNetwork,
  seed: number,
): Promise<Simulator> {
  const pairs = settings(connectionString);
  const accountName = setting(pairs, "AccountName");
  const targetPort = Number(new URL(setting(pairs, "TableEndpoint")).port);
  const worker = new Worker(new URL("./_simulator_worker.ts", import.meta.url), {
    type: "module",
  });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let lastId = 0;
  worker.onmessage = ({ data }: MessageEvent<{ id: number; value?: unknown; error?: string }>) => {
    const answer = waiting.get(data.id);
    waiting.delete(data.id);
    if (data.error !== undefined) answer?.reject(new Error(`simulator: ${data.error}`));
    else answer?.resolve(data.value);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    for (const { reject } of waiting.values()) reject(new Error(`simulator: ${event.message}`));
    waiting.clear();
  };
  const ask = <T>(request: DistributiveOmit<SimulatorRequest, "id">): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++lastId;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, ...request });
    });
  const options: AzureSimulatorOptions = { targetPort, seed, ...network };
  let port: number;
  try {
    port = await ask<number>({ op: "start", options });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}/${accountName}`;
  let stopping: Promise<void> | undefined;
  const stop = () => stopping ??= ask<void>({ op: "stop" }).finally(() => worker.terminate());
  return {
    connectionString: pairs.map(([key, value]) =>
      `${key}=${key.toLowerCase() === "tableendpoint" ? endpoint : value};`
    ).join(""),
    counts: () => ask<SimulatorCounts>({ op: "counts" }),
    setLimits: (limits) => ask<void>({ op: "limits", limits }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `Omit` applied to each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * What the simulator saw between two readings of its counts.
 *
 * @example
 * ```ts ignore
 * const before = await simulator.counts();
 * await pass();
 * const { requests } = countsSince(before, await simulator.counts());
 * ```
 */
export function countsSince(before: SimulatorCounts, after: SimulatorCounts): SimulatorCounts {
  const entitiesByPartition: Record<string, number> = {};
  for (const [partition, entities] of Object.entries(after.entitiesByPartition)) {
    const added = entities - (before.entitiesByPartition[partition] ?? 0);
    if (added !== 0) entitiesByPartition[partition] = added;
  }
  return {
    requests: after.requests - before.requests,
    forwarded: after.forwarded - before.forwarded,
    throttledByPartition: after.throttledByPartition - before.throttledByPartition,
    throttledByAccount: after.throttledByAccount - before.throttledByAccount,
    retriesObserved: after.retriesObserved - before.retriesObserved,
    delayMs: after.delayMs - before.delayMs,
    entitiesByPartition,
  };
}

/**
 * What a simulated scenario's result carries about the simulator: the network, and what the
 * timed passes cost there.
 *
 * @example
 * ```ts ignore
 * const { requestsPerPass } = result.details!.simulator as SimulatedDetails;
 * ```
 */
export interface SimulatedDetails {
  network: SimulatedNetwork;
  /** Requests per timed pass (the median). */
  requestsPerPass: number;
  /** Requests refused over all timed passes. */
  throttledByPartition: number;
  throttledByAccount: number;
  /** The round trip the simulator added per request, on average, in ms. */
  meanDelayMs: number;
}
