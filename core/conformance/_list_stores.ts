// StoreFactory.listStores: declared through supports.listStores, never probed.

import assert from "node:assert/strict";
import { type Ctx, define } from "./_context.ts";
import { expectReason } from "./_assertions.ts";
import { ConformanceAbortReason, newId, records } from "./_fixtures.ts";
import { produce } from "./_store_calls.ts";
import { withFactory } from "./_instances.ts";
import { byteSort } from "./_order.ts";

export function registerListStores(ctx: Ctx): void {
  define(
    ctx,
    "listStores: the factory has it exactly when supports.listStores says so",
    () =>
      withFactory(ctx, (factory) => {
        assert.equal(
          typeof factory.listStores === "function",
          ctx.supports.listStores === true,
          `supports.listStores is ${ctx.supports.listStores}, but the factory ${
            factory.listStores ? "has" : "has no"
          } listStores`,
        );
        return Promise.resolve();
      }),
  );

  if (!ctx.supports.listStores) return;

  define(
    ctx,
    "listStores: lists each opened store once, lower-case, in ascending order",
    () =>
      withFactory(ctx, async (factory) => {
        const written = newId().toUpperCase();
        const empty = newId();
        const store = await factory.newStore(written);
        try {
          await produce(store, "s", "g", records(1, 2));
        } finally {
          await store.close();
        }
        await (await factory.newStore(empty)).close();
        const ids = await factory.listStores!();
        for (const id of [written.toLowerCase(), empty]) {
          assert.equal(ids.filter((listed) => listed === id).length, 1, `${id} listed once`);
        }
        assert.deepEqual(ids, byteSort(ids), "ids in ascending order");
        assert.ok(ids.every((id) => id === id.toLowerCase()), "ids are lower-case");
      }),
  );

  define(
    ctx,
    "listStores: an aborted signal rejects with its reason",
    () =>
      withFactory(ctx, async (factory) => {
        const reason = new ConformanceAbortReason();
        await expectReason(
          () => factory.listStores!({ signal: AbortSignal.abort(reason) }),
          reason,
          "listStores with an aborted signal",
        );
      }),
  );
}
