// Conformance: consumeSpace refuses offsets of another space, of a prefix-named space, of
// garbage bytes, and offsets that are not bytes.

import { segmentOffset, spaceOffset } from "../offsets.ts";
import { expectError } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { randomBytes, records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { drain, produce, readSpace } from "./_store_calls.ts";

export function registerConsumeSpaceInvalid(ctx: Ctx): void {
  define(
    ctx,
    "invalid argument: consumeSpace offset of another space",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "a", "g", records(1, 2));
        await produce(store, "b", "g", records(1, 2));
        const [fromB] = await readSpace(store, "b");
        await expectError(
          () => drain(store.consumeSpace({ space: "a", offset: spaceOffset(fromB) })),
          "InvalidArgument",
          "offset",
        );
        await expectError(
          () => drain(store.consumeSpace({ space: "c", offset: spaceOffset(fromB) })),
          "InvalidArgument",
          "offset",
        );
      }),
  );

  define(
    ctx,
    "invalid argument: consumeSpace offset of a prefix-named space",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "a", "g", records(1, 1));
        await produce(store, "ab", "g", records(1, 1));
        const [fromA] = await readSpace(store, "a");
        const [fromAb] = await readSpace(store, "ab");
        await expectError(
          () => drain(store.consumeSpace({ space: "ab", offset: spaceOffset(fromA) })),
          "InvalidArgument",
          "offset",
        );
        await expectError(
          () => drain(store.consumeSpace({ space: "a", offset: spaceOffset(fromAb) })),
          "InvalidArgument",
          "offset",
        );
      }),
  );

  define(
    ctx,
    "invalid argument: consumeSpace offset of garbage bytes",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const [entry] = await readSpace(store, "s");
        const whole = spaceOffset(entry);
        const garbage = [
          new Uint8Array([1, 2, 3]),
          randomBytes(64),
          new Uint8Array(40),
          new Uint8Array(40).fill(0xff),
          whole.slice(0, whole.length - 8), // truncated
          segmentOffset(entry), // a segment offset is not a space offset
        ];
        for (const offset of garbage) {
          await expectError(
            () => drain(store.consumeSpace({ space: "s", offset })),
            "InvalidArgument",
            "offset",
          );
        }
      }),
  );

  define(
    ctx,
    "invalid argument: consumeSpace offset that is not a Uint8Array",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const [entry] = await readSpace(store, "s");
        const bytes = spaceOffset(entry);
        for (const offset of ["offset", Array.from(bytes), bytes.buffer, 42]) {
          await expectError(
            () =>
              drain(store.consumeSpace({ space: "s", offset: offset as unknown as Uint8Array })),
            "InvalidArgument",
            "offset",
          );
        }
      }),
  );
}
