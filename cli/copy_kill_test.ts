// `streamkit copy` SIGKILLed at seeded moments and run again, level → azure, level → level and
// azure → level, until the destination equals the source entry by entry (tests/KILL_TESTS.md).

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Entry, ProduceRecord, Store } from "@streamkit/core";
import { AzureStoreFactory } from "@streamkit/azure";
import { LevelStoreFactory } from "@streamkit/level";
import { SeededRandom, testSeed } from "../core/_test_random.ts";
import { type Azurite, segmentPartition, startAzurite } from "../drivers/azure/_test_support.ts";
import { directTable, markerKeys } from "../tests/_azure_inspect.ts";
import {
  assertSameStore,
  CopyProcess,
  copySummary,
  dumpStore,
  entriesOf,
  pseudoTerminalAvailable,
  type SpaceDump,
} from "./_test_copy_kill.ts";
import { streamkit, withFactoryStore, withLevelStore } from "./_test_cli.ts";

const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
/** Azure's chunk limit: a trx of more entries is restored in several chunks. */
const AZURE_CHUNK = 90;
/** The space copied alone to time a copy's start-up. */
const TINY_SPACE = "tiny";
const BIG_TRX = { space: "orders", segment: "big trx", size: 2_400 };

/** Space → segments: odd names, prefix pairs (`seg`/`seg2`, `🎉`/`🎉🎉`, spaces too). */
const NAMES: Record<string, string[]> = {
  "orders": ["order 1", "order 10", "a/b\\c#d?e%f", "seg", "seg2", BIG_TRX.segment],
  "🦊 space": ["🎉", "🎉🎉", "\uFEFFbom"],
  "🦊 space 2": ["x", "x y"],
  "\uFEFF": ["\uFEFF", "\uFEFF\uFEFF", "%2F#?"],
  [TINY_SPACE]: ["only"],
};

/** A space only the bigger source holds, so that a copy between LevelDB stores takes a while. */
const BULK_SPACE = "📦 bulk";
const BULK_SEGMENTS = ["b 1", "b 10", "b 2", "b 3", "b 4", "b 5", "b 6", "b 7", "b 8"];

/**
 * The trx sizes of each segment: 1 to 150 entries each (many above Azure's 90), one big; with
 * `bulk`, also a space of about 30,000 small entries.
 */
function trxPlan(random: SeededRandom, bulk: boolean): Map<string, Map<string, number[]>> {
  const plan = new Map<string, Map<string, number[]>>();
  if (bulk) {
    const bySegment = new Map<string, number[]>();
    for (const segment of BULK_SEGMENTS) {
      const sizes: number[] = [];
      for (let n = 0, target = random.int(3_000, 4_000); n < target; n += sizes.at(-1)!) {
        sizes.push(random.int(1, 600));
      }
      bySegment.set(segment, sizes);
    }
    plan.set(BULK_SPACE, bySegment);
  }
  for (const [space, segments] of Object.entries(NAMES)) {
    const bySegment = new Map<string, number[]>();
    for (const segment of segments) {
      const sizes: number[] = [];
      if (space === TINY_SPACE) sizes.push(1);
      else if (segment === BIG_TRX.segment) sizes.push(3, BIG_TRX.size, 5, 37);
      else {
        const target = random.int(150, 500);
        for (let n = 0; n < target;) {
          const size = random.chance(0.3) ? random.int(91, 150) : random.int(1, 90);
          sizes.push(size);
          n += size;
        }
      }
      bySegment.set(segment, sizes);
    }
    plan.set(space, bySegment);
  }
  return plan;
}

function payload(random: SeededRandom, space: string): Uint8Array {
  if (space === BULK_SPACE) return random.bytes(random.int(0, 40));
  const kind = random.float();
  if (kind < 0.08) return new Uint8Array(0);
  return random.bytes(kind < 0.93 ? random.int(1, 300) : random.int(1_000, 4_000));
}

function metadata(random: SeededRandom, sequence: number): Record<string, string> | undefined {
  const kind = random.float();
  if (kind < 0.2) return { kind: "odd ✓", "with space": "a\tb", "🔑": "\uFEFFvalue" };
  if (kind < 0.25) return { n: String(sequence) };
  return undefined;
}

/** Produces the plan into `store`, one trx per produce, the segments of a space taking turns. */
async function seedSource(
  store: Store,
  plan: Map<string, Map<string, number[]>>,
  random: SeededRandom,
) {
  for (const [space, bySegment] of plan) {
    const next = new Map(
      [...bySegment.keys()].map((segment) => [segment, { trx: 0, sequence: 1 }]),
    );
    for (let more = true; more;) {
      more = false;
      for (const [segment, sizes] of bySegment) {
        const at = next.get(segment)!;
        if (at.trx === sizes.length) continue;
        const records: ProduceRecord[] = [];
        for (let i = 0; i < sizes[at.trx]; i++, at.sequence++) {
          records.push({
            sequence: at.sequence,
            payload: payload(random, space),
            metadata: metadata(random, at.sequence),
          });
        }
        for await (const _ of store.produce({ space, segment }, records));
        at.trx++;
        more ||= at.trx < sizes.length;
      }
    }
  }
}

/** Where a segment of the destination stands after a kill, looked at without the driver. */
interface Presence {
  /** Entries committed in all segments. */
  entries: number;
  /** Space, NUL, segment → the last sequence present. */
  last: Map<string, number>;
  /** What crashed writers left for the rerun to settle (Azure: markers, pending fanouts). */
  leftovers: string;
}

const keyOf = (space: string, segment: string) => `${space}\u0000${segment}`;

/** A destination of the copies. */
interface Destination {
  label: string;
  /** `--to ...` (and the options its side needs). */
  to: string[];
  /** `--db ...` for `verify`. */
  db: string[];
  /** Azure: trxs above 90 entries are restored in several chunks. */
  chunk: number | undefined;
  /** After a kill: what is present, read without opening the store through the driver. */
  presence(source: SpaceDump[]): Promise<Presence>;
  dump(): Promise<SpaceDump[]>;
}

function levelDestination(path: string): Destination {
  return {
    label: `level:${path}`,
    to: ["--to", `level:${path}`],
    db: ["--db", `level:${path}`],
    chunk: undefined,
    // LevelDB has nothing to recover: opening the store only reads it (the kill released its lock).
    presence: async (source) => {
      const factory = new LevelStoreFactory({ path });
      const last = new Map<string, number>();
      try {
        if ((await factory.listStores()).includes(STORE)) {
          const store = await factory.newStore(STORE);
          for (const { space, segments } of source) {
            for (const { segment } of segments) {
              const status = await store.getSegmentStatus(space, segment);
              if (status !== undefined) last.set(keyOf(space, segment), status.lastSequence);
            }
          }
        }
      } finally {
        await factory.close();
      }
      return { entries: sum(last.values()), last, leftovers: "" };
    },
    dump: () => withLevelStore(path, STORE, dumpStore),
  };
}

function azureDestination(azurite: Azurite, prefix: string): Destination {
  const db = ["--db", "azure", "--table-prefix", prefix];
  return {
    label: `azure (table prefix ${prefix})`,
    to: ["--to", "azure", "--table-prefix", prefix],
    db,
    chunk: AZURE_CHUNK,
    // The rows themselves: opening the store would run the recovery the rerun has to do.
    presence: async (source) => {
      const table = directTable(azurite.connectionString, prefix, STORE);
      const last = new Map<string, number>();
      let pending = 0;
      for (const { space, segments } of source) {
        for (const { segment } of segments) {
          let head: Record<string, unknown>;
          try {
            head = await table.getEntity(segmentPartition(space, segment), "head");
          } catch (error) {
            // No head, or no table yet.
            if ((error as { statusCode?: number }).statusCode === 404) continue;
            throw error;
          }
          last.set(keyOf(space, segment), Number(head.lastSequence));
          if (typeof head.pending === "string" && head.pending !== "") pending++;
        }
      }
      let markers = 0;
      try {
        markers = (await markerKeys(table)).length;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      }
      return {
        entries: sum(last.values()),
        last,
        leftovers: `${markers} pending marker(s), ${pending} head(s) marking a fanout`,
      };
    },
    dump: () =>
      withFactoryStore(
        new AzureStoreFactory({
          connectionString: azurite.connectionString,
          allowInsecureHttp: true,
          tablePrefix: prefix,
        }),
        STORE,
        dumpStore,
      ),
  };
}

function sum(numbers: Iterable<number>): number {
  let total = 0;
  for (const n of numbers) total += n;
  return total;
}

/**
 * Segments the destination holds part of a trx of: each must stop between two of its chunks (a
 * multiple of `chunk` entries into the trx); with no `chunk`, never inside a trx.
 */
function assertStopsBetweenChunks(
  presence: Presence,
  source: SpaceDump[],
  chunk: number | undefined,
  where: string,
): number {
  let inside = 0;
  for (const { space, segments } of source) {
    for (const { segment, entries } of segments) {
      const last = presence.last.get(keyOf(space, segment)) ?? 0;
      if (last === 0 || last >= entries.length) continue;
      const [lastEntry, next] = [entries[last - 1], entries[last]];
      if (lastEntry.trx.id !== next.trx.id) continue;
      inside++;
      const trxStart = entries.find((entry: Entry) => entry.trx.id === lastEntry.trx.id)!.sequence;
      const into = last - trxStart + 1;
      assert.ok(
        chunk !== undefined && into % chunk === 0,
        `${where}: space ${JSON.stringify(space)} segment ${JSON.stringify(segment)} stops ` +
          `${into} entries into a trx of the source (at sequence ${last}), not between two chunks`,
      );
    }
  }
  return inside;
}

interface Scenario {
  label: string;
  /** `--db ...` of the source. */
  from: string[];
  source: SpaceDump[];
  /** A destination for the timing copies, and the one that is killed. */
  calibration: Destination;
  destination: Destination;
  kills: number;
  /** Aim the first kill at the middle of the big trx (split into chunks on Azure). */
  aimAtBigTrx: boolean;
}

const fmt = (n: number) => n.toLocaleString("en-US");
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One scenario: timing copies, kills and reruns, the last reruns, verify, the comparison. */
async function runScenario(
  scenario: Scenario,
  options: { random: SeededRandom; pty: boolean; env: Record<string, string> },
): Promise<{ kills: number; runs: number }> {
  const { random, pty, env } = options;
  const { source, destination } = scenario;
  const total = entriesOf(source);
  const log = (line: string) => console.log(`  [${scenario.label}] ${line}`);
  const copyArgs = (to: Destination) => [
    "copy",
    ...scenario.from,
    ...to.to,
    "--allow-insecure-http",
  ];
  const started = performance.now();
  let runs = 0;
  const uninterrupted = async (args: string[], what: string) => {
    runs++;
    const outcome = await new CopyProcess(args, { env, pty }).wait();
    assert.equal(outcome.code, 0, `${what} failed:\n${outcome.output}`);
    return outcome;
  };

  // The source is sound (reading it all also settles what its writer left, e.g. Azure heads
  // whose fanout was never cleared, which would slow the first copy from it).
  const sourceVerify = await streamkit(["verify", ...scenario.from, "--allow-insecure-http"], {
    env,
  });
  assert.equal(sourceVerify.code, 0, `the source does not verify:\n${sourceVerify.stderr}`);

  // The observed duration of a copy: its start-up (a copy of one entry, the faster of two), a
  // copy of everything, and a copy that finds everything present (the faster of two: the first
  // one may also settle what the copy left, e.g. Azure heads whose fanout was never cleared).
  const tinyArgs = [...copyArgs(scenario.calibration), "--space", TINY_SPACE];
  const startup = Math.min(
    (await uninterrupted(tinyArgs, "the start-up copy")).elapsedMs,
    (await uninterrupted(tinyArgs, "the start-up copy")).elapsedMs,
  );
  const full = await uninterrupted(copyArgs(scenario.calibration), "the timing copy");
  assert.equal(copySummary(full.output)?.entries, total, full.output);
  const reruns = [
    await uninterrupted(copyArgs(scenario.calibration), "the timing rerun"),
    await uninterrupted(copyArgs(scenario.calibration), "the timing rerun"),
  ];
  for (const rerun of reruns) assert.equal(copySummary(rerun.output)?.present, total, rerun.output);
  const check = reruns[0].elapsedMs < reruns[1].elapsedMs ? reruns[0] : reruns[1];
  log(
    `observed: start-up ${seconds(startup)}, copy ${seconds(full.elapsedMs)} ` +
      `(${full.progress.length} progress lines), rerun with all present ${
        seconds(check.elapsedMs)
      }`,
  );
  // How long a copy takes to check `entries` present already, and to restore `entries`.
  const checking = (entries: number) => (check.elapsedMs - startup) * entries / total;
  const restoring = (entries: number) => (full.elapsedMs - startup) * entries / total;
  // The big trx's place in the copy's order (the source's spaces and segments, in order).
  let bigTrxAt = 0;
  for (const { space, segments } of source) {
    for (const { segment, entries } of segments) {
      if (space === BIG_TRX.space && segment === BIG_TRX.segment) {
        bigTrxAt += entries.findIndex((entry) => entry.trx.id !== entries[0].trx.id);
        break;
      }
      bigTrxAt += entries.length;
    }
    if (space === BIG_TRX.space) break;
  }

  let present = 0;
  let kills = 0;
  let insideTrx = 0;
  let advanced = 0;
  for (let attempt = 1; kills < scenario.kills; attempt++) {
    assert.ok(attempt <= 2 * scenario.kills, "too many copies ended before their kill");
    const remaining = total - present;
    // A random part of what is left to restore, at most about a fair share of it: the kills to
    // come need something to interrupt too.
    const share = Math.min(0.8, 1.2 / (scenario.kills - kills));
    const part = random.int(5, Math.round(share * 100)) / 100;
    // Restoring starts once the present entries are checked (less a margin: timing varies).
    const restoreStart = startup + 0.9 * checking(present);
    let plan: { atMs: number; progress?: number; aim: string };
    if (attempt === 1 && scenario.aimAtBigTrx) {
      // The middle of the big trx, which Azure restores in chunks of 90: by time, or on a
      // progress line past it if one comes first (progress may be counted per batch of trxs).
      const target = bigTrxAt + Math.floor(BIG_TRX.size / 2);
      plan = { atMs: startup + restoring(target), aim: "big trx" };
      if (pty) plan.progress = target;
    } else if (remaining === 0) {
      plan = { atMs: startup + part * checking(present), aim: "time, all present" };
    } else if (pty && attempt % 2 === 0) {
      plan = {
        atMs: restoreStart + Math.min(0.9, part + 0.2) * restoring(remaining),
        progress: present + Math.max(1, Math.round(part * remaining)),
        aim: "progress",
      };
    } else {
      plan = { atMs: restoreStart + part * restoring(remaining), aim: "time" };
    }
    runs++;
    const copy = new CopyProcess(copyArgs(destination), { env, pty });
    const outcome = await copy.killAt(plan);
    const reported = outcome.progress.filter((p) => p.atMs <= (outcome.killedAtMs ?? Infinity))
      .at(-1)?.entries;
    const after = await destination.presence(source);
    const where = `after copy ${attempt}`;
    const aimed = plan.progress === undefined
      ? `at ${seconds(plan.atMs)}`
      : `on progress >= ${fmt(plan.progress)} (else at ${seconds(plan.atMs)})`;
    if (!outcome.killed) {
      // Never exit 1: a rerun that met an interrupted destination must continue it.
      assert.equal(
        outcome.code,
        0,
        `${where} (not killed): exit ${outcome.code}\n${outcome.output}`,
      );
      assert.equal(after.entries, total, `${where}: ended by itself, but not all present`);
      log(
        `copy ${attempt} (${plan.aim}, ${aimed}) ended by itself in ${seconds(outcome.elapsedMs)}`,
      );
    } else {
      kills++;
      if (after.entries > present) advanced++;
      const inside = assertStopsBetweenChunks(after, source, destination.chunk, where);
      insideTrx += inside > 0 ? 1 : 0;
      log(
        `kill ${kills} (${plan.aim}, ${aimed}): SIGKILL at ${seconds(outcome.killedAtMs!)}` +
          `${outcome.onProgress ? " on a progress line" : ""}, last progress ` +
          `${reported === undefined ? "none drawn" : `${fmt(reported)} entries`}; present ` +
          `${fmt(after.entries)}/${fmt(total)} (+${fmt(after.entries - present)})` +
          (inside > 0 ? `, ${inside} segment(s) stopped between chunks of one trx` : "") +
          (after.leftovers === "" ? "" : `; left: ${after.leftovers}`),
      );
    }
    assert.ok(after.entries >= present, `${where}: entries present went back`);
    for (const { space, segments } of source) {
      for (const { segment, entries } of segments) {
        assert.ok((after.last.get(keyOf(space, segment)) ?? 0) <= entries.length, where);
      }
    }
    present = after.entries;
  }

  // The last rerun, uninterrupted: everything the kills left is present and equal, the rest is
  // restored; and once more: nothing is restored.
  runs += 2;
  const last = await streamkit(copyArgs(destination), { env });
  assert.equal(last.code, 0, `the last rerun failed:\n${last.stderr}`);
  assert.deepEqual(copySummary(last.stderr), { entries: total, present }, last.stderr);
  const again = await streamkit(copyArgs(destination), { env });
  assert.equal(again.code, 0, `the second rerun failed:\n${again.stderr}`);
  assert.deepEqual(copySummary(again.stderr), { entries: total, present: total }, again.stderr);
  log(
    `last rerun: ${fmt(present)} present, ${fmt(total - present)} restored; second rerun: ` +
      `${fmt(total)} present, 0 restored`,
  );
  const verify = await streamkit(["verify", ...destination.db, "--allow-insecure-http"], { env });
  assert.equal(verify.code, 0, `verify found problems:\n${verify.stdout}${verify.stderr}`);
  assert.match(verify.stderr, /^verify: sound: /m);
  assertSameStore(await destination.dump(), source, `${scenario.label}: destination`);
  log(
    `${kills} kills (${advanced} after more entries were committed, ${insideTrx} leaving a ` +
      `trx between chunks), ${runs} copies; verify sound; ` +
      `${fmt(total)} entries equal; ${seconds(performance.now() - started)}`,
  );
  return { kills, runs };
}

Deno.test("copy SIGKILLed at random moments and rerun: level → azure, level → level, azure → level, exact", async (t) => {
  const started = performance.now();
  const seed = testSeed();
  const random = new SeededRandom(seed);
  const pty = await pseudoTerminalAvailable();
  console.log(
    `\ncopy kill test: seed ${seed} (STREAMKIT_TEST_SEED=${seed} replays it); kills ` +
      (pty ? "by time and on progress lines (pseudo-terminal)" : "by time (no pseudo-terminal)"),
  );
  const azurite = await startAzurite();
  const dir = await Deno.makeTempDir({ prefix: "streamkit-copy-kill-" });
  const env = { STREAMKIT_AZURE_CONNECTION_STRING: azurite.connectionString };
  try {
    // The source of the copies from LevelDB, and a bigger one for the copy to LevelDB.
    const makeSource = async (name: string, bulk: boolean) => {
      const path = join(dir, name);
      const plan = trxPlan(random, bulk);
      await withLevelStore(path, STORE, (store) => seedSource(store, plan, random));
      const dump = await withLevelStore(path, STORE, dumpStore);
      const all = dump.flatMap((space) => space.segments.flatMap((segment) => segment.entries));
      console.log(
        `${name}: ${fmt(all.length)} entries in ${new Set(all.map((e) => e.trx.id)).size} ` +
          `trxs, ${dump.reduce((n, space) => n + space.segments.length, 0)} segments, ` +
          `${dump.length} spaces`,
      );
      return { path, dump };
    };
    const source = await makeSource("source", false);
    const bigSource = await makeSource("bigger source", true);
    const options = { random, pty, env };
    const results: Record<string, { kills: number; runs: number }> = {};

    const scenarios: Scenario[] = [
      {
        label: "level → azure",
        from: ["--db", `level:${source.path}`],
        source: source.dump,
        calibration: azureDestination(azurite, "killcal"),
        destination: azureDestination(azurite, "killed"),
        kills: 6,
        aimAtBigTrx: true,
      },
      {
        label: "level → level",
        from: ["--db", `level:${bigSource.path}`],
        source: bigSource.dump,
        calibration: levelDestination(join(dir, "level-calibration")),
        destination: levelDestination(join(dir, "level-killed")),
        kills: 5,
        aimAtBigTrx: false,
      },
      // The source: the Azure store the first scenario's kills and reruns made, equal to the
      // level source by then.
      {
        label: "azure → level",
        from: ["--db", "azure", "--table-prefix", "killed"],
        source: source.dump,
        calibration: levelDestination(join(dir, "azure-calibration")),
        destination: levelDestination(join(dir, "azure-killed")),
        kills: 5,
        aimAtBigTrx: false,
      },
    ];
    for (const scenario of scenarios) {
      await t.step(scenario.label, async () => {
        results[scenario.label] = await runScenario(scenario, options);
      });
    }

    for (const [label, { kills }] of Object.entries(results)) {
      assert.ok(kills >= (label === "level → azure" ? 5 : 3), `${label}: ${kills} kills`);
    }
    console.log(
      `copy kill test: ${
        Object.entries(results).map(([label, { kills, runs }]) =>
          `${label} ${kills} kills / ${runs} copies`
        ).join(", ")
      }; ${seconds(performance.now() - started)} in all (seed ${seed})`,
    );
  } catch (error) {
    console.error(`copy kill test failed with seed ${seed}: STREAMKIT_TEST_SEED=${seed}`);
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
    await azurite.stop();
  }
});
