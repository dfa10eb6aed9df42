// A store on a server: every call one request of the protocol (README "Protocol"), errors as
// the server's store raised them, follows resumed across dropped connections.

import {
  type AcquireLeaseOptions,
  type Checkpoint,
  type ConsumeArgs,
  type ConsumeSegmentArgs,
  type ConsumeSpaceArgs,
  type Entry,
  type FollowArgs,
  type FollowEvent,
  type FollowSegmentArgs,
  type Lease,
  type ProduceArgs,
  type ProduceRecord,
  type PutCheckpointOptions,
  type ReadOptions,
  type RenewLeaseOptions,
  type RestoreArgs,
  type SegmentStatus,
  type Store,
  type StoreLimits,
  StreamkitError,
  validateCheckpointValue,
  validateName,
} from "@streamkit/core";
import { EntryDecoder } from "@streamkit/core/driver";
import type { Connection } from "./_connection.ts";
import { type Frame, FrameType, parseJson } from "./_frames.ts";
import { followRemote } from "./_remote_follow.ts";
import { argsToJson, checkpointFromJson, leaseFromJson, type ReadAhead } from "./_wire.ts";
import { WriteBody } from "./_write_body.ts";

/** A store served by a remote server. */
export class RemoteStore implements Store {
  readonly limits: StoreLimits;
  readonly #connection: Connection;
  /** How much of a write's body may go ahead of what the server's store read. */
  readonly #readAhead: ReadAhead;
  readonly #path: string;
  readonly #storeId: string;
  readonly #closing = new AbortController();
  #closed = false;
  #closedDone: Promise<void> = Promise.resolve();
  readonly #onClose: () => void;
  /** The write stoppers of writes in progress. */
  readonly #writes = new Set<() => void>();
  /** Status reads of writes in progress: a commit may be in flight behind each. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    connection: Connection,
    storeId: string,
    limits: StoreLimits,
    readAhead: ReadAhead,
    onClose: () => void,
  ) {
    this.#readAhead = readAhead;
    this.#connection = connection;
    this.#storeId = storeId;
    this.#path = `/stores/${storeId}`;
    this.limits = limits;
    this.#onClose = onClose;
  }

  /** The caller's signal or this store's close, whichever comes first; throws if either came. */
  #stop(signal: AbortSignal | undefined): AbortSignal {
    if (this.#closed) throw this.#closedError();
    signal?.throwIfAborted();
    return signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
  }

  /** A listing: each JSON frame of the answer, as `item` reads it. */
  async *#listing<T>(
    path: string,
    options: ReadOptions,
    item: (message: Record<string, unknown>) => T,
  ): AsyncIterable<T> {
    const signal = this.#stop(options.signal);
    for await (const frame of this.#connection.frames(path, { signal })) {
      this.#assertOpen();
      signal.throwIfAborted();
      yield item(parseJson(frame.payload));
    }
  }

  #names(path: string, options: ReadOptions): AsyncIterable<string> {
    return this.#listing(path, options, (message) => String(message.name));
  }

  /** The entries of a read: `args` as the JSON body, or a GET when there are none. */
  async *#entries(
    path: string,
    args: { value: unknown } | undefined,
    signal: AbortSignal,
  ): AsyncIterable<Entry> {
    const init = args === undefined
      ? { signal }
      : { json: { args: argsToJson(args.value) }, signal };
    const decoder = new EntryDecoder();
    for await (const frame of this.#connection.frames(path, init)) {
      this.#assertOpen();
      signal.throwIfAborted();
      yield entryOf(frame, decoder);
    }
  }

  getSpaces(options: ReadOptions = {}): AsyncIterable<string> {
    return this.#names(`${this.#path}/spaces`, options);
  }

  async *getSegments(space: string, options: ReadOptions = {}): AsyncIterable<string> {
    validateName("space", space);
    yield* this.#names(`${this.#path}/segments?${query({ space })}`, options);
  }

  async *consumeSegment(args: ConsumeSegmentArgs): AsyncIterable<Entry> {
    const signal = this.#stop(args?.signal);
    yield* this.#entries(`${this.#path}/consume-segment`, { value: args }, signal);
  }

  async *consumeSpace(args: ConsumeSpaceArgs): AsyncIterable<Entry> {
    const signal = this.#stop(args?.signal);
    yield* this.#entries(`${this.#path}/consume-space`, { value: args }, signal);
  }

  async *consume(args: ConsumeArgs): AsyncIterable<Entry> {
    const signal = this.#stop(args?.signal);
    yield* this.#entries(`${this.#path}/consume`, { value: args }, signal);
  }

  async *follow(args: FollowArgs): AsyncIterable<FollowEvent> {
    const signal = this.#stop(args?.signal);
    yield* followRemote(
      this.#connection,
      `${this.#path}/follow`,
      args,
      signal,
      () => this.#assertOpen(),
    );
  }

  async *followSegment(args: FollowSegmentArgs): AsyncIterable<FollowEvent> {
    const signal = this.#stop(args?.signal);
    yield* followRemote(
      this.#connection,
      `${this.#path}/follow-segment`,
      args,
      signal,
      () => this.#assertOpen(),
    );
  }

  async peek(
    space: string,
    segment: string,
    options: ReadOptions = {},
  ): Promise<Entry | undefined> {
    const { path, signal } = this.#segmentCall("peek", space, segment, options);
    for await (const entry of this.#entries(path, undefined, signal)) return entry;
    return undefined;
  }

  /** A call on one segment: the caller's signal or close, the names checked, its path. */
  #segmentCall(
    route: string,
    space: string,
    segment: string,
    options: ReadOptions,
  ): { path: string; signal: AbortSignal } {
    const signal = this.#stop(options.signal);
    validateName("space", space);
    validateName("segment", segment);
    return { path: `${this.#path}/${route}?${query({ space, segment })}`, signal };
  }

  async getSegmentStatus(
    space: string,
    segment: string,
    options: ReadOptions = {},
  ): Promise<SegmentStatus | undefined> {
    const { path, signal } = this.#segmentCall("status", space, segment, options);
    const answer = await this.#connection.json(path, { signal });
    return (answer.status ?? undefined) as SegmentStatus | undefined;
  }

  produce(
    args: ProduceArgs,
    records: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  ): AsyncIterable<SegmentStatus> {
    return this.#write("produce", args, records);
  }

  restore(
    args: RestoreArgs,
    entries: Iterable<Entry> | AsyncIterable<Entry>,
  ): AsyncIterable<SegmentStatus> {
    return this.#write("restore", args, entries);
  }

  async *#write(
    kind: "produce" | "restore",
    args: ProduceArgs | RestoreArgs,
    items: unknown,
  ): AsyncIterable<SegmentStatus> {
    const space = validateName("space", args?.space);
    const segment = validateName("segment", args.segment);
    this.#stop(args.signal);
    const body = new WriteBody(items, kind, this.#readAhead);
    // A close or an abort stops the write as a local one would: the server commits no new
    // chunk, finishes the one in flight, and answers; a break ends the request at once.
    const stopWrite = () => body.stop();
    this.#writes.add(stopWrite);
    args.signal?.addEventListener("abort", stopWrite, { once: true });
    const done = new AbortController();
    try {
      const path = `${this.#path}/${kind}?${query({ space, segment })}`;
      const frames = this.#connection.frames(path, { frames: body.stream, signal: done.signal });
      while (true) {
        const pending = frames.next();
        const settled = pending.then(() => {}, () => {});
        this.#inFlight.add(settled);
        let next: IteratorResult<Frame>;
        try {
          next = await pending;
        } catch (error) {
          // The caller's own source failed, or its signal or close stopped the write.
          if (body.sourceError) throw body.sourceError.error;
          args.signal?.throwIfAborted();
          if (this.#closed) throw this.#closedError();
          throw error;
        } finally {
          this.#inFlight.delete(settled);
        }
        if (next.done) return;
        const message = parseJson(next.value.payload);
        if (message.type === "credit") {
          body.credit(Number(message.items), Number(message.bytes));
          continue;
        }
        yield message.status as SegmentStatus;
        if (this.#closed) throw this.#closedError();
        args.signal?.throwIfAborted();
        body.ack();
      }
    } finally {
      this.#writes.delete(stopWrite);
      args.signal?.removeEventListener("abort", stopWrite);
      body.close();
      done.abort();
    }
  }

  async getCheckpoint(name: string, options: ReadOptions = {}): Promise<Checkpoint | undefined> {
    validateName("name", name);
    const signal = this.#stop(options?.signal);
    const answer = await this.#connection.json(`${this.#path}/get-checkpoint`, {
      json: { args: { name } },
      signal,
    });
    this.#assertOpen();
    return checkpointFromJson(answer.checkpoint);
  }

  getCheckpoints(options: ReadOptions = {}): AsyncIterable<Checkpoint> {
    return this.#listing(
      `${this.#path}/checkpoints`,
      options ?? {},
      (message) => checkpointFromJson(message.checkpoint ?? {}) as Checkpoint,
    );
  }

  async putCheckpoint(
    name: string,
    value: Uint8Array,
    options: PutCheckpointOptions = {},
  ): Promise<Checkpoint> {
    // The checks that cannot wait for the server: a plain `{$bytes}` object would pass for bytes
    // there, and a huge value is better refused before it is sent.
    validateName("name", name);
    validateCheckpointValue(value);
    const { expectedVersion, lease, signal } = options ?? {};
    const answer = await this.#call(
      "put-checkpoint",
      { name, value, expectedVersion, lease },
      signal,
    );
    return checkpointFromJson(answer.checkpoint) ?? unreadable("checkpoint");
  }

  async acquireLease(name: string, options: AcquireLeaseOptions): Promise<Lease | undefined> {
    validateName("name", name);
    const { owner, ttlMs, signal } = options ?? {};
    const answer = await this.#call("acquire-lease", { name, owner, ttlMs }, signal);
    return leaseFromJson(answer.lease);
  }

  async renewLease(lease: Lease, options: RenewLeaseOptions = {}): Promise<Lease> {
    const { ttlMs, signal } = options ?? {};
    const answer = await this.#call("renew-lease", { lease, ttlMs }, signal);
    return leaseFromJson(answer.lease) ?? unreadable("lease");
  }

  async releaseLease(lease: Lease, options: ReadOptions = {}): Promise<void> {
    await this.#call("release-lease", { lease }, options?.signal);
  }

  getLeases(options: ReadOptions = {}): AsyncIterable<Lease> {
    return this.#listing(
      `${this.#path}/leases`,
      options ?? {},
      (message) => leaseFromJson(message.lease ?? {}) as Lease,
    );
  }

  /**
   * A checkpoint or lease write: its arguments as JSON (absent ones left out). Only the
   * caller's signal stops it; a close waits for it, as for a chunk in flight.
   */
  async #call(
    route: string,
    args: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown>> {
    this.#assertOpen();
    signal?.throwIfAborted();
    const given = Object.entries(args).filter(([, value]) => value !== undefined);
    const json = { args: argsToJson(Object.fromEntries(given)) };
    const answer = this.#connection.json(`${this.#path}/${route}`, { json, signal });
    const settled = answer.then(() => {}, () => {});
    this.#inFlight.add(settled);
    try {
      return await answer;
    } finally {
      this.#inFlight.delete(settled);
    }
  }

  /** Ends reads and follows at once; waits for the chunks of writes in flight (none begins). */
  close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closed = true;
      this.#closing.abort(this.#closedError());
      for (const stopWrite of this.#writes) stopWrite();
      this.#closedDone = Promise.allSettled([...this.#inFlight]).then(() => this.#onClose());
    }
    return this.#closedDone;
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closedError();
  }

  #closedError(): StreamkitError {
    return new StreamkitError("Closed", `store ${this.#storeId} is closed`);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function entryOf(frame: Frame, decoder: EntryDecoder): Entry {
  if (frame.type !== FrameType.Entry) {
    throw new StreamkitError("Unavailable", `the server sent a frame of type ${frame.type}`);
  }
  return decoder.decode(frame.payload);
}

function unreadable(what: string): never {
  throw new StreamkitError("Unavailable", `the server answered with an unreadable ${what}`);
}

function query(values: Record<string, string>): string {
  return new URLSearchParams(values).toString();
}
