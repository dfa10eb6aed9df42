/**
 * The client: a `StoreFactory` whose stores live on a server that runs
 * `createStoreHandler` (`streamkit serve`).
 *
 * @module
 */

import {
  type ReadOptions,
  type Store,
  type StoreFactory,
  type StoreId,
  type StoreLimits,
  StreamkitError,
  validateStoreId,
} from "@streamkit/core";
import { Connection } from "./_connection.ts";
import { RemoteStore } from "./_remote_store.ts";
import type { ReadAhead } from "./_wire.ts";

/**
 * Options of {@linkcode RemoteStoreFactory}.
 *
 * @example
 * ```ts
 * import type { RemoteStoreFactoryOptions } from "@streamkit/remote";
 * const options: RemoteStoreFactoryOptions = {
 *   url: "https://events.example.com",
 *   token: () => Promise.resolve("<a JWT with scope streamkit::*>"),
 * };
 * ```
 */
export interface RemoteStoreFactoryOptions {
  /** The server's address (`http:` or `https:`), with the path it is served under, if any. */
  url: string | URL;
  /** The bearer token, or a function asked for one before each request (to refresh it). */
  token?: string | (() => Promise<string>);
  /** The `fetch` to send requests with (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * A factory of stores served by a streamkit server: each call of a store is a request to it,
 * with the same semantics and errors as a local store's; follows resume across dropped
 * connections and server restarts without a gap or a duplicate.
 *
 * @example
 * ```ts ignore
 * import { RemoteStoreFactory } from "@streamkit/remote";
 * await using factory = new RemoteStoreFactory({
 *   url: "http://127.0.0.1:7070",
 *   token: Deno.env.get("STREAMKIT_TOKEN"),
 * });
 * await using store = await factory.newStore("7c0e4d1a-4f5b-4f8e-9a57-1f2a3b4c5d6e");
 * for await (const space of store.getSpaces()) console.log(space);
 * ```
 */
export class RemoteStoreFactory implements StoreFactory {
  readonly #connection: Connection;
  readonly #stores = new Set<RemoteStore>();
  #closed = false;

  /** A factory of the stores served at `options.url`; nothing is sent until `newStore`. */
  constructor(options: RemoteStoreFactoryOptions) {
    if (typeof options !== "object" || options === null) {
      throw new StreamkitError("InvalidArgument", "options: must be an object with a url");
    }
    this.#connection = new Connection(options);
  }

  /** Opens store `storeId` on the server (creating it there if it has no entries yet). */
  async newStore(storeId: StoreId): Promise<Store> {
    this.#assertOpen();
    const id = validateStoreId(storeId);
    const answer = await this.#connection.json(`/stores/${id}`);
    this.#assertOpen();
    const limits = answer.limits as StoreLimits;
    const store = new RemoteStore(
      this.#connection,
      id,
      limits,
      answer.readAhead as ReadAhead,
      () => this.#stores.delete(store),
    );
    this.#stores.add(store);
    return store;
  }

  /** The ids of the server's stores this factory's token may read. */
  async listStores(options: ReadOptions = {}): Promise<StoreId[]> {
    this.#assertOpen();
    options.signal?.throwIfAborted();
    const answer = await this.#connection.json("/stores", { signal: options.signal });
    return answer.stores as StoreId[];
  }

  /** Closes every store this factory opened; the server's stores stay open for others. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#stores].map((store) => store.close()));
  }

  /** Closes the factory (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StreamkitError("Closed", "the factory is closed");
  }
}
