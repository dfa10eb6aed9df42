/**
 * The peers benchmark's Emmett contestants, "emmett-sqlite" and "emmett-memory", through Emmett's
 * published API only (see `scripts/bench/README.md`). The packages are loaded by specifiers the
 * type checker does not follow, so the few signatures used are declared here.
 *
 * @module
 */

import {
  expectCount,
  medianPass,
  medianReadPass,
  PASSES,
  type Passes,
  type ScenarioRun,
  throughput,
  timed,
} from "../_contestant.ts";
import {
  appendOrder,
  EVENT_DATA_CHARS,
  type PeerArgs,
  type PeerContestant,
  type PeerStream,
  peerStreams,
  STREAM_NAMES,
} from "./_workload.ts";

/** An event as Emmett appends it. */
interface EmmettEvent {
  type: string;
  data: { b: string };
}

/** An event as Emmett reads it back. */
interface EmmettReadEvent extends EmmettEvent {
  metadata: { streamPosition: bigint; globalPosition: bigint };
}

/** The part of Emmett's `EventStore` used here. */
interface EmmettEventStore {
  appendToStream(
    streamName: string,
    events: EmmettEvent[],
    options?: { expectedStreamVersion?: bigint },
  ): Promise<{ nextExpectedStreamVersion: bigint }>;
  readStream(streamName: string): Promise<{ events: EmmettReadEvent[] }>;
}

/** `SQLiteConnection` of `@event-driven-io/emmett-sqlite`, the part used here. */
interface SQLiteConnection {
  close(): void;
  querySingle<T>(sql: string): Promise<T | null>;
}

/** A batch of `readMessagesBatch`. */
interface MessagesBatch {
  currentGlobalPosition: bigint;
  messages: EmmettReadEvent[];
  areEventsLeft: boolean;
}

/** The part of `@event-driven-io/emmett-sqlite` used here. */
interface EmmettSqlite {
  getSQLiteEventStore(options: { fileName: string }): EmmettEventStore;
  sqliteConnection(options: { fileName: string }): SQLiteConnection;
  readMessagesBatch(
    connection: SQLiteConnection,
    options: { after: bigint; batchSize: number },
  ): Promise<MessagesBatch>;
}

/** The part of `@event-driven-io/emmett` used here. */
interface Emmett {
  getInMemoryEventStore(): EmmettEventStore;
}

/** Typed `string`: the type checker does not follow them (see the module doc). */
const EMMETT: string = "@event-driven-io/emmett";
const EMMETT_SQLITE: string = "@event-driven-io/emmett-sqlite";

/**
 * Events per `readMessagesBatch` of the global read: streamkit's read page (its consumers'
 * default is 100).
 */
const GLOBAL_BATCH = 1_000;

/** The event type every event of the workload has. */
const EVENT_TYPE = "BenchEvent";

/** The events of each append, built before the clock starts. */
interface AppendCall {
  stream: string;
  events: EmmettEvent[];
  expectedStreamVersion: bigint;
}

function appendCalls(streams: PeerStream[]): AppendCall[] {
  return appendOrder(streams).map(({ stream, start, end }) => ({
    stream: streams[stream].name,
    events: streams[stream].data.slice(start, end).map((data) => ({ type: EVENT_TYPE, data })),
    expectedStreamVersion: BigInt(start),
  }));
}

/** How many times one append is retried after `SQLITE_BUSY` before the run fails. */
const BUSY_RETRIES = 5;

/**
 * Appends retried after `SQLITE_BUSY` in this process. On Deno, a `COMMIT` of Emmett's append
 * now and then fails with "SQL statements in progress" (the transaction is rolled back): most
 * likely Emmett's connection resolves its `get` (the `INSERT`/`UPDATE ... RETURNING` of the
 * stream row) before `sqlite3` finalizes that statement. Rare (about once in a thousand appends,
 * under load; not seen on Node), and retried here as an application would.
 */
let busyRetries = 0;

function isBusy(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "SQLITE_BUSY";
}

/** Makes every append in turn, each awaited, checking the version it reports. */
async function appendAll(store: EmmettEventStore, calls: AppendCall[]): Promise<void> {
  for (const { stream, events, expectedStreamVersion } of calls) {
    const options = { expectedStreamVersion };
    for (let attempt = 0;; attempt++) {
      try {
        const { nextExpectedStreamVersion } = await store.appendToStream(stream, events, options);
        if (nextExpectedStreamVersion !== expectedStreamVersion + BigInt(events.length)) {
          throw new Error(`${stream}: at version ${nextExpectedStreamVersion} after an append`);
        }
        break;
      } catch (error) {
        if (!isBusy(error) || attempt === BUSY_RETRIES) throw error;
        busyRetries++;
      }
    }
  }
}

/** Counts `events`, checking that each carried its data (as `countEntries` does). */
function countEvents(events: EmmettReadEvent[]): number {
  let chars = 0;
  for (const event of events) chars += event.data.b.length;
  expectCount("event data", chars, events.length * EVENT_DATA_CHARS);
  return events.length;
}

/** Each stream read back in full, one after the other, checked as streamkit's are. */
async function readStreams(store: EmmettEventStore): Promise<number> {
  let count = 0;
  for (const stream of STREAM_NAMES) {
    const { events } = await store.readStream(stream);
    let position = 0n;
    for (const event of events) {
      if (event.metadata.streamPosition !== ++position) throw new Error(`${stream}: out of order`);
    }
    count += countEvents(events);
  }
  return count;
}

/** Checks that `events` come in ascending global positions after `after`; the last one. */
function expectGlobalOrder(events: EmmettReadEvent[], after: bigint): bigint {
  let last = after;
  for (const event of events) {
    if (event.metadata.globalPosition <= last) throw new Error("not in global order");
    last = event.metadata.globalPosition;
  }
  return last;
}

/** How an Emmett contestant differs from the other one. */
interface EmmettStore {
  persistent: boolean;
  /** The store of a run's directory. */
  open(dir: string): Promise<EmmettEventStore>;
  /** Every event in global order, counted and checked. */
  readAll(dir: string, store: EmmettEventStore): Promise<number>;
  /** Set, the append is timed in several passes, each on a fresh store. */
  appendPasses?: Passes;
  /** How the store was configured, read back after the timed append. */
  settings?(dir: string): Promise<Record<string, unknown>>;
}

/** An Emmett contestant: how it appends and reads, the same for both stores. */
function emmettContestant(
  { persistent, open, readAll, appendPasses, settings }: EmmettStore,
): PeerContestant {
  const setup = async ({ entries, seed, dir }: PeerArgs) =>
    await appendAll(await open(dir), appendCalls(peerStreams(entries, seed)));
  const read = (
    kind: "segment" | "space",
    count: (dir: string, store: EmmettEventStore) => Promise<number>,
  ): ScenarioRun<"level"> => ({
    setup,
    measure: async ({ entries, dir }) => {
      const store = await open(dir);
      return await medianReadPass(kind, entries, PASSES.levelRead, () => count(dir, store));
    },
  });
  return {
    persistent,
    append: {
      measure: async ({ entries, seed, dir }) => {
        const calls = appendCalls(peerStreams(entries, seed));
        if (!appendPasses) {
          const store = await open(dir);
          const { seconds } = await timed(() => appendAll(store, calls));
          return {
            ...throughput(entries, seconds),
            details: { ...await settings?.(dir), busyRetries },
          };
        }
        return await medianPass("append", entries, appendPasses, async (pass) => {
          const store = await open(`${dir}/pass-${pass}`);
          const { seconds } = await timed(() => appendAll(store, calls));
          return { seconds, count: entries };
        });
      },
    },
    readStreams: read("segment", (_dir, store) => readStreams(store)),
    readAll: read("space", readAll),
  };
}

/**
 * The SQLite event store on `<dir>/emmett.db`, its schema created (by a first operation, as
 * streamkit's `newStore` creates a store before its clock starts).
 */
async function openSqlite(dir: string): Promise<EmmettEventStore> {
  const { getSQLiteEventStore } = await import(EMMETT_SQLITE) as EmmettSqlite;
  const store = getSQLiteEventStore({ fileName: `${dir}/emmett.db` });
  await store.readStream(STREAM_NAMES[0]);
  return store;
}

/** Every event in global order, in batches of {@linkcode GLOBAL_BATCH}, on one connection. */
async function readAllSqlite(dir: string): Promise<number> {
  const { sqliteConnection, readMessagesBatch } = await import(EMMETT_SQLITE) as EmmettSqlite;
  const connection = sqliteConnection({ fileName: `${dir}/emmett.db` });
  try {
    let count = 0;
    let after = 0n;
    for (;;) {
      const batch = await readMessagesBatch(connection, { after, batchSize: GLOBAL_BATCH });
      after = expectGlobalOrder(batch.messages, after);
      count += countEvents(batch.messages);
      if (!batch.areEventsLeft) return count;
    }
  } finally {
    connection.close();
  }
}

/**
 * SQLite's version and the settings a connection of the store gets (Emmett's connections set
 * only the journal mode), read on a connection opened as Emmett opens its own.
 */
async function sqliteSettings(dir: string): Promise<Record<string, unknown>> {
  const { sqliteConnection } = await import(EMMETT_SQLITE) as EmmettSqlite;
  const connection = sqliteConnection({ fileName: `${dir}/emmett.db` });
  const value = async (sql: string) =>
    Object.values(await connection.querySingle<Record<string, unknown>>(sql) ?? {})[0];
  try {
    return {
      sqliteVersion: await value("SELECT sqlite_version()"),
      journalMode: await value("PRAGMA journal_mode"),
      synchronous: await value("PRAGMA synchronous"),
    };
  } finally {
    connection.close();
  }
}

/** Emmett's SQLite event store, as it ships. */
export const emmettSqlite: PeerContestant = emmettContestant({
  persistent: true,
  open: openSqlite,
  readAll: readAllSqlite,
  settings: sqliteSettings,
});

/** The in-memory event store of this process, and the directory it stands for. */
let memoryStore: { dir: string; store: EmmettEventStore } | undefined;

/**
 * Every stream read with `readStream` and merged by global position: the in-memory store has
 * no global read.
 */
async function readAllMemory(_dir: string, store: EmmettEventStore): Promise<number> {
  const streams = await Promise.all(
    STREAM_NAMES.map(async (stream) => (await store.readStream(stream)).events),
  );
  const next = streams.map(() => 0);
  const head = (s: number) => streams[s][next[s]]?.metadata.globalPosition;
  let count = 0;
  let chars = 0;
  let last = 0n;
  for (;;) {
    let pick = -1;
    for (let s = 0; s < streams.length; s++) {
      const position = head(s);
      if (position !== undefined && (pick < 0 || position < head(pick)!)) pick = s;
    }
    if (pick < 0) break;
    const event = streams[pick][next[pick]++];
    if (event.metadata.globalPosition <= last) throw new Error("not in global order");
    last = event.metadata.globalPosition;
    chars += event.data.b.length;
    count++;
  }
  expectCount("event data", chars, count * EVENT_DATA_CHARS);
  return count;
}

/** Emmett's in-memory event store, its append timed in a warm-up and 5 timed passes. */
export const emmettMemory: PeerContestant = emmettContestant({
  persistent: false,
  open: async (dir) => {
    if (memoryStore?.dir !== dir) {
      const { getInMemoryEventStore } = await import(EMMETT) as Emmett;
      memoryStore = { dir, store: getInMemoryEventStore() };
    }
    return memoryStore.store;
  },
  readAll: readAllMemory,
  appendPasses: { warmUp: 1, timed: 5 },
});
