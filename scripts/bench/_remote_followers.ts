/**
 * `remote.followers.1000`: many idle follows of one space on one server process, then single
 * commits one after the other, each timed from its produce to its delivery at every follower;
 * the server's resident memory read before and after the follows attach.
 *
 * @module
 */

import type { Store } from "../../core/mod.ts";
import { RemoteStoreFactory } from "../../drivers/remote/mod.ts";
import {
  collectGarbage,
  type Measured,
  type ScenarioArgs,
  type ScenarioRun,
  throughput,
} from "./_contestant.ts";
import { milliseconds, percentile } from "./_latency.ts";
import { processCpuSeconds, type RemoteServer, startRemoteServer } from "./_remote_server.ts";
import {
  type LatencySamples,
  READ_SEGMENT,
  segmentPayloads,
  SPACE,
  STORE_ID,
} from "./_workload.ts";

/** How long the follows may take to attach, and a commit to reach all of them. */
const ATTACH_TIMEOUT_MS = 120_000;
const DELIVERY_TIMEOUT_MS = 30_000;
/** How long the follows may take to end once aborted before the scenario moves on. */
const FOLLOW_END_MS = 5_000;

/**
 * How `remote.followers.1000` runs: `followers` follows of the space from its start (empty),
 * spread over `factories` client factories in the measuring process (each follow one HTTP
 * stream), then `commits` single-record produces through another factory, one after the other.
 *
 * @example
 * ```ts ignore
 * const f: RemoteFollowers = { followers: 1_000, factories: 10, commits: { warmUp: 3, timed: 20 } };
 * ```
 */
export interface RemoteFollowers {
  followers: number;
  factories: number;
  commits: LatencySamples;
}

/**
 * What a followers run reports besides its latency (its `details`).
 *
 * @example
 * ```ts ignore
 * console.log((result.details as unknown as FollowersDetails).rssGrowthMiB);
 * ```
 */
export interface FollowersDetails {
  followers: number;
  factories: number;
  commits: number;
  maxMs: number;
  meanMs: number;
  /** Per commit, until the last of the followers delivered it. */
  allDeliveredP50Ms: number;
  allDeliveredMaxMs: number;
  /** The same from the moment produce was called (its round trip included). */
  allDeliveredFromCallMaxMs: number;
  /** Deliveries before their produce resolved (counted 0 ms). */
  arrivedFirst: number;
  /** From the first follow call until every follow said caught-up. */
  attachSeconds: number;
  /** The server's VmRSS before the follows, once they all caught up, and after the commits. */
  rssBeforeMiB: number;
  rssAttachedMiB: number;
  rssGrowthMiB: number;
  rssAfterCommitsMiB: number;
  /** The server's VmHWM at the end. */
  rssPeakMiB: number;
  /** The measuring process's RSS at the end (the follows' side). */
  clientRssMiB: number;
  /** The timed commits' wall time, and the CPU time the server and this process used in it. */
  timedSeconds: number;
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  /** The follows that ended within 5 s of their signal's abort (the rest: at the server's stop). */
  followsEndedOnAbort: number;
}

/** When each follower delivered the entry awaited, and whether every one of them did. */
class FanOut {
  readonly #count: number;
  readonly #last: Int32Array;
  #attached = 0;
  #onAttached = () => {};
  readonly attached: Promise<void>;
  #awaited: {
    sequence: number;
    at: Float64Array;
    arrived: number;
    resolve: () => void;
    reject: (error: unknown) => void;
  } | undefined;
  #error: unknown;

  constructor(count: number) {
    this.#count = count;
    this.#last = new Int32Array(count);
    this.attached = new Promise<void>((resolve) => this.#onAttached = resolve);
  }

  /** Follower `follower` said caught-up for the first time. */
  caughtUp(): void {
    if (++this.#attached === this.#count) this.#onAttached();
  }

  /** Follower `follower` delivered entry `sequence`: now. */
  delivered(follower: number, sequence: number): void {
    const at = performance.now();
    const awaited = this.#awaited;
    if (sequence !== this.#last[follower] + 1 || sequence !== awaited?.sequence) {
      this.fail(
        new Error(`follower ${follower} delivered ${sequence} after ${this.#last[follower]}`),
      );
      return;
    }
    this.#last[follower] = sequence;
    awaited.at[follower] = at;
    if (++awaited.arrived === this.#count) awaited.resolve();
  }

  /** Resolves to when each follower delivered `sequence`; called before it is produced. */
  expect(sequence: number): Promise<Float64Array> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const at = new Float64Array(this.#count);
    return new Promise<Float64Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        const arrived = this.#awaited?.arrived ?? 0;
        reject(new Error(`entry ${sequence} reached ${arrived} of ${this.#count} followers`));
      }, DELIVERY_TIMEOUT_MS);
      this.#awaited = {
        sequence,
        at,
        arrived: 0,
        resolve: () => {
          clearTimeout(timer);
          this.#awaited = undefined;
          resolve(at);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  fail(error: unknown): void {
    this.#error ??= error;
    this.#awaited?.reject(error);
  }
}

/** Produces one record to the followed segment: when the call began and when it resolved. */
async function produceOne(
  store: Store,
  sequence: number,
  payload: Uint8Array,
): Promise<{ calledAt: number; resolvedAt: number }> {
  const calledAt = performance.now();
  let resolvedAt = NaN;
  for await (
    const _ of store.produce({ space: SPACE, segment: READ_SEGMENT }, [{ sequence, payload }])
  ) {
    resolvedAt = performance.now();
  }
  return { calledAt, resolvedAt };
}

/** Rejects after `ms` with `what`; `clear` stops the timer. */
function deadline(ms: number, what: string): { promise: Promise<never>; clear(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} in ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * Waits at most `ms` for `promises` (follows whose signal was aborted) to settle; resolves to how
 * many did.
 *
 * @example
 * ```ts ignore
 * stop.abort();
 * const ended = await endsWithin(following, 2_000);
 * ```
 */
export async function endsWithin(promises: Promise<unknown>[], ms: number): Promise<number> {
  let settled = 0;
  const counted = promises.map((promise) => promise.then(() => settled++, () => settled++));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(counted),
    new Promise((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
  return settled;
}

/** The percentiles, maximum and mean of `values`, in ms to the microsecond. */
function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: milliseconds(percentile(sorted, 50)),
    p99Ms: milliseconds(percentile(sorted, 99)),
    maxMs: milliseconds(sorted[sorted.length - 1]),
  };
}

/** The scenario, once the server listens at `url`. */
async function measureFollowers(
  { followers, factories, commits }: RemoteFollowers,
  server: RemoteServer,
  seed: number,
): Promise<Measured> {
  const { url } = server;
  const serverMemory = () => server.memory();
  const [{ payloads }] = segmentPayloads(commits.warmUp + commits.timed + 1, 1, seed);
  await using writerFactory = new RemoteStoreFactory({ url });
  const writer = await writerFactory.newStore(STORE_ID);
  // One commit elsewhere: the store is open on the server and the produce path warm.
  const warmUp = [{ sequence: 1, payload: payloads[payloads.length - 1] }];
  for await (const _ of writer.produce({ space: `${SPACE}-warm-up`, segment: "w" }, warmUp)) {
    // The loop drives the write.
  }
  const clients = Array.from({ length: factories }, () => new RemoteStoreFactory({ url }));
  const stop = new AbortController();
  const fanOut = new FanOut(followers);
  const following: Promise<void>[] = [];
  let measured: Measured;
  try {
    const stores = await Promise.all(clients.map((client) => client.newStore(STORE_ID)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssBefore = serverMemory().rssMiB;
    const attachStarted = performance.now();
    for (let follower = 0; follower < followers; follower++) {
      const store = stores[follower % factories];
      following.push(
        (async () => {
          let caughtUp = false;
          const spaces = { [SPACE]: undefined };
          for await (const event of store.follow({ spaces, signal: stop.signal })) {
            if (event.type === "entry") fanOut.delivered(follower, event.entry.sequence);
            else if (!caughtUp) {
              caughtUp = true;
              fanOut.caughtUp();
            }
          }
        })().catch((error) => {
          if (!stop.signal.aborted) fanOut.fail(error);
        }),
      );
    }
    const attachDeadline = deadline(ATTACH_TIMEOUT_MS, `${followers} follows did not attach`);
    await Promise.race([fanOut.attached, attachDeadline.promise]);
    attachDeadline.clear();
    const attachSeconds = (performance.now() - attachStarted) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssAttached = serverMemory().rssMiB;

    const latencies: number[] = [];
    const lastLatencies: number[] = [];
    const fromCall: number[] = [];
    let arrivedFirst = 0;
    let timedFrom = 0;
    let cpuFrom = { server: 0, client: 0 };
    for (let sequence = 1; sequence <= commits.warmUp + commits.timed; sequence++) {
      if (sequence === commits.warmUp + 1) {
        collectGarbage();
        timedFrom = performance.now();
        cpuFrom = { server: server.cpuSeconds(), client: processCpuSeconds("self") };
      }
      const arrivals = fanOut.expect(sequence);
      arrivals.catch(() => {});
      const { calledAt, resolvedAt } = await produceOne(writer, sequence, payloads[sequence - 1]);
      const at = await arrivals;
      if (sequence <= commits.warmUp) continue;
      let last = 0;
      for (const arrivedAt of at) {
        latencies.push(Math.max(0, arrivedAt - resolvedAt));
        if (arrivedAt < resolvedAt) arrivedFirst++;
        last = Math.max(last, arrivedAt);
      }
      lastLatencies.push(Math.max(0, last - resolvedAt));
      fromCall.push(last - calledAt);
    }
    const seconds = (performance.now() - timedFrom) / 1000;
    const cpu = {
      server: server.cpuSeconds() - cpuFrom.server,
      client: processCpuSeconds("self") - cpuFrom.client,
    };
    const after = serverMemory();
    const all = summary(latencies);
    const lastOf = summary(lastLatencies);
    measured = {
      ...throughput(latencies.length, seconds),
      latency: { p50Ms: all.p50Ms, p99Ms: all.p99Ms },
      details: {
        followers,
        factories,
        commits: commits.timed,
        maxMs: all.maxMs,
        meanMs: milliseconds(latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length),
        allDeliveredP50Ms: lastOf.p50Ms,
        allDeliveredMaxMs: lastOf.maxMs,
        allDeliveredFromCallMaxMs: summary(fromCall).maxMs,
        arrivedFirst,
        attachSeconds: Math.round(attachSeconds * 100) / 100,
        rssBeforeMiB: rssBefore,
        rssAttachedMiB: rssAttached,
        rssGrowthMiB: Math.round((rssAttached - rssBefore) * 10) / 10,
        rssAfterCommitsMiB: after.rssMiB,
        rssPeakMiB: after.peakMiB,
        clientRssMiB: Math.round(Deno.memoryUsage().rss / 1024 / 1024 * 10) / 10,
        timedSeconds: Math.round(seconds * 100) / 100,
        serverCpuSeconds: Math.round(cpu.server * 100) / 100,
        clientCpuSeconds: Math.round(cpu.client * 100) / 100,
        followsEndedOnAbort: 0,
      } satisfies FollowersDetails,
    };
  } finally {
    stop.abort();
  }
  // A remote follow's abort reaches it only through fetch's signal, which may not end a pending
  // read of its response: the ones still open end when the server stops.
  const ended = await endsWithin(following, FOLLOW_END_MS);
  await Promise.all(clients.map((client) => client.close()));
  return { ...measured, details: { ...measured.details, followsEndedOnAbort: ended } };
}

/**
 * The remote contestant's `remote.followers.1000`: a server process on the fresh directory
 * `dir` (default limits), the follows and the writer in this process.
 *
 * @example
 * ```ts ignore
 * await followers(WORKLOADS["remote.followers.1000"].followers).measure({ entries, seed, dir });
 * ```
 */
export function followers(workload: RemoteFollowers): ScenarioRun<"remote"> {
  return {
    measure: async ({ dir, seed }: ScenarioArgs<"remote">) => {
      await using server = await startRemoteServer({ dir });
      return await measureFollowers(workload, server, seed);
    },
  };
}
