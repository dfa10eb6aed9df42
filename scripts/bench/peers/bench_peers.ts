/**
 * `deno task bench:peers`: streamkit against Emmett on the same workload in the same run, every
 * scenario of every contestant in a process of its own; a markdown table and one JSON line per
 * scenario and driver. Workload, flags and layout: `scripts/bench/README.md`.
 *
 * @module
 */

import { positiveInteger } from "../_child.ts";
import { DEFAULT_SEED } from "../_workload.ts";
import { runPeerChild } from "./_child.ts";
import { ensureInstalled, installedVersion } from "./_install.ts";
import {
  BATCH_EVENTS,
  PEER_SCENARIOS,
  type PeerContestantName,
  type PeerResult,
  type PeerScenario,
  STREAMS,
} from "./_workload.ts";

/** A streamkit contestant, the Emmett store it is compared with, and the goals (ratios). */
interface Pairing {
  driver: string;
  ours: PeerContestantName;
  reference: PeerContestantName;
  referenceLabel: string;
  persistent: boolean;
  /** The JSON lines' scenario names: `peers.<prefix><scenario>`. */
  prefix: string;
  goals?: Record<PeerScenario, number>;
}

const PAIRINGS: Pairing[] = [
  {
    driver: "streamkit level",
    ours: "level",
    reference: "emmett-sqlite",
    referenceLabel: "Emmett SQLite",
    persistent: true,
    prefix: "",
    goals: { append: 3, readStreams: 2, readAll: 2 },
  },
  {
    driver: "streamkit memory",
    ours: "memory",
    reference: "emmett-memory",
    referenceLabel: "Emmett in-memory",
    persistent: false,
    prefix: "memory.",
  },
];

interface Options {
  entries: number;
  repeat: number;
  seed: number;
  only: PeerScenario[];
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    entries: 100_000,
    repeat: 3,
    seed: DEFAULT_SEED,
    only: [...PEER_SCENARIOS],
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === "--entries") options.entries = positiveInteger(flag, value);
    else if (flag === "--repeat") options.repeat = positiveInteger(flag, value);
    else if (flag === "--seed") options.seed = positiveInteger(flag, value);
    else if (flag === "--only") {
      const names = (value ?? "").split(",").filter((name) => name !== "");
      for (const name of names) {
        if (!PEER_SCENARIOS.includes(name as PeerScenario)) {
          throw new Error(`--only: no scenario ${name}; scenarios: ${PEER_SCENARIOS.join(", ")}`);
        }
      }
      options.only = PEER_SCENARIOS.filter((name) => names.includes(name));
    } else {
      throw new Error(`unknown flag ${flag}; flags: --entries N, --repeat K, --only a,b, --seed S`);
    }
  }
  return options;
}

/**
 * Runs one scenario of one contestant on a fresh directory: a persistent contestant's read in
 * a setup process and a measuring one, anything else in one process.
 */
async function runContestant(
  contestant: PeerContestantName,
  persistent: boolean,
  scenario: PeerScenario,
  { entries, seed }: Options,
): Promise<PeerResult> {
  const dir = await Deno.makeTempDir({ prefix: `streamkit-bench-peers-${contestant}-` });
  const request = { contestant, scenario, entries, seed, dir };
  try {
    if (!persistent || scenario === "append") {
      return await runPeerChild({ ...request, phase: "all" }) as PeerResult;
    }
    await runPeerChild({ ...request, phase: "setup" });
    return await runPeerChild({ ...request, phase: "measure" }) as PeerResult;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function formatRate(rate: number): string {
  return rate.toLocaleString("en-US");
}

function formatRatio(value: number, goal: number | undefined): string {
  const mark = goal === undefined ? "" : value >= goal ? " ✓" : ` ✗ (goal ${goal}×)`;
  return `${value.toFixed(2)}×${mark}`;
}

const options = parseOptions(Deno.args);
await ensureInstalled();

const results = new Map<string, PeerResult[]>();
const started = performance.now();
for (let round = 1; round <= options.repeat; round++) {
  for (const scenario of options.only) {
    for (const { ours, reference, persistent } of PAIRINGS) {
      for (const contestant of [ours, reference]) {
        const result = await runContestant(contestant, persistent, scenario, options);
        const key = `${scenario}/${contestant}`;
        results.set(key, [...results.get(key) ?? [], result]);
        console.error(
          `[${round}/${options.repeat}] peers.${scenario} ${contestant}: ` +
            `${formatRate(result.entriesPerSec)} events/s`,
        );
      }
    }
  }
}
const minutes = ((performance.now() - started) / 60_000).toFixed(1);

const rates = (scenario: PeerScenario, contestant: PeerContestantName) =>
  (results.get(`${scenario}/${contestant}`) ?? []).map((result) => result.entriesPerSec);

const rows: string[] = [];
const jsonLines: string[] = [];
for (const pairing of PAIRINGS) {
  for (const scenario of options.only) {
    const ourRates = rates(scenario, pairing.ours);
    const referenceRates = rates(scenario, pairing.reference);
    // Each round's own ratio, its two contestants measured back to back: on a shared machine
    // whose load drifts between rounds, the pairs compare like with like. The ratio reported is
    // their median; the rates, each contestant's median.
    const roundRatios = ourRates.map((rate, i) => rate / referenceRates[i]);
    const vs = round2(median(roundRatios));
    const spread = `${Math.min(...roundRatios).toFixed(2)}–${Math.max(...roundRatios).toFixed(2)}×`;
    rows.push(
      `| ${pairing.driver} vs ${pairing.referenceLabel} | peers.${scenario} | ${
        formatRate(median(ourRates))
      } | ${formatRate(median(referenceRates))} | ${
        formatRatio(vs, pairing.goals?.[scenario])
      } | ${spread} |`,
    );
    jsonLines.push(JSON.stringify({
      scenario: `peers.${pairing.prefix}${scenario}`,
      entriesPerSec: median(ourRates),
      vs: { [pairing.reference]: vs },
    }));
  }
}

const sqliteSettings = results.get("append/emmett-sqlite")?.[0]?.details as
  | { sqliteVersion?: string; journalMode?: string; synchronous?: number }
  | undefined;
const synchronousNames = ["OFF", "NORMAL", "FULL", "EXTRA"];
/** How Emmett's SQLite store was configured, as its append process read it back. */
function describeSqlite(): string {
  if (!sqliteSettings) return "journal_mode=WAL (set by Emmett), synchronous at SQLite's default";
  const { sqliteVersion, journalMode, synchronous = -1 } = sqliteSettings;
  const durability = synchronous >= 2
    ? "the WAL is synced at every commit"
    : "not synced at every commit (a commit can be lost in a power failure)";
  return `SQLite ${sqliteVersion}, journal_mode=${String(journalMode).toUpperCase()}, ` +
    `synchronous=${synchronousNames[synchronous] ?? synchronous} (${synchronous}): ${durability}`;
}

const busyRetries = (results.get("append/emmett-sqlite") ?? [])
  .reduce((sum, result) => sum + Number(result.details?.busyRetries ?? 0), 0);
const busyNote = busyRetries === 0 ? "" : ` Emmett SQLite's timed appends were retried ` +
  `${busyRetries} time(s) after SQLITE_BUSY ("SQL statements in progress" at COMMIT: see ` +
  "_contestant_emmett.ts), the retries counted in its time.";

console.log(
  `\nstreamkit against Emmett ${installedVersion("@event-driven-io/emmett")} ` +
    `(emmett-sqlite ${installedVersion("@event-driven-io/emmett-sqlite")}, sqlite3 ` +
    `${installedVersion("sqlite3")}), ${options.entries.toLocaleString("en-US")} events of 256 ` +
    `bytes, ${STREAMS} streams, batches of ${BATCH_EVENTS}, median of ${options.repeat} ` +
    `round(s), ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, ` +
    `Deno ${Deno.version.deno} (${minutes} min)\n`,
);
console.log(
  "| contestants | scenario | streamkit events/s | Emmett events/s | vs Emmett | rounds' ratios |",
);
console.log("|---|---|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
console.log(
  `\nAppends: one writer, one append of ${BATCH_EVENTS} events at a time, each awaited, the ` +
    `streams in turn; every append checked against the stream's expected version (streamkit: ` +
    "one `produce` whose records carry the sequences continuing the segment's head, one chunk; " +
    "Emmett: `appendToStream(stream, events, { expectedStreamVersion })`). Each event is the " +
    "same 256 bytes of JSON: streamkit's payload, Emmett's event data. streamkit level: one " +
    "LevelDB batch per append written with sync: true (fdatasync of the log) as it ships. " +
    `Emmett SQLite, as it ships: ${describeSqlite()}; every operation of the store opens a ` +
    "connection of its own and closes it after (the last connection's close checkpoints the " +
    "WAL into the database). In-memory stores: no durability; their append is timed in a " +
    "warm-up and 5 timed passes on fresh stores in one process, the median pass counting. " +
    "Reads: the persistent stores' data is written by a setup process (LevelDB then compacted, " +
    "as the main benchmark does; SQLite's WAL is checkpointed by Emmett's own closes) and read " +
    "by a fresh process, the in-memory ones' in the process that wrote it; 5 timed passes, the " +
    "median counting. readStreams: each stream read in full, one after the other " +
    "(streamkit: `consumeSegment`; Emmett: `readStream`, which parses each event's JSON). " +
    "readAll: streamkit `consumeSpace`; Emmett's stores have no read of everything in global " +
    "order: SQLite, the package's `readMessagesBatch(connection, { after, batchSize: 1000 })`, " +
    "the query its consumers poll, on one connection; in-memory, `readStream` of every stream " +
    "merged by global position. vs Emmett: the median of the rounds' ratios (each round's " +
    "pair measured back to back); rounds' ratios: the lowest and the highest of them." + busyNote,
);
console.log("");
for (const line of jsonLines) console.log(line);
