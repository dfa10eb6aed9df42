/**
 * A simulator of Azure Table Storage's latency and scalability targets in front of Azurite, for
 * tests and benchmarks that must see what the real service does and the emulator does not (see
 * {@linkcode startAzureSimulator}). Test support only; `node:` built-ins, so it runs on Deno and
 * Node.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { SeededRandom } from "../../core/_test_random.ts";
import {
  type FaultProxy,
  type ProxyCounts,
  type Refusal,
  type StagedRequest,
  startProxy,
} from "./_test_fault_proxy.ts";

/** Options of {@linkcode startAzureSimulator}. */
export interface AzureSimulatorOptions {
  /** Where Azurite's table service listens on 127.0.0.1. */
  targetPort: number;
  /** Seeds the jitter and the random faults (default 1). */
  seed?: number;
  /** The mean round-trip latency added to every request, in ms (default 0). */
  latencyMs?: number;
  /** The round trip varies uniformly within ±jitterMs of `latencyMs` (default 0). */
  jitterMs?: number;
  /** Entities per second and partition (default 2,000); 0 or Infinity: no limit. */
  partitionEntitiesPerSecond?: number;
  /** Requests per second on the account (default 20,000); 0 or Infinity: no limit. */
  accountRequestsPerSecond?: number;
  /** How many seconds of their rate the buckets hold (default 1; must be > 0). */
  burstSeconds?: number;
  /** The share of requests that get a random transient fault, as the fault proxy's (default 0). */
  faultRate?: number;
}

/** The scalability targets enforced; changes apply to the next request. */
export interface AzureSimulatorLimits {
  /** Entities per second and partition; 0 or Infinity turns the limit off. */
  partitionEntitiesPerSecond: number;
  /** Requests per second on the account; 0 or Infinity turns the limit off. */
  accountRequestsPerSecond: number;
  /** How many seconds of their rate the buckets hold (> 0). */
  burstSeconds: number;
}

/** What the simulator saw and did: the fault proxy's counts and its own. */
export interface AzureSimulatorCounts extends ProxyCounts {
  /** Requests refused with 503 ServerBusy by the partition limit. */
  throttledByPartition: number;
  /** Requests refused with 503 ServerBusy by the account limit. */
  throttledByAccount: number;
  /** Entities charged to each partition (admitted requests and returned query rows). */
  entitiesByPartition: Map<string, number>;
  /** The round-trip delay added to all requests, in ms. */
  delayMs: number;
}

/** A running simulator; the fault proxy's rules, forced faults and log work on it too. */
export interface AzureSimulator extends FaultProxy, AsyncDisposable {
  /** The mean round-trip latency of the next requests, in ms. */
  latencyMs: number;
  /** The jitter of the next requests' round trip, in ms. */
  jitterMs: number;
  readonly limits: AzureSimulatorLimits;
  readonly counts: AzureSimulatorCounts;
}

/** Azure's answer beyond a scalability target. */
const SERVER_BUSY: Refusal = { status: 503, code: "ServerBusy", message: "The server is busy." };

/** Tokens refilled continuously at a rate, up to a capacity; may go negative. */
class Bucket {
  tokens: number;
  #at: number;

  constructor(capacity: number, now: number) {
    this.tokens = capacity;
    this.#at = now;
  }

  /** Adds the tokens earned since the last refill. */
  refill(rate: number, capacity: number, now: number): void {
    this.tokens = Math.min(capacity, this.tokens + rate * (now - this.#at) / 1000);
    this.#at = now;
  }

  /**
   * Whether a request needing `need` tokens passes: at least one token must be left (a query
   * needs none up front), and a request bigger than the whole bucket passes when it is full.
   */
  admits(need: number, capacity: number): boolean {
    return this.tokens >= Math.max(need, 1) || this.tokens >= capacity;
  }
}

function limited(rate: number): boolean {
  return rate > 0 && rate !== Infinity;
}

const KEYS = /\(PartitionKey='((?:[^']|'')*)',RowKey='(?:[^']|'')*'\)/;
const REQUEST_LINE = /^(GET|POST|PUT|MERGE|PATCH|DELETE) (\S+) HTTP\/1\.1\r?$/m;
const LITERAL = /'(?:[^']|'')*'/g;

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The partition an entity's URL names (`Table(PartitionKey='p',RowKey='r')`), if any. */
function keyedPartition(url: string): string | undefined {
  const match = KEYS.exec(decode(url.split("?")[0]));
  return match?.[1].replaceAll("''", "'");
}

/** The `PartitionKey` of a JSON entity body (an insert), if any. */
function bodyPartition(body: string): string | undefined {
  try {
    const partition = JSON.parse(body)?.PartitionKey;
    return typeof partition === "string" ? partition : undefined;
  } catch {
    return undefined;
  }
}

/** The one partition a query's `$filter` confines it to (`PartitionKey eq '...'`), if any. */
function filterPartition(rawUrl: string): string | undefined {
  const start = rawUrl.indexOf("?");
  if (start < 0) return undefined;
  const filter = new URLSearchParams(rawUrl.slice(start + 1)).get("$filter");
  if (filter === null) return undefined;
  // A disjunction or a negation can reach other partitions, whatever else it says.
  if (/\b(or|not)\b/i.test(filter.replace(LITERAL, "''"))) return undefined;
  const named = new Set(
    Array.from(filter.matchAll(/\bPartitionKey\s+eq\s+'((?:[^']|'')*)'/g))
      .map((match) => match[1].replaceAll("''", "'")),
  );
  return named.size === 1 ? [...named][0] : undefined;
}

/** A $batch body's operations, one partition per operation. */
function batchPartitions(body: string): string[] {
  const partitions: string[] = [];
  for (const part of body.split(/^--(?:batch|changeset)_\S*\r?$/m)) {
    const line = REQUEST_LINE.exec(part);
    if (!line) continue;
    // An insert names its partition only in its body, which follows the part's headers.
    const partition = keyedPartition(line[2]) ??
      bodyPartition(part.slice(part.indexOf("{", line.index)));
    if (partition !== undefined) partitions.push(partition);
  }
  return partitions;
}

/** Is this a query (a GET on a table not naming one entity)? */
function isQuery(request: StagedRequest): boolean {
  return request.method === "GET" && keyedPartition(request.rawUrl) === undefined;
}

/**
 * The entities a request needs up front, by partition: one per operation; 0 for the partition
 * a query names (charged by its answer, but refused while that partition has no token).
 */
function demandOf(request: StagedRequest): Map<string, number> {
  const demand = new Map<string, number>();
  const path = request.rawUrl.split("?")[0];
  if (request.method === "POST" && path.endsWith("/$batch")) {
    for (const partition of batchPartitions(request.body)) {
      demand.set(partition, (demand.get(partition) ?? 0) + 1);
    }
    return demand;
  }
  if (isQuery(request)) {
    const partition = filterPartition(request.rawUrl);
    if (partition !== undefined) demand.set(partition, 0);
    return demand;
  }
  // A point operation names its entity in the URL; an insert (POST) in its body; a table
  // operation names none.
  const partition = keyedPartition(request.rawUrl) ??
    (request.method === "POST" ? bodyPartition(request.body) : undefined);
  if (partition !== undefined) demand.set(partition, 1);
  return demand;
}

/** The rows a query's answer returned, by partition (rows without a key: the filter's one). */
function returnedRows(request: StagedRequest, body: Buffer): Map<string, number> {
  const rows = new Map<string, number>();
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"))?.value;
  } catch {
    return rows;
  }
  if (!Array.isArray(value)) return rows;
  const filtered = filterPartition(request.rawUrl);
  for (const row of value) {
    // A `$select` without PartitionKey leaves it out of the rows.
    const partition = typeof row?.PartitionKey === "string" ? row.PartitionKey : filtered;
    if (partition !== undefined) rows.set(partition, (rows.get(partition) ?? 0) + 1);
  }
  return rows;
}

/**
 * Starts the simulator on 127.0.0.1 and a free port, in front of Azurite at `targetPort`: a
 * local HTTP proxy (the fault proxy's core) that
 *
 * - adds a round-trip latency with jitter to every request (`latencyMs` ± `jitterMs`, uniform,
 *   never below 0, drawn from a seeded PRNG): half before the request is handled, half before
 *   the answer goes back;
 * - enforces Azure's documented scalability targets with token buckets, and answers beyond
 *   them as Azure does, with 503 `ServerBusy`, without forwarding (nothing is applied):
 *   - per partition, `partitionEntitiesPerSecond` (Azure: 2,000 entities per second): each
 *     operation of an entity group transaction ($batch) and each single insert, update, merge,
 *     delete or point read counts one entity, checked before forwarding; a query is charged the
 *     entities Azure returned, once it answered (the bucket may go negative, so the partition
 *     is refused until it refilled), and is refused before if the one partition its filter
 *     names has no token left;
 *   - per account, `accountRequestsPerSecond` (Azure: "20,000 transactions per second"):
 *     every request counts as one transaction, a $batch too, whatever it touches;
 *
 *   buckets refill continuously and hold `burstSeconds` worth of tokens; a request needing more
 *   entities than a partition's bucket can hold passes when that bucket is full (else it never
 *   would), and drives it negative;
 * - offers the fault proxy's features: random faults (`faultRate`), rules and forced faults.
 *   Rules and the faults that keep a request from Azure come before the limits (such a request
 *   is charged nothing); a request refused by a limit counts as faulted for `retriesObserved`.
 *
 * What it does NOT model: partition servers splitting hot ranges or moving partitions (the
 * partition target is fixed and per partition key); server-side processing time beyond
 * Azurite's; bandwidth (ingress/egress) limits and entity or request sizes; the account target
 * in any unit but requests (a $batch of 100 entities is one transaction, a throttled request
 * none); throttling by partition ranges, per-table or cross-partition query costs (a query over
 * many partitions is charged to the partitions of the rows it returned, after the fact, never
 * refused up front); the wording of Azure's various throttling messages (one for both);
 * compressed answers (Azurite sends none; a query answer that is not JSON is charged nothing).
 *
 * @example
 * ```ts ignore
 * await using simulator = await startAzureSimulator({ targetPort: azurite.port, latencyMs: 20 });
 * // new TableClient(simulator.endpoint(azurite.accountName), table, credential, ...)
 * ```
 */
export async function startAzureSimulator(
  options: AzureSimulatorOptions,
): Promise<AzureSimulator> {
  const seed = options.seed ?? 1;
  // Its own PRNG, so the fault pattern is the fault proxy's for the same seed.
  const jitter = new SeededRandom((seed ^ 0x9e3779b9) >>> 0);
  const limits: AzureSimulatorLimits = {
    partitionEntitiesPerSecond: options.partitionEntitiesPerSecond ?? 2_000,
    accountRequestsPerSecond: options.accountRequestsPerSecond ?? 20_000,
    burstSeconds: options.burstSeconds ?? 1,
  };
  const start = performance.now();
  const account = new Bucket(limits.accountRequestsPerSecond * limits.burstSeconds, start);
  const partitions = new Map<string, Bucket>();

  /** The partition's bucket, refilled up to now (a new one starts full). */
  const partitionBucket = (partition: string, now: number): Bucket => {
    const rate = limits.partitionEntitiesPerSecond;
    const capacity = rate * limits.burstSeconds;
    let bucket = partitions.get(partition);
    if (bucket === undefined) partitions.set(partition, bucket = new Bucket(capacity, now));
    bucket.refill(rate, capacity, now);
    return bucket;
  };

  /** Takes `entities` from each partition's bucket (when limited) and counts them. */
  const charge = (entities: Map<string, number>, now: number) => {
    for (const [partition, count] of entities) {
      if (count === 0) continue;
      if (limited(limits.partitionEntitiesPerSecond)) {
        partitionBucket(partition, now).tokens -= count;
      }
      const charged = simulator.counts.entitiesByPartition;
      charged.set(partition, (charged.get(partition) ?? 0) + count);
    }
  };

  const proxy = await startProxy({
    targetPort: options.targetPort,
    seed,
    faultRate: options.faultRate ?? 0,
  }, {
    roundTripMs: () => {
      // Drawn for every request, so the delays depend only on the seed and request order.
      const offset = (2 * jitter.float() - 1) * simulator.jitterMs;
      const delay = Math.max(0, simulator.latencyMs + offset);
      simulator.counts.delayMs += delay;
      return delay;
    },
    admit: (request) => {
      const now = performance.now();
      const perAccount = limits.accountRequestsPerSecond;
      if (limited(perAccount)) {
        const capacity = perAccount * limits.burstSeconds;
        account.refill(perAccount, capacity, now);
        if (!account.admits(1, capacity)) {
          simulator.counts.throttledByAccount++;
          return SERVER_BUSY;
        }
      }
      const demand = demandOf(request);
      if (limited(limits.partitionEntitiesPerSecond)) {
        const capacity = limits.partitionEntitiesPerSecond * limits.burstSeconds;
        for (const [partition, need] of demand) {
          if (!partitionBucket(partition, now).admits(need, capacity)) {
            simulator.counts.throttledByPartition++;
            return SERVER_BUSY;
          }
        }
      }
      if (limited(perAccount)) account.tokens -= 1;
      charge(demand, now);
      return undefined;
    },
    answered: (request, status, body) => {
      if (status === 200 && isQuery(request)) {
        charge(returnedRows(request, body), performance.now());
      }
    },
  });
  // The stages above run only for requests, which cannot come before the port is known.
  const simulator: AzureSimulator = Object.assign(proxy, {
    latencyMs: options.latencyMs ?? 0,
    jitterMs: options.jitterMs ?? 0,
    limits,
    counts: Object.assign(proxy.counts, {
      throttledByPartition: 0,
      throttledByAccount: 0,
      entitiesByPartition: new Map<string, number>(),
      delayMs: 0,
    }),
    [Symbol.asyncDispose]: () => proxy.stop(),
  });
  return simulator;
}
