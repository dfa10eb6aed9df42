/**
 * The benchmark's contestant "level": streamkit's LevelDB driver through the public `Store` API,
 * in a fresh directory per scenario; it alone also runs the memory, catch-up, merge and command
 * scenarios.
 *
 * @module
 */

import { join } from "node:path";
import { type ProduceRecord, runProcessor, type Store } from "../../core/mod.ts";
import { LevelStoreFactory } from "../../drivers/level/mod.ts";
import {
  collectGarbage,
  COMMAND_REFERENCES,
  type ComparedJob,
  type Contestant,
  expectCount,
  medianComparedJobs,
  medianComparedPasses,
  medianReadPass,
  PASSES,
  type PassResult,
  type ScenarioArgs,
  type ScenarioRun,
  throughput,
  timed,
} from "./_contestant.ts";
import { compactLevel } from "./_leveldb.ts";
import { countLines, runStreamkit } from "./_streamkit_cli.ts";
import {
  consumed,
  countEntries,
  countUntilCaughtUp,
  followLatency,
  produceSegments,
  segmentRecords,
} from "./_streamkit_store.ts";
import {
  type CliCommand,
  CONCURRENT_SEGMENTS,
  lazyPayloads,
  mergedSpaces,
  type Read,
  READ_SEGMENT,
  SEGMENTS_WRITTEN,
  SPACE,
  STORE_ID,
} from "./_workload.ts";

/** Runs `body` on the benchmark's store in the LevelDB directory `dir`, then closes it. */
async function withStoreIn<T>(dir: string, body: (store: Store) => Promise<T>): Promise<T> {
  await using factory = new LevelStoreFactory({ path: dir });
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

/** Records with payloads generated as they are pulled: the setup holds no big array. */
function* lazyRecords(entries: number, seed: number): Generator<ProduceRecord> {
  let sequence = 0;
  for (const payload of lazyPayloads(entries, seed)) yield { sequence: ++sequence, payload };
}

const SAMPLE_EVERY = 10_000;

function mebibytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10;
}

/** Consumes `entries` sampling the heap every 10,000 entries: before, peak and after. */
async function sampleHeap(entries: AsyncIterable<unknown>) {
  collectGarbage();
  const before = Deno.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  let count = 0;
  const start = performance.now();
  for await (const _entry of entries) {
    if (++count % SAMPLE_EVERY === 0) {
      const { heapUsed, rss } = Deno.memoryUsage();
      if (heapUsed > peakHeap) peakHeap = heapUsed;
      if (rss > peakRss) peakRss = rss;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const afterNoGc = Deno.memoryUsage().heapUsed;
  collectGarbage();
  const after = Deno.memoryUsage();
  return {
    count,
    entriesPerSec: Math.round(count / seconds),
    heapBeforeMiB: mebibytes(before.heapUsed),
    heapPeakMiB: mebibytes(Math.max(peakHeap, afterNoGc)),
    heapAfterMiB: mebibytes(after.heapUsed),
    rssBeforeMiB: mebibytes(before.rss),
    rssPeakMiB: mebibytes(Math.max(peakRss, after.rss)),
  };
}

/** Writes one segment, then consumes the space and the segment, sampling the heap of each. */
const memory: ScenarioRun<"level"> = {
  setup: ({ entries, dir, seed }) =>
    withStoreIn(
      dir,
      (store) =>
        produceSegments(store, [{ segment: READ_SEGMENT, records: lazyRecords(entries, seed) }]),
    ),
  measure: ({ entries, dir }) =>
    withStoreIn(dir, async (store) => {
      const space = await sampleHeap(consumed(store, "space"));
      expectCount("consume space", space.count, entries);
      const segmentRead = await sampleHeap(consumed(store, "segment"));
      expectCount("consume segment", segmentRead.count, entries);
      const { count: _a, ...consumeSpace } = space;
      const { count: _b, ...consumeSegment } = segmentRead;
      return {
        entries,
        seconds: entries / consumeSpace.entriesPerSec,
        entriesPerSec: consumeSpace.entriesPerSec,
        details: {
          heapBeforeMiB: Math.min(consumeSpace.heapBeforeMiB, consumeSegment.heapBeforeMiB),
          heapPeakMiB: Math.max(consumeSpace.heapPeakMiB, consumeSegment.heapPeakMiB),
          heapAfterMiB: consumeSegment.heapAfterMiB,
          consumeSpace,
          consumeSegment,
        },
      };
    }),
};

/**
 * Writes what a `read` scenario reads (through the level driver, into `dir`) and compacts the
 * files: the remote contestant's setup too, so both read the same files.
 *
 * @example
 * ```ts ignore
 * await setupRead("space")({ entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" });
 * ```
 */
export function setupRead(read: Read): (args: ScenarioArgs<"level">) => Promise<void> {
  return async ({ entries, dir, seed }) => {
    const records = segmentRecords(entries, SEGMENTS_WRITTEN[read], seed);
    await withStoreIn(dir, (store) => produceSegments(store, records));
    await compactLevel(join(dir, STORE_ID));
  };
}

/** Follows the space from its start to its first `caught-up`, against `consumeSpace`. */
const catchUp: ScenarioRun<"level"> = {
  setup: setupRead("space"),
  measure: ({ entries, dir }) =>
    withStoreIn(dir, (store) =>
      medianComparedPasses(
        entries,
        PASSES.levelComparedRead,
        {
          what: "follow to caught-up",
          count: () => countUntilCaughtUp(store.follow({ spaces: { [SPACE]: undefined } })),
        },
        "consumeSpace",
        { what: "consume space", count: () => countEntries(store.consumeSpace({ space: SPACE })) },
      )),
};

/**
 * Runs a processor of a fresh name over the space until its first caught-up batch (a
 * checkpoint saved per batch of 500, the default); the entries it handled.
 */
async function processUntilCaughtUp(store: Store, name: string): Promise<number> {
  let count = 0;
  const stop = new AbortController();
  await runProcessor(store, {
    name,
    spaces: [SPACE],
    handle: ({ entries, caughtUp }) => {
      count += entries.length;
      if (caughtUp) stop.abort();
    },
    signal: stop.signal,
  });
  return count;
}

/** runProcessor over the space to caught-up, against a plain follow of it. */
const processor: ScenarioRun<"level"> = {
  setup: setupRead("space"),
  measure: ({ entries, dir }) =>
    withStoreIn(dir, (store) => {
      let pass = 0;
      return medianComparedPasses(
        entries,
        PASSES.levelComparedRead,
        {
          what: "runProcessor to caught-up",
          count: () => processUntilCaughtUp(store, `bench-${pass++}`),
        },
        "follow",
        {
          what: "follow to caught-up",
          count: () => countUntilCaughtUp(store.follow({ spaces: { [SPACE]: undefined } })),
        },
      );
    }),
};

/**
 * Writes `spaces` spaces of one segment each (the spaces concurrently, so the timestamps of
 * their chunks interleave), then times one `consume` of all of them against `consumeSpace` of
 * each in turn.
 */
function merge(spaces: number): ScenarioRun<"level"> {
  const names = mergedSpaces(spaces);
  return {
    setup: async ({ entries, dir, seed }) => {
      const records = segmentRecords(entries, spaces, seed);
      await withStoreIn(
        dir,
        (store) =>
          Promise.all(names.map((space, i) => produceSegments(store, [records[i]], space))),
      );
      await compactLevel(join(dir, STORE_ID));
    },
    measure: ({ entries, dir }) =>
      withStoreIn(dir, (store) => {
        const all = Object.fromEntries(names.map((space) => [space, undefined]));
        return medianComparedPasses(
          entries,
          PASSES.levelComparedRead,
          { what: "consume merged", count: () => countEntries(store.consume({ spaces: all })) },
          "consumeSpace",
          {
            what: "consume each space",
            count: async () => {
              let count = 0;
              for (const space of names) count += await countEntries(store.consumeSpace({ space }));
              return count;
            },
          },
        );
      }),
  };
}

/** The entries of the benchmark's space in the store under `dir`, counted after the clock stops. */
function countSpace(dir: string): Promise<number> {
  return withStoreIn(dir, (store) => countEntries(store.consumeSpace({ space: SPACE })));
}

/** Where a CLI scenario's stores are: the data, and a store of one entry per segment. */
function cliStores(dir: string): { source: string; tiny: string } {
  return { source: join(dir, "source"), tiny: join(dir, "tiny") };
}

/**
 * One run of the command on the store under `from`, pass `index` working in `dir`: the seconds
 * of the whole process, and the entries it wrote (counted after the clock stops).
 */
function commandRun(
  command: CliCommand,
  dir: string,
): (from: string, index: number) => Promise<PassResult> {
  if (command === "copy") {
    return async (from, index) => {
      const to = join(dir, `copy-${index}`);
      const { seconds } = await runStreamkit(
        ["copy", "--db", `level:${from}`, "--to", `level:${to}`],
      );
      const count = await countSpace(to);
      await Deno.remove(to, { recursive: true });
      return { seconds, count };
    };
  }
  return async (from, index) => {
    const out = join(dir, `export-${index}.ndjson`);
    const { seconds } = await runStreamkit(["export", "--db", `level:${from}`, "--out", out]);
    const count = await countLines(out);
    await Deno.remove(out);
    return { seconds, count };
  };
}

/**
 * The driver's job a command is compared with, over the same data (`source`, or the entries of
 * `records`), timed in this process; opening and closing the store are not. The store is opened
 * per pass: LevelDB lets one process at a time open it, and the command opens it too.
 */
function referenceJob(
  command: CliCommand,
  { entries, dir, seed }: ScenarioArgs<"level">,
  source: string,
): ComparedJob {
  if (command === "copy") {
    const records = segmentRecords(entries, CONCURRENT_SEGMENTS, seed);
    return {
      what: "produce",
      pass: async (index) => {
        const to = join(dir, `produce-${index}`);
        const { seconds } = await withStoreIn(
          to,
          (store) => timed(() => produceSegments(store, records)),
        );
        const count = await countSpace(to);
        await Deno.remove(to, { recursive: true });
        return { seconds, count };
      },
    };
  }
  return {
    what: "consume space",
    pass: () =>
      withStoreIn(source, async (store) => {
        const { seconds, value } = await timed(() =>
          countEntries(store.consumeSpace({ space: SPACE }))
        );
        return { seconds, count: value };
      }),
  };
}

/**
 * The `streamkit` command `command` on the data of level.consumeSpace (written under
 * `<dir>/source` and compacted), timed whole, start-up included: `copy` into a fresh LevelDB
 * database against produce of the same entries into a fresh directory, `export --out` against
 * `consumeSpace`; their passes alternate in one process. Each pass of the command first runs
 * it on a store of one entry per segment: its median time is the command's start-up (Deno,
 * loading the modules, opening and closing the databases), reported in `startupSeconds`.
 */
function cli(command: CliCommand): ScenarioRun<"level"> {
  return {
    setup: async (args) => {
      const { source, tiny } = cliStores(args.dir);
      await setupRead("space")({ ...args, dir: source });
      const records = segmentRecords(CONCURRENT_SEGMENTS, CONCURRENT_SEGMENTS, args.seed);
      await withStoreIn(tiny, (store) => produceSegments(store, records));
    },
    measure: async (args) => {
      const { source, tiny } = cliStores(args.dir);
      const run = commandRun(command, args.dir);
      const passes = PASSES.levelCommand;
      const startups: number[] = [];
      const ours: ComparedJob = {
        what: `streamkit ${command}`,
        pass: async (index) => {
          const startup = await run(tiny, index);
          expectCount(
            `streamkit ${command} of one entry per segment`,
            startup.count,
            CONCURRENT_SEGMENTS,
          );
          if (index >= passes.warmUp) startups.push(startup.seconds);
          return await run(source, index);
        },
      };
      const measured = await medianComparedJobs(
        args.entries,
        passes,
        ours,
        COMMAND_REFERENCES[command],
        referenceJob(command, args, source),
      );
      const startupSeconds = startups.sort((a, b) => a - b)[Math.floor(startups.length / 2)];
      return { ...measured, details: { ...measured.details, startupSeconds } };
    },
  };
}

/**
 * Streamkit's level driver: produce is timed once over every segment; reads are timed over
 * compacted files, the median of the passes.
 *
 * @example
 * ```ts ignore
 * await contestant.produce(8).measure({ entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" });
 * ```
 */
export const contestant: Contestant<"level"> = {
  driver: "level",
  produce: (segments) => ({
    measure: ({ entries, dir, seed }) =>
      withStoreIn(dir, async (store) => {
        const records = segmentRecords(entries, segments, seed);
        const { seconds } = await timed(() => produceSegments(store, records));
        return throughput(entries, seconds);
      }),
  }),
  consume: (read) => ({
    setup: setupRead(read),
    measure: ({ entries, dir }) =>
      withStoreIn(
        dir,
        (store) =>
          medianReadPass(
            read,
            entries,
            PASSES.levelRead,
            () => countEntries(consumed(store, read)),
          ),
      ),
  }),
  memory,
  followLatency: (samples) => ({
    measure: ({ dir, seed }) =>
      withStoreIn(dir, (store) => followLatency(store, store, samples, seed)),
  }),
  catchUp,
  processor,
  merge,
  cli,
};
