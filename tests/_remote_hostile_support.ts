// Helpers of remote_hostile_test.ts: a loopback server with HMAC tokens, frames built and read
// by hand (the tests speak the protocol byte by byte, never through the client's encoder), raw
// HTTP over TCP, and a seeded PRNG.

import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { decodeEntry, type Entry, type StoreFactory } from "../core/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";
import { createStoreHandler, type StoreHandlerOptions } from "../drivers/remote/server.ts";

/** The HMAC secret of every test server (at least 32 bytes). */
export const SECRET = "streamkit-hostile-test-secret-0123456789abcdef";
/** The content type of bodies of frames. */
export const FRAMES = "application/x-streamkit-frames";
export const MiB = 1024 * 1024;
/** Bytes backed by a plain ArrayBuffer (what a request body takes). */
export type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A token with `scope`, signed with `secret` (the server's by default). */
export function sign(
  scope: string,
  { secret = SECRET, expires = "10m" }: { secret?: string; expires?: string | number } = {},
): Promise<string> {
  return new SignJWT({ scope, sub: "hostile-test" }).setProtectedHeader({ alg: "HS256" })
    .setIssuedAt().setExpirationTime(expires).sign(encoder.encode(secret));
}

/** `Bearer <token>` headers, plus `extra`. */
export function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

// ---- frames -------------------------------------------------------------------------------

/** A frame with any type byte and any declared length (the payload as given). */
export function rawFrame(
  type: number,
  payload: Uint8Array,
  declared: number = payload.byteLength,
): Bytes {
  const bytes = new Uint8Array(5 + payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(1, declared);
  bytes.set(payload, 5);
  return bytes;
}

/** A JSON control frame. */
export function jsonFrame(message: unknown): Bytes {
  return rawFrame(3, encoder.encode(JSON.stringify(message)));
}

export const END = (): Bytes => jsonFrame({ type: "end" });
export const ACK = (): Bytes => jsonFrame({ type: "ack" });

/** A record frame: float64 sequence, uint32 metadata length, metadata JSON, payload. */
export function recordFrame(
  sequence: number,
  payload: Uint8Array | string,
  metadata?: Record<string, string>,
): Bytes {
  const body = typeof payload === "string" ? encoder.encode(payload) : payload;
  const meta = metadata === undefined
    ? new Uint8Array(0)
    : encoder.encode(JSON.stringify(metadata));
  const bytes = new Uint8Array(12 + meta.byteLength + body.byteLength);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, sequence);
  view.setUint32(8, meta.byteLength);
  bytes.set(meta, 12);
  bytes.set(body, 12 + meta.byteLength);
  return rawFrame(1, bytes);
}

/** Record frames of sequences `from`..`to`, payload `p<sequence>`. */
export function records(from: number, to: number): Bytes[] {
  const frames: Bytes[] = [];
  for (let sequence = from; sequence <= to; sequence++) {
    frames.push(recordFrame(sequence, `p${sequence}`));
  }
  return frames;
}

export function concat(parts: Uint8Array[]): Bytes {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return bytes;
}

/** One frame of a response. */
export interface ReadFrame {
  type: number;
  payload: Uint8Array;
  /** The JSON of a control frame. */
  json?: Record<string, unknown>;
}

/** Reads frames off the front of `buffer`; the frames and what is left over. */
export function splitFrames(buffer: Uint8Array): { frames: ReadFrame[]; rest: Uint8Array } {
  const frames: ReadFrame[] = [];
  let at = 0;
  while (buffer.byteLength - at >= 5) {
    const view = new DataView(buffer.buffer, buffer.byteOffset + at, 5);
    const type = view.getUint8(0);
    const length = view.getUint32(1);
    if (buffer.byteLength - at - 5 < length) break;
    const payload = buffer.slice(at + 5, at + 5 + length);
    const frame: ReadFrame = { type, payload };
    if (type === 3) frame.json = JSON.parse(decoder.decode(payload));
    at += 5 + length;
    // Credits are the write's flow control (README "Writes"): not what these tests look at.
    if (frame.json?.type === "credit") continue;
    frames.push(frame);
  }
  return { frames, rest: buffer.subarray(at) };
}

// ---- the server ---------------------------------------------------------------------------

/** A loopback server of `createStoreHandler`. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `<origin>/v1` */
  api: string;
  port: number;
  factory: StoreFactory;
  /** A `streamkit::*` token. */
  token: string;
  /** What the handler's `onError` got (failures the client saw only as "the server failed"). */
  internalErrors: unknown[];
  /** The handler itself: a request handed to it directly is read only as far as it reads. */
  handler: (request: Request) => Promise<Response>;
  /** Stops the server (waiting at most `ms` for its connections), then closes the factory. */
  close(ms?: number): Promise<void>;
}

export async function startServer(
  factory: StoreFactory = new MemoryStoreFactory(),
  options: Partial<StoreHandlerOptions> = {},
): Promise<TestServer> {
  const internalErrors: unknown[] = [];
  const handler = createStoreHandler({
    factory,
    auth: { secret: SECRET },
    onError: (error) => internalErrors.push(error),
    ...options,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    api: `${origin}/v1`,
    port: server.addr.port,
    factory,
    token: await sign("streamkit::*"),
    internalErrors,
    handler,
    close: async (ms = 10_000) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([
        server.shutdown().then(() => true),
        new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms)),
      ]);
      clearTimeout(timer);
      await factory.close();
      assert.ok(stopped, `the server did not stop within ${ms} ms (a request still hangs)`);
    },
  };
}

/** Runs `body` against a fresh server, which is stopped afterwards whatever happens. */
export async function withServer(
  body: (server: TestServer) => Promise<void>,
  factory?: StoreFactory,
  options?: Partial<StoreHandlerOptions>,
): Promise<void> {
  const server = await startServer(factory, options);
  let failure: { error: unknown } | undefined;
  try {
    await body(server);
  } catch (error) {
    failure = { error };
  }
  try {
    await server.close();
  } catch (error) {
    // The test's own failure first; a server that then would not stop is noted with it.
    if (failure === undefined) throw error;
    const first = failure.error as Error;
    first.message += `\n(then: ${(error as Error).message})`;
  }
  if (failure !== undefined) throw failure.error;
  assert.deepEqual(server.internalErrors, [], "the handler reported internal failures");
}

// ---- requests -----------------------------------------------------------------------------

/** A whole answer. */
export interface Answer {
  status: number;
  contentType: string;
  bytes: Uint8Array;
  /** The JSON error of an error answer. */
  error?: { kind: string; message: string; transient: boolean };
  /** The frames of a frames answer. */
  frames?: ReadFrame[];
  ms: number;
}

/** Sends a request and reads its whole answer; fails if that takes over `timeoutMs` (a hang). */
export async function send(
  url: string,
  init: RequestInit = {},
  timeoutMs = 5_000,
): Promise<Answer> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let bytes: Uint8Array;
  try {
    response = await fetch(url, { ...init, signal });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (signal.aborted) {
      throw new Error(
        `hang: ${init.method ?? "GET"} ${url} got no whole answer within ${timeoutMs} ms`,
      );
    }
    throw error;
  }
  return describe(response, bytes, performance.now() - started);
}

export function describe(response: Response, bytes: Uint8Array, ms: number): Answer {
  const contentType = response.headers.get("content-type") ?? "";
  const answer: Answer = { status: response.status, contentType, bytes, ms };
  if (contentType.startsWith("application/json") && bytes.byteLength > 0) {
    const json = JSON.parse(decoder.decode(bytes));
    if (json && typeof json === "object" && "error" in json) answer.error = json.error;
  }
  if (contentType === FRAMES) {
    const { frames, rest } = splitFrames(bytes);
    assert.equal(rest.byteLength, 0, "a frames answer ends inside a frame");
    answer.frames = frames;
  }
  return answer;
}

/**
 * Checks that `answer` is a JSON error with `status` and `kind` whose message holds each of
 * `words` (the message names what is wrong).
 */
export function assertRefused(
  answer: Answer,
  status: number,
  kind: string,
  ...words: string[]
): void {
  const shown = JSON.stringify({ status: answer.status, error: answer.error });
  assert.equal(answer.status, status, shown);
  assert.ok(answer.contentType.startsWith("application/json"), shown);
  assert.equal(answer.error?.kind, kind, shown);
  assert.equal(answer.error?.transient, false, shown);
  for (const word of words) assert.ok(answer.error!.message.includes(word), `${word}: ${shown}`);
}

/** Posts a complete body of frames to `produce` (or `restore`). */
export function write(
  server: TestServer,
  storeId: string,
  body: BodyInit | null,
  {
    route = "produce",
    space = "s",
    segment = "g",
    token = server.token,
    contentType = FRAMES,
    timeoutMs,
  }: {
    route?: string;
    space?: string;
    segment?: string;
    token?: string | null;
    contentType?: string | null;
    timeoutMs?: number;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (contentType !== null) headers["content-type"] = contentType;
  const query = new URLSearchParams({ space, segment });
  return send(
    `${server.api}/stores/${storeId}/${route}?${query}`,
    { method: "POST", headers, body },
    timeoutMs,
  );
}

/** A request body the test pushes to as it goes, counting what the server pulled. */
export class Pipe {
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#closed = true;
      },
    });
  }

  push(bytes: Uint8Array): void {
    if (!this.#closed) this.#controller.enqueue(bytes);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.close();
  }
}

/**
 * A write as a well-behaved client makes it: the frames, then `end`, then an `ack` for each
 * status read, the body kept open until the answer ends. The statuses and the end (or error).
 */
export async function duplexWrite(
  server: TestServer,
  storeId: string,
  frames: Uint8Array[],
  { space = "s", segment = "g", route = "produce", token = server.token } = {},
): Promise<{ status: number; frames: ReadFrame[]; error?: Answer["error"] }> {
  const pipe = new Pipe();
  for (const frame of frames) pipe.push(frame);
  pipe.push(END());
  const signal = AbortSignal.timeout(10_000);
  const query = new URLSearchParams({ space, segment });
  try {
    const response = await fetch(`${server.api}/stores/${storeId}/${route}?${query}`, {
      method: "POST",
      headers: bearer(token, { "content-type": FRAMES }),
      body: pipe.stream,
      signal,
    });
    if (response.headers.get("content-type") !== FRAMES) {
      const answer = describe(response, new Uint8Array(await response.arrayBuffer()), 0);
      return { status: answer.status, frames: [], error: answer.error };
    }
    const read: ReadFrame[] = [];
    let buffer: Uint8Array = new Uint8Array(0);
    for await (const chunk of response.body!) {
      const split = splitFrames(concat([buffer, chunk]));
      buffer = split.rest;
      for (const frame of split.frames) {
        read.push(frame);
        if (frame.json?.type === "status") pipe.push(ACK());
      }
    }
    assert.equal(buffer.byteLength, 0, "the answer ends inside a frame");
    return { status: response.status, frames: read };
  } finally {
    pipe.close();
  }
}

/** The entries of `space` (consume-space), read over HTTP. */
export async function entriesOf(
  server: TestServer,
  storeId: string,
  space = "s",
): Promise<Entry[]> {
  const answer = await send(`${server.api}/stores/${storeId}/consume-space`, {
    method: "POST",
    headers: bearer(server.token, { "content-type": "application/json" }),
    body: JSON.stringify({ args: { space } }),
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.error));
  const frames = answer.frames!;
  assert.equal(frames.at(-1)?.json?.type, "end", "a consume ends with its end frame");
  return frames.filter((frame) => frame.type === 2).map((frame) => decodeEntry(frame.payload));
}

/** The sequences of the entries of `space`/`segment`. */
export async function sequencesOf(
  server: TestServer,
  storeId: string,
  space = "s",
  segment = "g",
): Promise<number[]> {
  return (await entriesOf(server, storeId, space)).filter((entry) => entry.segment === segment)
    .map((entry) => entry.sequence);
}

let healthChecks = 0;

/**
 * Checks that the server still serves, quickly: a produce and a consume of a fresh segment
 * through the real client, and the same entry read back over raw HTTP.
 */
export async function assertServing(server: TestServer, withinMs = 5_000): Promise<void> {
  const started = performance.now();
  const storeId = "5f0c3a7e-9d41-4b6a-8e2f-0a1b2c3d4e5f";
  const segment = `health-${++healthChecks}`;
  const payload = encoder.encode(`alive ${healthChecks}`);
  await using client = new RemoteStoreFactory({ url: server.origin, token: server.token });
  await using store = await client.newStore(storeId);
  const statuses = [];
  for await (
    const status of store.produce({ space: "health", segment }, [{ sequence: 1, payload }])
  ) {
    statuses.push(status);
  }
  assert.equal(statuses.length, 1);
  assert.equal(statuses[0].lastSequence, 1);
  const read = [];
  for await (const entry of store.consumeSegment({ space: "health", segment })) read.push(entry);
  assert.deepEqual(read.map((entry) => decoder.decode(entry.payload)), [`alive ${healthChecks}`]);
  const raw = (await entriesOf(server, storeId, "health")).filter((e) => e.segment === segment);
  assert.equal(raw.length, 1);
  const ms = performance.now() - started;
  assert.ok(ms < withinMs, `a good produce and consume took ${ms.toFixed(0)} ms`);
}

// ---- raw HTTP over TCP --------------------------------------------------------------------

/** Writes all of `bytes` to `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) at += await conn.write(bytes.subarray(at));
}

/** One HTTP/1.1 answer read off a raw connection (`status` 0: the connection ended first). */
export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * Reads one answer off `conn`: the head, then a body of its `content-length` (a chunked body is
 * read to the end of its first chunk). Gives up after `timeoutMs` (status -1), closing `conn`.
 */
export async function readAnswer(conn: Deno.Conn, timeoutMs = 5_000): Promise<RawAnswer> {
  let bytes: Uint8Array = new Uint8Array(0);
  const buffer = new Uint8Array(64 * 1024);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, timeoutMs);
  const text = () => decoder.decode(bytes);
  const complete = () => {
    const all = text();
    const end = all.indexOf("\r\n\r\n");
    if (end < 0) return false;
    const length = /\r\ncontent-length: *(\d+)/i.exec(all.slice(0, end));
    if (length) return bytes.byteLength >= end + 4 + Number(length[1]);
    return /\r\n0\r\n\r\n$/.test(all) || /\r\n\r\n[0-9a-f]+\r\n[^]*\r\n/i.test(all);
  };
  try {
    while (!complete()) {
      const read = await conn.read(buffer);
      if (read === null) break;
      bytes = concat([bytes, buffer.subarray(0, read)]);
    }
  } catch (error) {
    if (!timedOut) throw error;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) return { status: -1, head: text(), body: "" };
  const all = text();
  const end = all.indexOf("\r\n\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(all);
  return {
    status: match ? Number(match[1]) : 0,
    head: end < 0 ? all : all.slice(0, end),
    body: end < 0 ? "" : all.slice(end + 4),
  };
}

/** Closes `conn`, whatever state it is in. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

export { sleep } from "../core/_async.ts";

/**
 * The bytes still reachable after full collections, free of the collector's timing: the heap's
 * objects and the ArrayBuffers outside it (where bodies, frames and payloads live). Needs
 * `--v8-flags=--expose-gc`, which the test task passes.
 */
export function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error("memory checks need --v8-flags=--expose-gc: run them through `deno task test`");
  }
  gc();
  gc();
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
}

// ---- a seeded PRNG ------------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Bytes {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = this.int(256);
    return bytes;
  }
}
