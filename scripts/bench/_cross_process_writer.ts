/**
 * A writer process of `azure.follow.crossProcess`, both sides: {@linkcode startWriter} starts one
 * and waits until it is ready, and run as a script this module is that process: behind a
 * simulator of its own, it writes its segments on the word go and prints when each chunk was
 * acknowledged.
 *
 * @module
 */

import { readLines } from "../../core/_test_util.ts";
import { spawnScript } from "./_spawn_script.ts";
import { AzureStoreFactory } from "../../drivers/azure/mod.ts";
import { type SimulatedNetwork, startSimulator } from "./_simulator.ts";
import { segmentPayloads, SPACE, STORE_ID } from "./_workload.ts";

/** The environment variable carrying Azurite's connection string to a writer process. */
const CONNECTION_STRING_ENV = "STREAMKIT_BENCH_WRITER_CONNECTION_STRING";

/** The space a writer's untimed warm-up chunk goes to: not the followed one. */
const WARM_UP_SPACE = `${SPACE}-warm-up`;

/**
 * What a writer process is asked to do, as its one argument (JSON): write `entries` payloads
 * (seeded by `seed`) split over `segments` segments of its own, in produce calls of
 * `chunkRecords` records, the segments concurrently, through `network`.
 *
 * @example
 * ```ts ignore
 * const orders: WriterOrders = {
 *   tablePrefix, space: "orders", writer: 0, entries: 1_250, segments: 3, chunkRecords: 10, network: RTT10, seed,
 * };
 * ```
 */
export interface WriterOrders {
  tablePrefix: string;
  /** The space it writes: the one all writers share, or one of its own. */
  space: string;
  /** The writer's index: its segments are named after it. */
  writer: number;
  entries: number;
  segments: number;
  chunkRecords: number;
  network: SimulatedNetwork;
  seed: number;
}

/**
 * A chunk a writer's produce acknowledged: its segment, its last sequence, and when (wall-clock
 * ms, see {@linkcode wallClockMs}).
 *
 * @example
 * ```ts ignore
 * const ack: ChunkAck = { segment: "w0-segment-0", lastSequence: 10, at: wallClockMs() };
 * ```
 */
export interface ChunkAck {
  segment: string;
  lastSequence: number;
  at: number;
}

/**
 * What a writer process reports once it has written everything: every chunk it was
 * acknowledged, when it started (on the word go) and when its last chunk was acknowledged.
 *
 * @example
 * ```ts ignore
 * const perSecond = report.entries / ((report.lastAckAt - report.startedAt) / 1000);
 * ```
 */
export interface WriterReport {
  entries: number;
  startedAt: number;
  lastAckAt: number;
  acks: ChunkAck[];
}

/** A writer's stdout lines, one JSON object each. */
type WriterLine =
  | { type: "ready" }
  | ({ type: "ack" } & ChunkAck)
  | { type: "done"; entries: number; startedAt: number; lastAckAt: number };

/**
 * This host's wall clock in ms, with sub-millisecond precision: comparable between processes
 * of one host.
 *
 * @example
 * ```ts ignore
 * const deliveredAt = wallClockMs();
 * ```
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The name of segment `index` of writer `writer`: `w1-segment-2`. */
function writerSegment(writer: number, index: number): string {
  return `w${writer}-segment-${index}`;
}

/**
 * A writer process: `ready` resolves once it has opened its store and warmed up, `go()` then
 * starts its writes, `report` resolves once it has written everything and exited (and rejects
 * if it fails, before or after ready); `kill()` ends it early.
 *
 * @example
 * ```ts ignore
 * const writer = startWriter(orders, connectionString);
 * await writer.ready;
 * writer.go();
 * const report = await writer.report;
 * ```
 */
export interface Writer {
  readonly ready: Promise<void>;
  go(): void;
  readonly report: Promise<WriterReport>;
  kill(): void;
}

/**
 * Starts a writer process with `orders`, on the Azurite `connectionString` names (its
 * simulator in front).
 *
 * @example
 * ```ts ignore
 * const writers = orders.map((o) => startWriter(o, connectionString));
 * ```
 */
export function startWriter(orders: WriterOrders, connectionString: string): Writer {
  const child = spawnScript(import.meta.url, orders, { [CONNECTION_STRING_ENV]: connectionString });
  const what = `writer ${orders.writer}`;
  const acks: ChunkAck[] = [];
  let done: Extract<WriterLine, { type: "done" }> | undefined;
  let sayReady = () => {};
  const readyLine = new Promise<void>((resolve) => sayReady = resolve);
  const output = readLines(child.stdout, (text) => {
    const line = JSON.parse(text) as WriterLine;
    if (line.type === "ready") sayReady();
    else if (line.type === "done") done = line;
    else acks.push({ segment: line.segment, lastSequence: line.lastSequence, at: line.at });
  });
  const report = Promise.all([output, child.status]).then(([rest, status]) => {
    if (!status.success) throw new Error(`${what}: exit code ${status.code}`);
    if (rest !== "" || done === undefined) throw new Error(`${what}: no report`);
    const { entries, startedAt, lastAckAt } = done;
    return { entries, startedAt, lastAckAt, acks };
  });
  // Never an unhandled rejection: whoever awaits `ready` or `report` hears of a failure.
  report.catch(() => {});
  const stdin = child.stdin.getWriter();
  return {
    // A writer that fails before it is ready fails `ready` too.
    ready: Promise.race([readyLine, report.then(() => {})]),
    go: () => {
      stdin.write(new TextEncoder().encode("go\n")).then(() => stdin.close()).catch(() => {});
    },
    report,
    kill: () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
    },
  };
}

function print(line: WriterLine): void {
  console.log(JSON.stringify(line));
}

/** Resolves once the parent says go (or closes stdin). */
async function wordGo(): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();
}

/** The writer process: reads its orders, writes, and prints its lines. */
async function runWriter(orders: WriterOrders): Promise<void> {
  const connectionString = Deno.env.get(CONNECTION_STRING_ENV);
  if (!connectionString) throw new Error(`${CONNECTION_STRING_ENV} is not set`);
  const { writer, chunkRecords } = orders;
  const segments = segmentPayloads(orders.entries, orders.segments, orders.seed + writer)
    .map(({ payloads }, index) => ({ segment: writerSegment(writer, index), payloads }));
  const { network, seed } = orders;
  await using simulator = await startSimulator(connectionString, network, seed + writer + 1);
  await using factory = new AzureStoreFactory({
    connectionString: simulator.connectionString,
    allowInsecureHttp: true,
    tablePrefix: orders.tablePrefix,
  });
  const store = await factory.newStore(STORE_ID);
  // One chunk outside the followed space: the connection and the produce path warmed up.
  const warmUp = [{ sequence: 1, payload: segments[0].payloads[0] }];
  for await (const _ of store.produce({ space: WARM_UP_SPACE, segment: `w${writer}` }, warmUp)) {
    // The loop drives the write.
  }
  print({ type: "ready" });
  await wordGo();
  const startedAt = wallClockMs();
  let lastAckAt = startedAt;
  await Promise.all(segments.map(async ({ segment, payloads }) => {
    for (let start = 0; start < payloads.length; start += chunkRecords) {
      const records = payloads.slice(start, start + chunkRecords)
        .map((payload, i) => ({ sequence: start + i + 1, payload }));
      for await (const status of store.produce({ space: orders.space, segment }, records)) {
        const at = wallClockMs();
        lastAckAt = Math.max(lastAckAt, at);
        print({ type: "ack", segment, lastSequence: status.lastSequence, at });
      }
    }
  }));
  print({ type: "done", entries: orders.entries, startedAt, lastAckAt });
}

if (import.meta.main) await runWriter(JSON.parse(Deno.args[0]) as WriterOrders);
