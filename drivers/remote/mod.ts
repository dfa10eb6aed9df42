/**
 * @streamkit/remote: stores served over HTTP. `RemoteStoreFactory` (this module) is the client;
 * `createStoreHandler` (`@streamkit/remote/server`) serves any `StoreFactory`. The protocol is
 * this package's README.
 *
 * @example
 * ```ts ignore
 * import { RemoteStoreFactory } from "@streamkit/remote";
 * await using factory = new RemoteStoreFactory({ url: "http://127.0.0.1:7070" });
 * await using store = await factory.newStore(crypto.randomUUID());
 * console.log(await store.getSegmentStatus("orders", "order-1")); // undefined
 * ```
 *
 * @module
 */

export * from "./remote_store_factory.ts";
