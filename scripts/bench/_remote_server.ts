/**
 * The server of the remote scenarios, both sides: {@linkcode startRemoteServer} starts a process
 * of its own serving a LevelDB directory over HTTP and waits until it listens, and run as a
 * script this module is that process: `createStoreHandler` on a `LevelStoreFactory`, without
 * authentication, on 127.0.0.1 at a port the system picks, until its parent says stop (or
 * closes its stdin).
 *
 * @module
 */

import { readLines } from "../../core/_test_util.ts";
import { spawnScript } from "./_spawn_script.ts";
import { LevelStoreFactory } from "../../drivers/level/mod.ts";
import { createStoreHandler, type ServerLimits } from "../../drivers/remote/server.ts";

/** How long the server may take to listen, and to stop, before it is killed. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * What a server process is asked to do, as its one argument (JSON): serve the LevelDB stores
 * under `dir`, with `limits` over the handler's defaults.
 *
 * @example
 * ```ts ignore
 * const orders: ServerOrders = { dir: "/tmp/b", limits: { maxStreamsPerToken: 2_000 } };
 * ```
 */
export interface ServerOrders {
  dir: string;
  limits?: Partial<ServerLimits>;
}

/**
 * A server process: its address, its process id, its resident memory, and how to stop it
 * (which closes its stores, ending the follows it serves).
 *
 * @example
 * ```ts ignore
 * await using server = await startRemoteServer({ dir });
 * const factory = new RemoteStoreFactory({ url: server.url });
 * console.log(server.memory().rssMiB);
 * ```
 */
export interface RemoteServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  /** The process's resident set now (`VmRSS`) and its peak so far (`VmHWM`), in MiB. */
  memory(): { rssMiB: number; peakMiB: number };
  /** The CPU time the process has used so far, user and system, in seconds. */
  cpuSeconds(): number;
  /** Closes its stores and waits for it to exit; kills it if it takes too long. */
  stop(): Promise<void>;
}

/**
 * `VmRSS` and `VmHWM` of process `pid` (Linux's `/proc/<pid>/status`), in MiB to a tenth.
 *
 * @example
 * ```ts ignore
 * console.log(processMemory(server.pid).rssMiB);
 * ```
 */
export function processMemory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match) throw new Error(`/proc/${pid}/status: no ${field}`);
    return Number(match[1]);
  };
  const mib = (value: number) => Math.round(value / 1024 * 10) / 10;
  return { rssMiB: mib(kib("VmRSS")), peakMiB: mib(kib("VmHWM")) };
}

/**
 * The CPU time process `pid` (or this one) has used so far, user and system, in seconds
 * (Linux's `/proc/<pid>/stat`, in clock ticks of 1/100 s).
 *
 * @example
 * ```ts ignore
 * const before = processCpuSeconds("self");
 * ```
 */
export function processCpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Starts a server process with `orders` and resolves once it listens.
 *
 * @example
 * ```ts ignore
 * await using server = await startRemoteServer({ dir: "/tmp/b" });
 * ```
 */
export async function startRemoteServer(orders: ServerOrders): Promise<RemoteServer> {
  const child = spawnScript(import.meta.url, orders);
  let listening = (_port: number) => {};
  const port = new Promise<number>((resolve) => listening = resolve);
  const output = readLines(child.stdout, (line) => {
    const match = /^listening (\d+)$/.exec(line);
    if (match) listening(Number(match[1]));
  });
  output.catch(() => {});
  const exited = child.status;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
  };
  try {
    const started = await Promise.race([
      port,
      exited.then((status) => {
        throw new Error(`remote server: exit code ${status.code} before it listened`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`remote server: not listening after ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
    const stdin = child.stdin.getWriter();
    let stopped: Promise<void> | undefined;
    const stop = () =>
      stopped ??= (async () => {
        await stdin.write(new TextEncoder().encode("stop\n")).catch(() => {});
        await stdin.close().catch(() => {});
        let killTimer: ReturnType<typeof setTimeout> | undefined;
        const killed = new Promise<void>((resolve) => {
          killTimer = setTimeout(() => {
            console.error(`remote server: still running ${STOP_TIMEOUT_MS} ms after stop; killed`);
            kill();
            resolve();
          }, STOP_TIMEOUT_MS);
        });
        await Promise.race([exited, killed]);
        clearTimeout(killTimer);
        await exited;
        await output.catch(() => {});
      })();
    return {
      url: `http://127.0.0.1:${started}`,
      pid: child.pid,
      memory: () => processMemory(child.pid),
      cpuSeconds: () => processCpuSeconds(child.pid),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    kill();
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The server process: serves until a line (or the end) comes on stdin, then closes its stores. */
async function runServer({ dir, limits }: ServerOrders): Promise<void> {
  const factory = new LevelStoreFactory({ path: dir });
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`listening ${port}`),
  }, createStoreHandler({ factory, auth: { none: true }, limits }));
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  // Closing the stores ends the follows; the process's exit drops the connections.
  await factory.close();
  Deno.exit(0);
}

if (import.meta.main) await runServer(JSON.parse(Deno.args[0]) as ServerOrders);
