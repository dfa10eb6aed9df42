// What every case file's register function gets, and how it registers one case.

import type { StoreFactory } from "../types.ts";
import type { ConformanceFactoryOptions, ConformanceSupports, ConformanceTest } from "./options.ts";

/** The suite's options, as every case file's register function gets them. */
export interface Ctx {
  name: string;
  test: ConformanceTest;
  factory: (options?: ConformanceFactoryOptions) => Promise<StoreFactory>;
  supports: ConformanceSupports;
}

/** Registers one case, prefixed with the driver's name. */
export function define(ctx: Ctx, title: string, fn: () => Promise<void>): void {
  ctx.test(`${ctx.name}: ${title}`, fn);
}
