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
  medianReadPass,
  PASSES,
  type ScenarioArgs,
  throughput,
  timed,
} from "./_contestant.ts";
import { setupRead } from "./_contestant_streamkit_level.ts";
import { followers } from "./_remote_followers.ts";
import { startRemoteServer } from "./_remote_server.ts";
import {
  consumed,
  countEntries,
  followLatency,
  produceSegments,
  segmentRecords,
} from "./_streamkit_store.ts";
import { STORE_ID } from "./_workload.ts";

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
        ([writer, follower]) => followLatency(writer, follower, samples, args.seed),
      ),
  }),
  followers,
};
