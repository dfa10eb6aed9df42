// Factories and stores a case opens and closes whatever happens: one factory, a fresh store in
// a fresh factory, or two factories over one storage with the same store open in each.

import type { Store, StoreFactory, StoreId } from "../types.ts";
import type { Ctx } from "./_context.ts";
import { newId } from "./_fixtures.ts";
import type { ConformanceFactoryOptions } from "./options.ts";

/** Opens a factory, runs `fn`, closes the factory whatever happens. */
export async function withFactory(
  ctx: Ctx,
  fn: (factory: StoreFactory) => Promise<void>,
  options?: ConformanceFactoryOptions,
): Promise<void> {
  const factory = await ctx.factory(options);
  try {
    await fn(factory);
  } finally {
    await factory.close();
  }
}

/** Opens a factory and a store of a new id, runs `fn`, closes both whatever happens. */
export function withFreshStore(
  ctx: Ctx,
  fn: (store: Store, env: { factory: StoreFactory; storeId: StoreId }) => Promise<void>,
  options?: ConformanceFactoryOptions,
): Promise<void> {
  return withFactory(ctx, async (factory) => {
    const storeId = newId();
    const store = await factory.newStore(storeId);
    try {
      await fn(store, { factory, storeId });
    } finally {
      await store.close();
    }
  }, options);
}

/** Two factories over one storage, each with the store open; everything closed afterwards. */
export async function withTwoInstances(
  ctx: Ctx,
  fn: (a: Store, b: Store, storeId: string) => Promise<void>,
): Promise<void> {
  const first = await ctx.factory();
  let second: StoreFactory | undefined;
  try {
    second = await ctx.factory({ sameStorageAs: first });
    const storeId = newId();
    const a = await first.newStore(storeId);
    try {
      const b = await second.newStore(storeId);
      try {
        await fn(a, b, storeId);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  } finally {
    await second?.close();
    await first.close();
  }
}
