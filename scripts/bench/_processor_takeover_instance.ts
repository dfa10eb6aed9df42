/**
 * A processor instance of `azure.processor.takeover`, both sides: {@linkcode startInstance}
 * starts one, and run as a script this module is that process: behind a simulator of its own,
 * it runs `runProcessor` on the bench space and prints a line for each batch it is handed.
 *
 * @module
 */

import { readLines } from "../../core/_test_util.ts";
import { runProcessor } from "../../core/mod.ts";
import { AzureStoreFactory } from "../../drivers/azure/mod.ts";
import { wallClockMs } from "./_cross_process_writer.ts";
import { type SimulatedNetwork, startSimulator } from "./_simulator.ts";
import { spawnScript } from "./_spawn_script.ts";
import { SPACE, STORE_ID } from "./_workload.ts";

/** The environment variable carrying Azurite's connection string to an instance. */
const CONNECTION_STRING_ENV = "STREAMKIT_BENCH_INSTANCE_CONNECTION_STRING";

/**
 * What an instance is asked to run, as its one argument (JSON): the processor `name` with a
 * lease of `ttlMs`, on the store in tables of `tablePrefix`, through `network`.
 *
 * @example
 * ```ts ignore
 * const orders: InstanceOrders = { tablePrefix, name: "takeover", ttlMs: 5_000, network: RTT10, seed: 1 };
 * ```
 */
export interface InstanceOrders {
  tablePrefix: string;
  name: string;
  ttlMs: number;
  network: SimulatedNetwork;
  seed: number;
}

/** An instance's stdout lines, one JSON object each. */
type InstanceLine =
  | { type: "ready" }
  | { type: "batch"; at: number; entries: number; token: number };

/**
 * A batch an instance was handed: when (wall-clock ms, see `wallClockMs`), how many entries,
 * under which lease token, by which instance.
 *
 * @example
 * ```ts ignore
 * const handed: HandedBatch = { instance: 0, at: wallClockMs(), entries: 5, token: 3 };
 * ```
 */
export interface HandedBatch {
  instance: number;
  at: number;
  entries: number;
  token: number;
}

/**
 * An instance process: `ready` resolves once it has opened its store (it then waits for the
 * lease or holds it), each batch it is handed goes to `onBatch`; `kill()` SIGKILLs it and
 * `exited` resolves once it is gone.
 *
 * @example
 * ```ts ignore
 * const instance = startInstance(0, orders, connectionString, (batch) => batches.push(batch));
 * await instance.ready;
 * instance.kill();
 * ```
 */
export interface Instance {
  readonly index: number;
  readonly ready: Promise<void>;
  kill(): void;
  readonly exited: Promise<void>;
}

/**
 * Starts instance `index` with `orders`, on the Azurite `connectionString` names (its simulator
 * in front); its batches go to `onBatch`.
 *
 * @example
 * ```ts ignore
 * const instance = startInstance(1, orders, connectionString, console.log);
 * ```
 */
export function startInstance(
  index: number,
  orders: InstanceOrders,
  connectionString: string,
  onBatch: (batch: HandedBatch) => void,
): Instance {
  const child = spawnScript(import.meta.url, orders, { [CONNECTION_STRING_ENV]: connectionString });
  let sayReady = () => {};
  const readyLine = new Promise<void>((resolve) => sayReady = resolve);
  const output = readLines(child.stdout, (text) => {
    const line = JSON.parse(text) as InstanceLine;
    if (line.type === "ready") sayReady();
    else onBatch({ instance: index, at: line.at, entries: line.entries, token: line.token });
  });
  const exited = Promise.all([output, child.status]).then(() => {});
  exited.catch(() => {});
  return {
    index,
    // An instance that exits before it is ready fails `ready`.
    ready: Promise.race([
      readyLine,
      exited.then(() => Promise.reject(new Error(`instance ${index} exited before it was ready`))),
    ]),
    kill: () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
    },
    exited,
  };
}

/** The instance process: runs the processor until it is killed, printing its batches. */
async function runInstance(orders: InstanceOrders): Promise<void> {
  const connectionString = Deno.env.get(CONNECTION_STRING_ENV);
  if (!connectionString) throw new Error(`${CONNECTION_STRING_ENV} is not set`);
  await using simulator = await startSimulator(connectionString, orders.network, orders.seed);
  await using factory = new AzureStoreFactory({
    connectionString: simulator.connectionString,
    allowInsecureHttp: true,
    tablePrefix: orders.tablePrefix,
  });
  const store = await factory.newStore(STORE_ID);
  const print = (line: InstanceLine) => console.log(JSON.stringify(line));
  print({ type: "ready" });
  await runProcessor(store, {
    name: orders.name,
    spaces: [SPACE],
    lease: { ttlMs: orders.ttlMs },
    handle: ({ entries, lease }) =>
      print({ type: "batch", at: wallClockMs(), entries: entries.length, token: lease!.token }),
  });
}

if (import.meta.main) await runInstance(JSON.parse(Deno.args[0]) as InstanceOrders);
