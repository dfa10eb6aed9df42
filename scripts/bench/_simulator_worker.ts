/**
 * The worker that runs the Azure simulator (drivers/azure/_test_simulator.ts) for a benchmark child
 * (see `_simulator.ts`, which starts it). A thread of its own: the proxy's round-trip timers
 * and request parsing stand for Azure's side of the wire, so they must not share the event
 * loop of the contestant they slow down (the driver sends more requests per chunk than its
 * raw reference: sharing would charge it the proxy's work too).
 *
 * Messages in: `{ id, op: "start", options }`, `{ id, op: "counts" }`, `{ id, op: "limits",
 * limits }`, `{ id, op: "stop" }`; each is answered `{ id, value }` or `{ id, error }`.
 *
 * @module
 */

import {
  type AzureSimulator,
  type AzureSimulatorLimits,
  type AzureSimulatorOptions,
  startAzureSimulator,
} from "../../drivers/azure/_test_support.ts";
import type { SimulatorCounts, SimulatorRequest } from "./_simulator.ts";

/** The worker's global scope, as far as this script uses it (typed here: the checker sees the window's). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<SimulatorRequest>) => void) | null;
  postMessage(message: unknown): void;
};

let simulator: AzureSimulator | undefined;

function running(): AzureSimulator {
  if (!simulator) throw new Error("the simulator is not started");
  return simulator;
}

/** A copy of the counts that crosses to the other thread (the map as an object). */
function snapshot(): SimulatorCounts {
  const { counts } = running();
  return {
    requests: counts.requests,
    forwarded: counts.forwarded,
    throttledByPartition: counts.throttledByPartition,
    throttledByAccount: counts.throttledByAccount,
    retriesObserved: counts.retriesObserved,
    delayMs: counts.delayMs,
    entitiesByPartition: Object.fromEntries(counts.entitiesByPartition),
  };
}

async function handle(request: SimulatorRequest): Promise<unknown> {
  switch (request.op) {
    case "start":
      simulator = await startAzureSimulator(request.options as AzureSimulatorOptions);
      return simulator.port;
    case "counts":
      return snapshot();
    case "limits":
      Object.assign(running().limits, request.limits as Partial<AzureSimulatorLimits>);
      return undefined;
    case "stop":
      await simulator?.stop();
      return undefined;
  }
}

scope.onmessage = ({ data }) => {
  // After "stop" the starting thread terminates this worker, once it has the answer.
  handle(data).then(
    (value) => scope.postMessage({ id: data.id, value }),
    (error) => scope.postMessage({ id: data.id, error: String(error?.stack ?? error) }),
  );
};
