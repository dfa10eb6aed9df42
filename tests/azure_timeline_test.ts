// One timeline for many writer processes (drivers/azure/PROTOCOL.md I3, I6, I12, I13): four
// writer processes on one space, each behind its own simulated link (20 to 120 ms round trips)
// and with its own clock offset inside maxClockSkewMs, while a follower and an offset-resuming
// consumeSpace reader in this process read on a fast link. Both must receive every committed
// entry exactly once and in order: with every writer alive, with one SIGKILLed at a random step,
// and with 10% transient faults on every link.
// STREAMKIT_TEST_SEED replays the random choices; STREAMKIT_TEST_TABLE_TIME=off makes every
// process keep time by its own clock instead of the table's, to show these tests fail without it.

import assert from "node:assert/strict";
import { SeededRandom, testSeed } from "../core/_test_random.ts";
import { type Entry, spaceOffset, type Store } from "../core/mod.ts";
import { sleep } from "../core/_test_util.ts";
import {
  type AzureSimulator,
  type CommitStep,
  type FaultProxy,
  startAzureSimulator,
  startAzurite,
  startFaultProxy,
  switchOffTableTime,
} from "../drivers/azure/_test_support.ts";
import { azuriteConnectionString, azuriteFactory } from "./_azure_test_store.ts";
import {
  assertExactlyOnceInOrder,
  compareTimeline,
  type FollowChildOrders,
  Following,
  runChild,
  type Stream,
} from "./_azure_follow_support.ts";

const SPACE = "orders";
const WRITERS = [
  { latencyMs: 120, clockOffsetMs: -400 },
  { latencyMs: 20, clockOffsetMs: 350 },
  { latencyMs: 80, clockOffsetMs: -150 },
  { latencyMs: 50, clockOffsetMs: 150 },
];
/** The readers' clock is off too, ahead: reads bounded by it would pass chunks in flight. */
const READER_CLOCK_OFFSET_MS = 300;
const SEGMENTS_PER_WRITER = 3;
const PER_STREAM = 40;
const KILL_STEPS: CommitStep[] = ["marker", "commit", "space-rows", "inventory"];
const tableTime = Deno.env.get("STREAMKIT_TEST_TABLE_TIME") !== "off";

const azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

/** Reads the space again and again, each time from the offset of the last entry it received. */
class ResumingReader {
  readonly entries: Entry[] = [];
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(store: Store) {
    this.#loop = (async () => {
      while (!this.#stopped) {
        const last = this.entries.at(-1);
        const offset = last && spaceOffset(last);
        for await (const entry of store.consumeSpace({ space: SPACE, offset })) {
          this.entries.push(entry);
        }
        await sleep(20);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

/** How many faults the proxies injected in all. */
function faultsOf(...proxies: FaultProxy[]): number {
  return proxies.reduce(
    (sum, proxy) => sum + Object.values(proxy.counts.faults).reduce((a, b) => a + b, 0),
    0,
  );
}

/** The longest pause, in ms, between two deliveries of `following` while `busy()` holds. */
function watchPauses(following: Following, busy: () => boolean): () => number {
  let longest = 0;
  let lastCount = 0;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (following.entries.length !== lastCount) {
      lastCount = following.entries.length;
      lastAt = now;
    } else if (busy() && lastCount > 0) {
      longest = Math.max(longest, now - lastAt);
    }
  }, 10);
  return () => {
    clearInterval(timer);
    return Math.round(longest);
  };
}

async function scenario(
  name: string,
  { kill, faultRate }: { kill: boolean; faultRate: number },
): Promise<void> {
  const seed = testSeed();
  const random = new SeededRandom(seed);
  const storeId = crypto.randomUUID();
  const tablePrefix = `tl${crypto.randomUUID().slice(0, 6)}`;
  const simulators: AzureSimulator[] = [];
  const readerProxy = await startFaultProxy({ targetPort: azurite.port, seed, faultRate });
  const readerClock = { now: () => Date.now() + READER_CLOCK_OFFSET_MS };
  const reader = azuriteFactory(azurite, tablePrefix, { clock: readerClock }, readerProxy);
  if (!tableTime) switchOffTableTime(reader, readerClock.now);
  try {
    for (const [i, writer] of WRITERS.entries()) {
      simulators.push(
        await startAzureSimulator({
          targetPort: azurite.port,
          seed: seed + i,
          latencyMs: writer.latencyMs,
          jitterMs: writer.latencyMs / 4,
          partitionEntitiesPerSecond: 0,
          accountRequestsPerSecond: 0,
          faultRate,
        }),
      );
    }
    const store = await reader.newStore(storeId);
    const following = await Following.caughtUp(store, [SPACE], 100);
    const resuming = new ResumingReader(store);
    let writing = true;
    const longestPause = watchPauses(following, () => writing);

    const killed = kill ? random.int(0, WRITERS.length - 1) : -1;
    // The stall a dead writer causes: from its death until the follower delivers an entry
    // stamped after it (one of the other writers'), its marker resolved meanwhile.
    let killedAt: number | undefined;
    let stallMs: number | undefined;
    const stallWatch = setInterval(() => {
      const last = following.entries.at(-1);
      if (killedAt !== undefined && stallMs === undefined && last && last.timestamp > killedAt) {
        stallMs = Date.now() - killedAt;
      }
    }, 5);
    const killStep = KILL_STEPS[random.int(0, KILL_STEPS.length - 1)];
    const started = performance.now();
    const runs = await Promise.all(WRITERS.map((writer, i) => {
      const streams: Stream[] = Array.from(
        { length: SEGMENTS_PER_WRITER },
        (_, j) => ({ space: SPACE, segment: `w${i}-${j}` }),
      );
      const orders: FollowChildOrders = {
        tablePrefix,
        storeId,
        streams,
        seed: seed + 100 + i,
        produceSizes: [1, 12],
        clockOffsetMs: writer.clockOffsetMs,
        ownClock: !tableTime,
        mode: i === killed
          ? { kind: "kill", afterCommits: random.int(3, 12), step: killStep }
          : { kind: "produce", perStream: PER_STREAM, readHeads: false },
      };
      const run = runChild(orders, azuriteConnectionString(azurite, simulators[i]));
      return i === killed ? run.then((run) => (killedAt = Date.now(), run)) : run;
    }));
    writing = false;
    const writeMs = Math.round(performance.now() - started);
    for (const [i, run] of runs.entries()) {
      if (i === killed) {
        assert.equal(run.signal, "SIGKILL", `writer ${i} was to die: ${run.stderr}`);
      } else {
        assert.equal(run.code, 0, `writer ${i} failed: ${run.stderr}`);
      }
    }

    // What the store holds, read segment by segment, in the timeline's order. A killed writer's
    // chunk past its commit point is completed by the readers' resolution of its marker.
    readerProxy.faultRate = 0;
    const settleStarted = performance.now();
    let committed: Entry[] = [];
    const settled = async () => {
      committed = [];
      for (let i = 0; i < WRITERS.length; i++) {
        for (let j = 0; j < SEGMENTS_PER_WRITER; j++) {
          for await (const entry of store.consumeSegment({ space: SPACE, segment: `w${i}-${j}` })) {
            committed.push(entry);
          }
        }
      }
      committed.sort(compareTimeline);
      return following.entries.length >= committed.length &&
        resuming.entries.length >= committed.length;
    };
    const deadline = Date.now() + 20_000;
    while (!(await settled())) {
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const settleMs = Math.round(performance.now() - settleStarted);
    const pause = longestPause();
    clearInterval(stallWatch);
    await following.stop();
    await resuming.stop();
    console.log(
      `${name}: seed ${seed}, ${committed.length} entries from ${WRITERS.length} writer processes ` +
        `in ${writeMs} ms${
          kill
            ? ` (writer ${killed} SIGKILLed after "${killStep}": the follower delivered past ` +
              `its death ${stallMs ?? "(never: the others had finished)"} ms later)`
            : ""
        }; ` +
        `the follower's longest pause while they wrote ${pause} ms, caught up ${settleMs} ms ` +
        `after they ended; faults injected: ${faultsOf(readerProxy, ...simulators)}`,
    );
    assertExactlyOnceInOrder(following.entries, committed);
    assert.equal(following.entries.length, committed.length, "the follower missed entries");
    assertExactlyOnceInOrder(resuming.entries, committed);
    assert.equal(resuming.entries.length, committed.length, "the resuming reader missed entries");
  } finally {
    await reader.close();
    for (const simulator of simulators) await simulator.stop();
    await readerProxy.stop();
  }
}

Deno.test("azure timeline: four writer processes, slow links and skewed clocks: every entry once and in order", () =>
  scenario("four writers", { kill: false, faultRate: 0 }));

Deno.test("azure timeline: one of four writer processes SIGKILLed at a random step: every entry once and in order", () =>
  scenario("a writer killed", { kill: true, faultRate: 0 }));

Deno.test("azure timeline: 10% transient faults on every link: every entry once and in order", () =>
  scenario("10% faults", { kill: false, faultRate: 0.1 }));
