// Conformance: consume refuses invalid spaces, offsets, limits and timestamp bounds.

import { spaceOffset } from "../offsets.ts";
import type { ConsumeArgs } from "../types.ts";
import { expectFirstNextError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { randomBytes, records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { produce, readSpace } from "./_store_calls.ts";

export function registerConsumeInvalid(ctx: Ctx): void {
  define(
    ctx,
    "invalid argument: consume with empty or malformed spaces",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 1));
        const malformed: unknown[] = [{}, null, undefined, [], ["s"], "s", 42];
        for (const spaces of malformed) {
          await expectFirstNextError(
            () => store.consume({ spaces: spaces as ConsumeArgs["spaces"] }),
            "InvalidArgument",
            "spaces",
          );
        }
        await expectFirstNextError(
          () => store.consume(undefined as unknown as ConsumeArgs),
          "InvalidArgument",
          "spaces",
        );
        for (const name of ["", "a\u0000b", "\uD800", "a".repeat(201)]) {
          await expectFirstNextError(
            () => store.consume({ spaces: { s: undefined, [name]: undefined } }),
            "InvalidArgument",
            "spaces",
          );
        }
      }),
  );

  define(
    ctx,
    "invalid argument: consume with an offset of another space, or not an offset",
    () =>
      withFreshStore(ctx, async (store) => {
        for (const space of ["a", "ab", "b"]) await produce(store, space, "g", records(1, 1));
        const [fromA] = await readSpace(store, "a");
        const [fromAb] = await readSpace(store, "ab");
        const [fromB] = await readSpace(store, "b");
        const wrong: Array<Record<string, unknown>> = [
          { a: spaceOffset(fromB) },
          { ab: spaceOffset(fromA) },
          { a: spaceOffset(fromAb) },
          { a: spaceOffset(fromA), b: spaceOffset(fromA) },
          { c: spaceOffset(fromA), a: undefined },
          { a: randomBytes(40) },
          { a: spaceOffset(fromA).slice(0, 12) },
          { a: null },
          { a: "offset" },
          { a: Array.from(spaceOffset(fromA)) },
        ];
        for (const spaces of wrong) {
          await expectFirstNextError(
            () => store.consume({ spaces: spaces as ConsumeArgs["spaces"] }),
            "InvalidArgument",
            "offset",
          );
        }
      }),
  );

  define(
    ctx,
    "invalid argument: consume limit and timestamp bounds",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 1));
        for (const argument of ["limit", "minTimestamp", "maxTimestamp"]) {
          for (const value of [-1, 1.5, NaN, Infinity, "3", 2 ** 53]) {
            await expectFirstNextError(
              () => store.consume({ spaces: { s: undefined }, [argument]: value }),
              "InvalidArgument",
              argument,
            );
          }
        }
      }),
  );
}
