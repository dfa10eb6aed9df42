/**
 * The benchmark's contestant "azure": streamkit's Azure Table Storage driver through the public
 * `Store` API, on the Azurite the orchestrator started, on tables of its own (a fresh table
 * prefix per scenario). Produce: warm-up and timed passes, each into a store on fresh tables.
 * Reads: a setup process writes the data, the timed process reads it in warm-up and timed
 * passes. The median timed pass counts. Follow latency: a writer and a follower on two factory
 * instances (two processes, as far as the store can tell: the follower learns of commits only
 * by polling), with a poll interval of {@linkcode FOLLOW_POLL_INTERVAL_MS}. Through the Azure
 * simulator: produce and consumeSpace as above with the simulator between the store and
 * Azurite, each against the raw library's job (from `_contestant_data_tables.ts`) on the same
 * simulator, pass by pass in one process, counting the requests of each pass; the
 * space-scaling scenario (`_space_scale.ts`); and following writer processes
 * (`_cross_process.ts`).
 *
 * @module
 */

import { azureTableName } from "../../drivers/azure/mod.ts";
import {
  type ComparedJob,
  type Contestant,
  medianComparedJobs,
  medianPass,
  medianReadPass,
  PASSES,
  timed,
} from "./_contestant.ts";
import { simulatedProduceJob, simulatedSpaceReadJob } from "./_contestant_data_tables.ts";
import { AZURE_CHUNK_RECORDS, tableClient } from "./_azure_tables.ts";
import { withAzureStore as withStore, writeReadData } from "./_azure_store.ts";
import { SimulatedPasses } from "./_simulated_passes.ts";
import { startSimulator } from "./_simulator.ts";
import { spaceScale } from "./_space_scale.ts";
import { crossProcess } from "./_cross_process.ts";
import { processorTakeover } from "./_processor_takeover.ts";
import {
  consumed,
  countEntries,
  followLatency,
  produceSegments,
  segmentRecords,
} from "./_streamkit_store.ts";
import { STORE_ID } from "./_workload.ts";

/** The follower's longest wait between polls while idle, in milliseconds. */
const FOLLOW_POLL_INTERVAL_MS = 250;

/**
 * Streamkit's Azure driver.
 *
 * @example
 * ```ts ignore
 * await contestant.produce(8).measure({ entries: 500, seed: DEFAULT_SEED, tablePrefix, connectionString });
 * ```
 */
export const contestant: Contestant<"azure"> = {
  driver: "azure",
  // Each pass produces every entry into a store on fresh tables, dropped after the pass.
  produce: (segments) => ({
    measure: async ({ entries, seed, tablePrefix, connectionString }) => {
      const records = segmentRecords(entries, segments, seed);
      return await medianPass("produce", entries, PASSES.azureProduce, async (pass) => {
        const place = { tablePrefix: `${tablePrefix}p${pass}`, connectionString };
        const { seconds } = await withStore(
          place,
          (store) => timed(() => produceSegments(store, records)),
        );
        await tableClient(connectionString, azureTableName(place.tablePrefix, STORE_ID))
          .deleteTable();
        return { seconds, count: entries };
      });
    },
  }),
  consume: (read) => ({
    setup: (args) => writeReadData(args, read),
    measure: (args) =>
      withStore(
        args,
        (store) =>
          medianReadPass(read, args.entries, PASSES.azureRead, () =>
            countEntries(consumed(store, read))),
      ),
  }),
  followLatency: (samples) => ({
    measure: (args) =>
      withStore(args, (writer) =>
        withStore(
          args,
          (follower) =>
            followLatency(writer, follower, samples, args.seed, FOLLOW_POLL_INTERVAL_MS),
        )),
  }),
  // Compared pass by pass in one process with the raw library on the same simulator: on a
  // shared machine, two processes would see different loads. As produce, with the store
  // opened and its tables dropped through the simulator too, both outside the clock.
  simulatedProduce: (segments, network) => ({
    measure: async (args) => {
      const { entries, seed, tablePrefix, connectionString } = args;
      const records = segmentRecords(entries, segments, seed);
      await using simulator = await startSimulator(connectionString, network, seed);
      const ours = new SimulatedPasses(simulator);
      const theirs = new SimulatedPasses(simulator);
      const produce: ComparedJob = {
        what: "produce",
        pass: async (index) => {
          const place = {
            tablePrefix: `${tablePrefix}p${index}`,
            connectionString: simulator.connectionString,
          };
          const { seconds } = await withStore(
            place,
            (store) => ours.timed(() => produceSegments(store, records)),
          );
          await tableClient(connectionString, azureTableName(place.tablePrefix, STORE_ID))
            .deleteTable();
          return { seconds, count: entries };
        },
      };
      const passes = PASSES.azureProduce;
      const measured = await medianComparedJobs(
        entries,
        passes,
        produce,
        "data-tables",
        simulatedProduceJob(args, segments, simulator, theirs),
      );
      const chunksPerPass = records.reduce(
        (chunks, { records }) => chunks + Math.ceil([...records].length / AZURE_CHUNK_RECORDS),
        0,
      );
      return {
        ...measured,
        details: {
          ...measured.details,
          chunksPerPass,
          simulator: ours.details(network, passes.warmUp),
          referenceSimulator: theirs.details(network, passes.warmUp),
        },
      };
    },
  }),
  // The data is written straight to Azurite (the setup is not measured), with the driver's
  // default shard count; both reads go through the simulator, the raw one over the same rows.
  simulatedConsume: (read, network) => ({
    setup: (args) => writeReadData(args, read),
    measure: async (args) => {
      if (read !== "space") throw new Error(`azure: no simulated ${read} read`);
      await using simulator = await startSimulator(args.connectionString, network, args.seed);
      const ours = new SimulatedPasses(simulator);
      const theirs = new SimulatedPasses(simulator);
      const raw = await simulatedSpaceReadJob(args, simulator, theirs);
      const place = { ...args, connectionString: simulator.connectionString };
      const passes = PASSES.azureRead;
      const measured = await withStore(place, (store) =>
        medianComparedJobs(
          args.entries,
          passes,
          {
            what: `consume ${read}`,
            pass: async () => {
              const { seconds, value } = await ours.timed(() =>
                countEntries(consumed(store, read))
              );
              return { seconds, count: value };
            },
          },
          "data-tables",
          raw,
        ));
      return {
        ...measured,
        details: {
          ...measured.details,
          simulator: ours.details(network, passes.warmUp),
          referenceSimulator: theirs.details(network, passes.warmUp),
        },
      };
    },
  }),
  spaceScale,
  crossProcess,
  processorTakeover,
};
