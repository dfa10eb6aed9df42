// The routes of the protocol (README "Protocol"): each authenticates and checks its scope
// before it reads a byte of the body, then calls the store as a local caller would.

import {
  type Checkpoint,
  type Entry,
  type FollowEvent,
  type Lease,
  type SegmentStatus,
  type Store,
  type StoreFactory,
  StreamkitError,
  validateStoreId,
} from "@streamkit/core";
import { EntryEncoder } from "@streamkit/core/driver";
import type { Context, Hono } from "hono";
import { type Access, authorize, mayRead, type Principal, type Verifier } from "./_auth.ts";
import { type Batch, FrameType, jsonFrame } from "./_frames.ts";
import { readJsonBody, requireFrames, streamResponse } from "./_server_streams.ts";
import { WriteChannel } from "./_server_writes.ts";
import {
  API_PREFIX,
  argsFromJson,
  checkpointToJson,
  leaseToJson,
  type ReadAhead,
} from "./_wire.ts";

/**
 * Limits of requests and streams.
 *
 * @example
 * ```ts
 * import type { ServerLimits } from "@streamkit/remote/server";
 * const limits: Partial<ServerLimits> = { heartbeatMs: 5_000 };
 * ```
 */
export interface ServerLimits {
  /** The largest JSON body (read arguments, lease calls, checkpoint reads), in bytes. */
  maxJsonBodyBytes: number;
  /**
   * The largest JSON body of a checkpoint write, in bytes: room for the store's largest value
   * (64 KiB, twice that as hex) with its name and lease.
   */
  maxCheckpointBodyBytes: number;
  /** What a frame may carry beyond the store's largest payload (metadata, names), in bytes. */
  maxFrameOverheadBytes: number;
  /** How often a follow's response carries a heartbeat while no entry comes, in ms. */
  heartbeatMs: number;
  /** Streamed responses open at once per token (per server without authentication). */
  maxStreamsPerToken: number;
  /** How many bytes of a write's body are read ahead of the store at most (one item always). */
  maxReadAheadBytes: number;
  /**
   * How long a request body may bring no bytes while it owes some, in ms: inside a JSON body
   * or inside a frame (a slow-loris client). Between frames a write's body waits as long as
   * its client's source takes.
   */
  bodyStallMs: number;
}

/** The stores of one factory, each opened once and shared by every request. */
class OpenStores {
  readonly #factory: StoreFactory;
  readonly #stores = new Map<string, Promise<Store>>();

  constructor(factory: StoreFactory) {
    this.#factory = factory;
  }

  /** The ids of the stores opened, in ascending order. */
  opened(): string[] {
    return [...this.#stores.keys()].sort();
  }

  get(storeId: string): Promise<Store> {
    let store = this.#stores.get(storeId);
    if (!store) {
      store = this.#factory.newStore(storeId);
      this.#stores.set(storeId, store);
      // A store that failed to open is tried again by the next request.
      store.catch(() => this.#stores.delete(storeId));
    }
    return store;
  }
}

/** Streams open per token, so that one caller cannot hold every stream of the server. */
class StreamCounts {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a new stream of `key`; the function that uncounts it. */
  open(key: string): () => void {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) {
      throw new StreamkitError(
        "Unavailable",
        `too many streams open for this token (limit ${this.#max}); close some and retry`,
      );
    }
    this.#counts.set(key, count + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const left = (this.#counts.get(key) ?? 1) - 1;
      if (left === 0) this.#counts.delete(key);
      else this.#counts.set(key, left);
    };
  }
}

// One encoder for every response: its encoding is copied into the batch before the next call.
const entryEncoder = new EntryEncoder();
const entryFrame = (entry: Entry, batch: Batch) =>
  batch.addFrame(FrameType.Entry, entryEncoder.encode(entry));
const statusFrame = (status: SegmentStatus, batch: Batch) =>
  batch.add(jsonFrame({ type: "status", status }));
const nameFrame = (name: string, batch: Batch) => batch.add(jsonFrame({ type: "name", name }));
const checkpointFrame = (checkpoint: Checkpoint, batch: Batch) =>
  batch.add(jsonFrame({ type: "checkpoint", checkpoint: checkpointToJson(checkpoint) }));
const leaseFrame = (lease: Lease, batch: Batch) =>
  batch.add(jsonFrame({ type: "lease", lease: leaseToJson(lease) }));
const eventFrame = (event: FollowEvent, batch: Batch) =>
  event.type === "entry"
    ? entryFrame(event.entry, batch)
    : batch.add(jsonFrame({ type: event.type }));

/** A read's arguments: the `args` of its JSON body, as the client's caller gave them. */
async function readArgs(request: Request, limits: ServerLimits): Promise<unknown> {
  const body = await readJsonBody(request, limits.maxJsonBodyBytes, limits.bodyStallMs);
  return argsFromJson((body as { args?: unknown }).args);
}

/** `args` with the request's signal; arguments that are no object go as they are (refused). */
function withSignal(args: unknown, signal: AbortSignal): never {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return args as never;
  return { ...args, signal } as never;
}

/**
 * The fields of a checkpoint or lease call's `args` (README "Checkpoints and leases"), own keys
 * only (a `__proto__` or `toString` key is a field like any other).
 */
async function callArgs(
  request: Request,
  maxBytes: number,
  limits: ServerLimits,
): Promise<(key: string) => never> {
  const body = await readJsonBody(request, maxBytes, limits.bodyStallMs);
  const args = argsFromJson((body as { args?: unknown }).args);
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new StreamkitError(
      "InvalidArgument",
      `args: must be an object, got ${
        args === null ? "null" : Array.isArray(args) ? "an array" : typeof args
      }`,
    );
  }
  const fields = args as Record<string, unknown>;
  return (key) => (Object.hasOwn(fields, key) ? fields[key] : undefined) as never;
}

/** How much of a write's body a client may send ahead of the store (README "Writes"). */
function readAheadOf(store: Store, limits: ServerLimits): ReadAhead {
  // Two chunks' records (at least 16: stores of tiny chunks), and the server's byte limit.
  return {
    items: Math.max(16, 2 * store.limits.maxChunkRecords),
    bytes: limits.maxReadAheadBytes,
  };
}

/** Adds the protocol's routes to `app`. */
export function registerRoutes(
  app: Hono,
  factory: StoreFactory,
  verifier: Promise<Verifier>,
  limits: ServerLimits,
): void {
  const stores = new OpenStores(factory);
  const streams = new StreamCounts(limits.maxStreamsPerToken);

  /** The caller, checked for `access` to the route's store; the store. */
  const open = async (c: Context, access: Access): Promise<{ store: Store; key: string }> => {
    const authorization = c.req.header("authorization") ?? null;
    const principal: Principal = await (await verifier).authenticate(authorization);
    const storeId = validateStoreId(c.req.param("store"));
    authorize(principal, storeId, access);
    return { store: await stores.get(storeId), key: authorization ?? "" };
  };

  /** A streamed response counted against the caller's streams, stopped with the response. */
  const stream = async <T>(
    key: string,
    start: (signal: AbortSignal) => AsyncIterable<T>,
    encode: (item: T, batch: Batch) => void,
    heartbeatMs?: number,
  ): Promise<Response> => {
    const close = streams.open(key);
    // Aborted when the response is cancelled: the client went away (see streamResponse).
    const stop = new AbortController();
    return await streamResponse(start(stop.signal), encode, { stop, heartbeatMs, onEnd: close });
  };

  const query = (c: Context, name: string) => c.req.query(name);

  app.get(`${API_PREFIX}/stores`, async (c) => {
    const principal = await (await verifier).authenticate(c.req.header("authorization") ?? null);
    // A factory that cannot list its stores (memory) has those this server opened.
    const all = factory.listStores ? await factory.listStores() : stores.opened();
    return c.json({ stores: all.filter((storeId) => mayRead(principal, storeId)) });
  });

  app.get(`${API_PREFIX}/stores/:store`, async (c) => {
    const { store } = await open(c, "read");
    return c.json({ limits: store.limits, readAhead: readAheadOf(store, limits) });
  });

  app.get(`${API_PREFIX}/stores/:store/spaces`, async (c) => {
    const { store, key } = await open(c, "read");
    return await stream(key, (signal) => store.getSpaces({ signal }), nameFrame);
  });

  app.get(`${API_PREFIX}/stores/:store/segments`, async (c) => {
    const { store, key } = await open(c, "read");
    const space = query(c, "space") as string;
    return await stream(key, (signal) => store.getSegments(space, { signal }), nameFrame);
  });

  app.get(`${API_PREFIX}/stores/:store/checkpoints`, async (c) => {
    const { store, key } = await open(c, "read");
    return await stream(key, (signal) => store.getCheckpoints({ signal }), checkpointFrame);
  });

  app.get(`${API_PREFIX}/stores/:store/leases`, async (c) => {
    const { store, key } = await open(c, "read");
    return await stream(key, (signal) => store.getLeases({ signal }), leaseFrame);
  });

  app.get(`${API_PREFIX}/stores/:store/status`, async (c) => {
    const { store } = await open(c, "read");
    const status = await store.getSegmentStatus(
      query(c, "space") as string,
      query(c, "segment") as string,
    );
    return c.json({ status: status ?? null });
  });

  app.get(`${API_PREFIX}/stores/:store/peek`, async (c) => {
    const { store, key } = await open(c, "read");
    const space = query(c, "space") as string;
    const segment = query(c, "segment") as string;
    return await stream(key, async function* (signal) {
      const entry = await store.peek(space, segment, { signal });
      if (entry) yield entry;
    }, entryFrame);
  });

  // Reads: the arguments as JSON, the store checks them as a local caller's.
  const reads = {
    "consume-segment": (store: Store, args: never) => store.consumeSegment(args),
    "consume-space": (store: Store, args: never) => store.consumeSpace(args),
    "consume": (store: Store, args: never) => store.consume(args),
  };
  for (const [name, read] of Object.entries(reads)) {
    app.post(`${API_PREFIX}/stores/:store/${name}`, async (c) => {
      const { store, key } = await open(c, "read");
      const args = await readArgs(c.req.raw, limits);
      return await stream(key, (signal) => read(store, withSignal(args, signal)), entryFrame);
    });
  }
  const follows = {
    "follow": (store: Store, args: never) => store.follow(args),
    "follow-segment": (store: Store, args: never) => store.followSegment(args),
  };
  for (const [name, follow] of Object.entries(follows)) {
    app.post(`${API_PREFIX}/stores/:store/${name}`, async (c) => {
      const { store, key } = await open(c, "read");
      const args = await readArgs(c.req.raw, limits);
      return await stream(
        key,
        (signal) => follow(store, withSignal(args, signal)),
        eventFrame,
        limits.heartbeatMs,
      );
    });
  }

  // Writes: the body's frames are the source of the store's produce or restore; each chunk
  // after the first commits once the client asked for its status (README "Writes").
  const writes = { produce: FrameType.Record, restore: FrameType.Entry } as const;
  for (const [name, itemType] of Object.entries(writes)) {
    app.post(`${API_PREFIX}/stores/:store/${name}`, async (c) => {
      const { store, key } = await open(c, "write");
      const body = requireFrames(c.req.raw);
      const maxFrameBytes = store.limits.maxPayloadBytes + limits.maxFrameOverheadBytes;
      const args = { space: query(c, "space") as string, segment: query(c, "segment") as string };
      const close = streams.open(key);
      const stop = new AbortController();
      const channel = new WriteChannel(body, {
        maxFrameBytes,
        itemType,
        readAhead: readAheadOf(store, limits),
        stallMs: limits.bodyStallMs,
      }, stop);
      const writeArgs = { ...args, signal: stop.signal };
      const items = channel.items() as AsyncIterable<never>;
      return await streamResponse(
        name === "produce" ? store.produce(writeArgs, items) : store.restore(writeArgs, items),
        statusFrame,
        {
          stop,
          beforeNext: (sent) => channel.acked(sent),
          startEarly: channel.creditNeeded,
          onOpen: (send) => channel.open(send),
          onEnd: close,
        },
      );
    });
  }

  // Checkpoints and leases: one JSON call each, answered with one JSON object; the store checks
  // the arguments as a local caller's. No signal: Deno's request.signal also aborts (and warns)
  // on every answered request; these calls are short, and run to their end if the client left.
  type Args = (key: string) => never;
  type Call = (store: Store, args: Args) => Promise<unknown>;
  const calls: Record<string, { access: Access; maxBytes?: number; call: Call }> = {
    "get-checkpoint": {
      access: "read",
      call: async (store, args) => ({
        checkpoint: checkpointToJson(await store.getCheckpoint(args("name"))),
      }),
    },
    "put-checkpoint": {
      access: "write",
      maxBytes: limits.maxCheckpointBodyBytes,
      call: async (store, args) => {
        const options = { expectedVersion: args("expectedVersion"), lease: args("lease") };
        const checkpoint = await store.putCheckpoint(args("name"), args("value"), options);
        return { checkpoint: checkpointToJson(checkpoint) };
      },
    },
    "acquire-lease": {
      access: "write",
      call: async (store, args) => {
        const options = { owner: args("owner"), ttlMs: args("ttlMs") };
        return { lease: leaseToJson(await store.acquireLease(args("name"), options)) };
      },
    },
    "renew-lease": {
      access: "write",
      call: async (store, args) => {
        const lease = await store.renewLease(args("lease"), { ttlMs: args("ttlMs") });
        return { lease: leaseToJson(lease) };
      },
    },
    "release-lease": {
      access: "write",
      call: async (store, args) => {
        await store.releaseLease(args("lease"));
        return {};
      },
    },
  };
  for (const [name, { access, maxBytes, call }] of Object.entries(calls)) {
    app.post(`${API_PREFIX}/stores/:store/${name}`, async (c) => {
      const { store } = await open(c, access);
      const args = await callArgs(c.req.raw, maxBytes ?? limits.maxJsonBodyBytes, limits);
      return c.json(await call(store, args));
    });
  }
}
