/**
 * The benchmark's contestant "remote": streamkit's remote driver (`RemoteStoreFactory`) through
 * the public `Store` API, in front of a server process (`_remote_server.ts`: the level driver on
 * the scenario's fresh directory) on 127.0.0.1. Its reference is the "level" contestant doing
 * the same job embedded, in a process of its own.
 *
 * @module
 */

import type { Store } from "../../core/mod.ts";
import { RemoteStoreFactory } from "../../drivers/remote/mod.ts";
import {
  type Contestant,
  type Measured,
  medianReadPass,
  PASSES,
  type ScenarioArgs,
  throughput,
  timed,
} from "./_contestant.ts";
import { setupRead } from "./_contestant_streamkit_level.ts";
import { Arrivals, measureFollowLatency } from "./_latency.ts";
import { endsWithin, followers } from "./_remote_followers.ts";
import { startRemoteServer } from "./_remote_server.ts";
import { consumed, countEntries, produceSegments, segmentRecords } from "./_streamkit_store.ts";
import {
  type LatencySamples,
  READ_SEGMENT,
  segmentPayloads,
  SPACE,
  STORE_ID,
} from "./_workload.ts";

/** How long a follow may take to end once its signal is aborted before the scenario moves on. */
const FOLLOW_END_MS = 2_000;

/**
 * Runs `body` on the benchmark's store through a client of a server process serving `dir`
 * (started first, stopped last); `clients` factories, each opening the store.
 */
async function withRemoteStores<T>(
  { dir }: ScenarioArgs<"remote">,
  clients: number,
  body: (stores: Store[]) => Promise<T>,
): Promise<T> {
  await using server = await startRemoteServer({ dir });
  const factories = Array.from(
    { length: clients },
    () => new RemoteStoreFactory({ url: server.url }),
  );
  try {
    const stores = await Promise.all(factories.map((factory) => factory.newStore(STORE_ID)));
    return await body(stores);
  } finally {
    await Promise.all(factories.map((factory) => factory.close()));
  }
}

/**
 * `followLatency` of `_streamkit_store.ts` (the same samples, the same `measureFollowLatency`),
 * except that the follow is given {@linkcode FOLLOW_END_MS} to end once aborted: a remote
 * follow's abort reaches it only through `fetch`'s signal, which may not end a pending read of
 * its response (README: "drivers/remote as measured"). The details say whether it ended; the
 * server's stop ends it otherwise.
 */
async function remoteFollowLatency(
  writer: Store,
  follower: Store,
  samples: LatencySamples,
  seed: number,
): Promise<Measured> {
  const [{ payloads }] = segmentPayloads(samples.warmUp + samples.timed, 1, seed);
  const arrivals = new Arrivals();
  const stop = new AbortController();
  const following = (async () => {
    const spaces = { [SPACE]: undefined };
    for await (const event of follower.follow({ spaces, signal: stop.signal })) {
      if (event.type === "entry") arrivals.arrived(event.entry.sequence);
    }
  })().catch((error) => {
    if (!stop.signal.aborted) arrivals.fail(error);
  });
  const produceOne = async (sequence: number) => {
    let resolvedAt = NaN;
    const records = [{ sequence, payload: payloads[sequence - 1] }];
    for await (const _status of writer.produce({ space: SPACE, segment: READ_SEGMENT }, records)) {
      resolvedAt = performance.now();
    }
    return resolvedAt;
  };
  let measured: Measured;
  try {
    measured = await measureFollowLatency(samples, arrivals, produceOne);
  } finally {
    stop.abort();
  }
  const followEndedOnAbort = await endsWithin([following], FOLLOW_END_MS);
  return {
    ...measured,
    details: { ...measured.details, followEndedOnAbort: followEndedOnAbort === 1 },
  };
}

/**
 * Streamkit's remote driver: produce is timed once over every segment (as the level
 * contestant's); reads are timed over the level contestant's compacted files, the median of the
 * passes; latency from a produce on one client factory to its delivery on another.
 *
 * @example
 * ```ts ignore
 * await contestant.produce(1).measure({ entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" });
 * ```
 */
export const contestant: Contestant<"remote"> = {
  driver: "remote",
  produce: (segments) => ({
    measure: (args) =>
      withRemoteStores(args, 1, async ([store]) => {
        const records = segmentRecords(args.entries, segments, args.seed);
        const { seconds } = await timed(() => produceSegments(store, records));
        return throughput(args.entries, seconds);
      }),
  }),
  consume: (read) => ({
    // The same files as the level contestant's: written through the level driver, compacted.
    setup: setupRead(read),
    measure: (args) =>
      withRemoteStores(
        args,
        1,
        ([store]) =>
          medianReadPass(
            read,
            args.entries,
            PASSES.levelRead,
            () => countEntries(consumed(store, read)),
          ),
      ),
  }),
  followLatency: (samples) => ({
    measure: (args) =>
      withRemoteStores(
        args,
        2,
        ([writer, follower]) => remoteFollowLatency(writer, follower, samples, args.seed),
      ),
  }),
  followers,
};
