// A small HTTP proxy for the Azure driver's fault tests, between the driver and Azurite: it
// injects transient faults into a seeded share of the requests, answers rules' requests with a
// fixed status, and counts what it saw (see startFaultProxy). Test support only; node: built-ins,
// so it runs on Deno and Node.

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  type IncomingMessage,
  request as httpRequest,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { SeededRandom } from "../../core/_test_random.ts";

/** A fault the proxy injects. */
export type FaultKind = "503-before" | "429-before" | "drop-before" | "503-after" | "drop-after";

/** Every kind, in the order the PRNG picks from. */
export const FAULT_KINDS: readonly FaultKind[] = [
  "503-before",
  "429-before",
  "drop-before",
  "503-after",
  "drop-after",
];

/** A request as rules see it. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, URL-decoded. */
  url: string;
  body: string;
}

/** Answers matching requests with `status` (and `code` as the Azure error code), unforwarded. */
export interface FaultRule {
  match: (request: ProxiedRequest) => boolean;
  status: number;
  code: string;
  /** How many requests matched this rule. */
  hits: number;
}

/** Injects fault `kind` into the requests `match` accepts (and no random one). */
export interface ForcedFault {
  match: (request: ProxiedRequest) => boolean;
  kind: FaultKind;
  /** How many requests got this fault. */
  hits: number;
}

/** What the proxy saw and did. */
export interface ProxyCounts {
  requests: number;
  forwarded: number;
  faults: Record<FaultKind, number>;
  ruleAnswers: number;
  /** Requests that repeated a request the proxy had faulted or a stage refused: retries. */
  retriesObserved: number;
  /** Injected faults by the class `classify` gave the request, then by kind. */
  faultsByClass: Record<string, Partial<Record<FaultKind, number>>>;
}

/** Options of {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where Azurite listens on 127.0.0.1. */
  targetPort: number;
  /** Seeds the PRNG that picks the faulted requests and the kind of fault. */
  seed: number;
  /** The share of requests that get a random fault (0..1); can be changed later. */
  faultRate: number;
  /** Names a request's class, for `counts.faultsByClass`. */
  classify?: (request: ProxiedRequest) => string;
}

/** A running proxy. */
export interface FaultProxy {
  readonly port: number;
  /** The share of requests faulted from now on. */
  faultRate: number;
  /** Rules checked, in order, before random faults. */
  rules: FaultRule[];
  /** Faults forced on matching requests, checked after the rules and before random faults. */
  forced: ForcedFault[];
  readonly counts: ProxyCounts;
  /** Every request seen, as `METHOD url` (URL-decoded), for assertions on what the driver sent. */
  readonly log: string[];
  /** A table endpoint through the proxy: `http://127.0.0.1:<port>/devstoreaccount1`. */
  endpoint(accountName: string): string;
  stop(): Promise<void>;
}

/** A request as the stages of a proxy built on this one see it. */
export interface StagedRequest extends ProxiedRequest {
  /** Path and query as sent (URL-encoded): the query's values can hold `&` once decoded. */
  rawUrl: string;
}

/** An error answer a stage gives instead of forwarding the request. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** What a proxy built on this one (drivers/azure/_test_simulator.ts) adds to each request. */
export interface ProxyStages {
  /**
   * The request's round-trip delay in ms, asked once per request: half of it passes before the
   * request is handled (on its way to the server), half before the answer goes back.
   */
  roundTripMs?(): number;
  /**
   * Asked when the request would reach the server (after the rules and the faults that keep it
   * away): a refusal is answered instead, and the request is not forwarded.
   */
  admit?(request: StagedRequest): Refusal | undefined;
  /** Sees the server's answer to a forwarded request (even one a fault then replaces). */
  answered?(request: StagedRequest, status: number, body: Buffer): void;
}

/** A rule answering `status` with the Azure error `code` to requests `match` accepts. */
export function rule(
  status: number,
  code: string,
  match: (request: ProxiedRequest) => boolean,
): FaultRule {
  return { match, status, code, hits: 0 };
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({
    "odata.error": { code, message: { lang: "en-US", value: message } },
  });
}

function answer(response: ServerResponse, status: number, code: string, message: string): void {
  const body = errorBody(code, message);
  response.writeHead(status, {
    "content-type": "application/json;odata=minimalmetadata;streaming=true;charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-ms-error-code": code,
  });
  response.end(body);
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on("data", (part: Buffer) => parts.push(part));
    stream.on("end", () => resolve(Buffer.concat(parts)));
    stream.on("error", reject);
  });
}

/** A $batch body without its per-call random boundaries: the same for a retry of one call. */
export function maskBatchIds(body: string): string {
  return body.replace(/(batch|changeset)(response)?_[0-9a-fA-F-]{36}/g, "$1_");
}

/** Method, URL and body, with the per-call random boundaries of $batch bodies masked. */
function fingerprint(method: string, url: string, body: Buffer): string {
  return createHash("sha256").update(`${method} ${url}\n`).update(
    maskBatchIds(body.toString("latin1")),
  ).digest("hex");
}

/** Waits at least `ms` (timers may fire a little early; a delay must never be shorter). */
async function sleep(ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
}

interface Forwarded {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function forward(
  targetPort: number,
  incoming: IncomingMessage,
  body: Buffer,
): Promise<Forwarded> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[] | undefined> = {
      ...incoming.headers,
      host: `127.0.0.1:${targetPort}`,
    };
    delete headers["connection"];
    delete headers["keep-alive"];
    headers["content-length"] = String(body.length);
    delete headers["transfer-encoding"];
    const outgoing = httpRequest({
      host: "127.0.0.1",
      port: targetPort,
      method: incoming.method,
      path: incoming.url,
      headers,
    }, (response) => {
      readBody(response).then((responseBody) =>
        resolve({
          status: response.statusCode ?? 502,
          headers: response.headers,
          body: responseBody,
        })
      ).catch(reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/**
 * Starts the proxy on 127.0.0.1 and a free port. For a share of the requests chosen by a seeded
 * PRNG it injects a transient fault:
 *
 * - before forwarding (the request never reaches Azurite): `503-before` and `429-before` answer
 *   with that status and an Azure-like error body; `drop-before` reads the request, then
 *   destroys the socket without answering;
 * - after forwarding (Azurite applied the request and its answer is lost on the way back, the
 *   dangerous case: the driver must look at what was written): `503-after` replaces
 *   Azurite's answer by a 503; `drop-after` destroys the socket instead of answering.
 *
 * Rules (`proxy.rules`) answer matching requests with a fixed status (e.g. 400 or 403, permanent
 * errors the driver must not retry) and take precedence over random faults. Forced faults
 * (`proxy.forced`) inject one of the kinds above into matching requests, for tests that must hit
 * one case for sure. It counts requests, forwarded requests, injected faults by kind and
 * "retries": requests that repeat a faulted request (same method, URL and body, the random batch
 * boundaries of entity group transactions masked). {@linkcode startProxy} is the same proxy with
 * stages another one adds (the simulator's round trip, throttling and charging).
 */
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  return startProxy(options, {});
}

/** What goes back to the client. */
type Reply =
  | { kind: "error"; status: number; code: string; message: string }
  | { kind: "drop" }
  | { kind: "forwarded"; result: Forwarded };

function failure(status: number, code: string, message: string): Reply {
  return { kind: "error", status, code, message };
}

/** Starts the fault proxy with `stages` added, on 127.0.0.1 and a free port. */
export async function startProxy(
  options: FaultProxyOptions,
  stages: ProxyStages,
): Promise<FaultProxy> {
  const random = new SeededRandom(options.seed);
  const counts: ProxyCounts = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    ruleAnswers: 0,
    retriesObserved: 0,
    faultsByClass: {},
  };
  const log: string[] = [];
  /** Fingerprints of faulted (or refused) requests not yet repeated, with how many times. */
  const awaitingRetry = new Map<string, number>();
  const sockets = new Set<Socket>();

  const proxy: FaultProxy = {
    port: 0,
    faultRate: options.faultRate,
    rules: [],
    forced: [],
    counts,
    log,
    endpoint: (accountName) => `http://127.0.0.1:${proxy.port}/${accountName}`,
    stop: () => Promise.resolve(),
  };

  const decide = async (incoming: IncomingMessage, body: Buffer): Promise<Reply> => {
    const method = incoming.method ?? "GET";
    const rawUrl = incoming.url ?? "/";
    let url = rawUrl;
    try {
      url = decodeURIComponent(rawUrl);
    } catch {
      // Keep the raw URL.
    }
    counts.requests++;
    log.push(`${method} ${url}`);
    const print = fingerprint(method, rawUrl, body);
    const waiting = awaitingRetry.get(print);
    if (waiting !== undefined) {
      counts.retriesObserved++;
      if (waiting > 1) awaitingRetry.set(print, waiting - 1);
      else awaitingRetry.delete(print);
    }
    const seen: StagedRequest = { method, url, rawUrl, body: body.toString("utf8") };
    for (const candidate of proxy.rules) {
      if (candidate.match(seen)) {
        candidate.hits++;
        counts.ruleAnswers++;
        return failure(candidate.status, candidate.code, "injected by the fault proxy");
      }
    }
    // Draw for every request, so the fault pattern depends only on the seed and request order.
    let faulted = random.float() < proxy.faultRate;
    let kind = random.pick(FAULT_KINDS);
    const force = proxy.forced.find((candidate) => candidate.match(seen));
    if (force) {
      force.hits++;
      faulted = true;
      kind = force.kind;
    }
    if (faulted) {
      counts.faults[kind]++;
      const group = options.classify?.(seen) ?? "all";
      const byKind = counts.faultsByClass[group] ??= {};
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      awaitingRetry.set(print, (awaitingRetry.get(print) ?? 0) + 1);
    }
    if (faulted && kind === "503-before") {
      return failure(503, "ServerBusy", "injected before forwarding");
    }
    if (faulted && kind === "429-before") {
      return failure(429, "TooManyRequests", "injected before forwarding");
    }
    if (faulted && kind === "drop-before") return { kind: "drop" };
    const refusal = stages.admit?.(seen);
    if (refusal) {
      awaitingRetry.set(print, (awaitingRetry.get(print) ?? 0) + 1);
      return failure(refusal.status, refusal.code, refusal.message);
    }
    const result = await forward(options.targetPort, incoming, body);
    counts.forwarded++;
    stages.answered?.(seen, result.status, result.body);
    if (faulted && kind === "503-after") {
      return failure(503, "ServerBusy", "injected after forwarding");
    }
    if (faulted && kind === "drop-after") return { kind: "drop" };
    return { kind: "forwarded", result };
  };

  const deliver = (reply: Reply, incoming: IncomingMessage, response: ServerResponse) => {
    if (reply.kind === "error") {
      answer(response, reply.status, reply.code, reply.message);
      return;
    }
    if (reply.kind === "drop") {
      incoming.socket.destroy();
      return;
    }
    const { result } = reply;
    const headers = { ...result.headers };
    delete headers["connection"];
    delete headers["keep-alive"];
    delete headers["transfer-encoding"];
    headers["content-length"] = String(result.body.length);
    response.writeHead(result.status, headers);
    response.end(result.body);
  };

  const handle = async (incoming: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(incoming);
    const roundTrip = stages.roundTripMs?.() ?? 0;
    // The request reaches the server only after its half of the trip.
    if (roundTrip > 0) await sleep(roundTrip / 2);
    const reply = await decide(incoming, body);
    if (roundTrip > 0) await sleep(roundTrip / 2);
    deliver(reply, incoming, response);
  };

  const server: Server = createServer((incoming, response) => {
    handle(incoming, response).catch((error) => {
      // Azurite unreachable or the client went away: answer 502 if still possible.
      if (!response.headersSent && !incoming.socket.destroyed) {
        answer(response, 502, "ProxyError", String(error));
      } else {
        incoming.socket.destroy();
      }
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  (proxy as { port: number }).port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  proxy.stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return stopping;
  };
  return proxy;
}
