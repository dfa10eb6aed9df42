// Conformance: odd legal names, prefix isolation, names that look joined.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { spaceOffset } from "../offsets.ts";
import type { Store } from "../types.ts";
import { assertSegment } from "./_assertions.ts";
import { copyOfStatus, labelsOf, sequencesOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { range, records, tagged, textOf } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { byteSort } from "./_order.ts";
import { produce, readSegment, readSpace } from "./_store_calls.ts";

const ODD_NAMES: ReadonlyArray<[string, string]> = [
  ["slash", "/"],
  ["backslash", "\\"],
  ["hash", "#"],
  ["question mark", "?"],
  ["percent", "%"],
  ["mixed separators", "a/b\\c#d?e%f"],
  ["leading and trailing spaces", " lead and trail "],
  ["control characters", "\u0001\u001f\u007f"],
  ["tab and newlines", "tab\there\nnew\r\nline"],
  ["emoji", "🦀🎉"],
  ["CJK", "漢字かな한글"],
  ["percent-encoded slash", "%2F"],
  ["dot dot", ".."],
  ["dot", "."],
  ["quotes", 'O\'Brien "quoted" `tick`'],
  ["asterisk", "*"],
  ["U+FFFF and U+FEFF", "\uFFFF\uFEFF"],
  ["leading byte order mark", "\uFEFFbom"],
  ["byte order mark alone", "\uFEFF"],
  ["single space", " "],
];

export function registerNames(ctx: Ctx): void {
  for (const [label, name] of ODD_NAMES) {
    define(
      ctx,
      `names: ${label} ${JSON.stringify(name)} round-trips on every method`,
      () =>
        withFreshStore(ctx, async (store) => {
          const first = await produce(store, name, name, records(1, 2, "n"));
          assert.equal(first[0].space, name, "status space");
          assert.equal(first[0].segment, name, "status segment");
          await produce(store, name, name, records(3, 1, "n"));
          await produce(store, "plain", name, records(1, 1, "p"));
          await produce(store, name, "plain", records(1, 1, "q"));

          const entries = await assertSegment(store, name, name, [1, 2, 3], "n");
          for (const entry of entries) {
            assert.equal(entry.space, name, "entry space");
            assert.equal(entry.segment, name, "entry segment");
          }
          assert.deepEqual(sequencesOf(await readSegment(store, name, name, { minSequence: 2 })), [
            2,
            3,
          ]);
          await assertSegment(store, "plain", name, [1], "p");

          const space = await readSpace(store, name);
          assert.equal(space.length, 4, "consumeSpace sees both segments of the space");
          assert.deepEqual(
            labelsOf(space.filter((entry) => entry.segment === name)),
            [`${name}#1`, `${name}#2`, `${name}#3`],
          );
          for (const entry of space) assert.equal(entry.space, name);
          for (let i = 0; i < space.length; i++) {
            const resumed = await readSpace(store, name, { offset: spaceOffset(space[i]) });
            assert.deepEqual(labelsOf(resumed), labelsOf(space.slice(i + 1)), `resume after #${i}`);
          }

          const peeked = await store.peek(name, name);
          assert.equal(peeked?.sequence, 3);
          assert.equal(peeked?.space, name);
          assert.equal(peeked?.segment, name);
          assert.equal(peeked && textOf(peeked), tagged("n", 3));

          const status = await store.getSegmentStatus(name, name);
          assert.equal(status?.space, name);
          assert.equal(status?.segment, name);
          assert.equal(status?.firstSequence, 1);
          assert.equal(status?.lastSequence, 3);

          assert.deepEqual(await collect(store.getSpaces()), byteSort([name, "plain"]));
          assert.deepEqual(await collect(store.getSegments(name)), byteSort([name, "plain"]));
          assert.deepEqual(await collect(store.getSegments("plain")), [name]);
        }),
    );
  }

  define(
    ctx,
    "prefix isolation: consumeSegment sees only its own segment",
    () =>
      withFreshStore(ctx, async (store) => {
        await prefixFixture(store);
        for (const [space, segment, count] of PREFIX_LAYOUT) {
          await assertSegment(store, space, segment, range(1, count), `${space}|${segment}`);
        }
        assert.deepEqual(await readSegment(store, "a", "se"), [], "a prefix of a segment name");
        assert.deepEqual(await readSegment(store, "a", "seg22"), [], "an extension of a name");
        assert.deepEqual(
          await readSegment(store, "abc", "seg"),
          [],
          "an extension of a space name",
        );
      }),
  );

  define(
    ctx,
    "prefix isolation: consumeSpace sees only its own space",
    () =>
      withFreshStore(ctx, async (store) => {
        await prefixFixture(store);
        for (const space of ["a", "ab", "a\u0001"]) {
          const entries = await readSpace(store, space);
          const expected = PREFIX_LAYOUT.filter(([s]) => s === space)
            .reduce((sum, [, , count]) => sum + count, 0);
          assert.equal(entries.length, expected, `entries of space ${JSON.stringify(space)}`);
          for (const entry of entries) {
            assert.equal(entry.space, space);
            assert.equal(textOf(entry), tagged(`${space}|${entry.segment}`, entry.sequence));
          }
        }
        assert.deepEqual(await readSpace(store, "b"), []);
        assert.deepEqual(await readSpace(store, "a\u0002"), []);
      }),
  );

  define(
    ctx,
    "prefix isolation: getSegmentStatus and peek see only their own segment",
    () =>
      withFreshStore(ctx, async (store) => {
        await prefixFixture(store);
        for (const [space, segment, count] of PREFIX_LAYOUT) {
          const status = copyOfStatus(await store.getSegmentStatus(space, segment));
          assert.equal(status?.lastSequence, count, `status of ${space}/${segment}`);
          assert.equal(status?.space, space);
          assert.equal(status?.segment, segment);
          const last = await store.peek(space, segment);
          assert.equal(last?.sequence, count, `peek of ${space}/${segment}`);
          assert.equal(last && textOf(last), tagged(`${space}|${segment}`, count));
        }
        assert.equal(await store.getSegmentStatus("a", "se"), undefined);
        assert.equal(await store.peek("a", "se"), undefined);
        assert.equal(await store.getSegmentStatus("abc", "seg"), undefined);
        assert.equal(await store.peek("abc", "seg"), undefined);
      }),
  );

  define(
    ctx,
    "prefix isolation: getSpaces and getSegments list only their own names",
    () =>
      withFreshStore(ctx, async (store) => {
        await prefixFixture(store);
        assert.deepEqual(await collect(store.getSpaces()), byteSort(["a", "ab", "a\u0001"]));
        assert.deepEqual(
          await collect(store.getSegments("a")),
          byteSort(["seg", "seg2", "seg\u0001"]),
        );
        assert.deepEqual(await collect(store.getSegments("ab")), ["seg", "seg2"]);
        assert.deepEqual(await collect(store.getSegments("a\u0001")), ["seg"]);
        assert.deepEqual(await collect(store.getSegments("b")), []);
      }),
  );

  define(
    ctx,
    "names: space and segment names that look joined never collide",
    () =>
      withFreshStore(ctx, async (store) => {
        const pairs: Array<[string, string]> = [];
        for (const separator of ["/", ":", "|", "-", "\u0001", "", "\\", "#"]) {
          pairs.push([`a${separator}b`, "c"], ["a", `b${separator}c`]);
        }
        const unique = pairs.filter(([space, segment], i) =>
          pairs.findIndex(([s, g]) => s === space && g === segment) === i
        );
        for (const [index, [space, segment]] of unique.entries()) {
          await produce(store, space, segment, records(1, index + 1, `${space}|${segment}`));
        }
        for (const [index, [space, segment]] of unique.entries()) {
          await assertSegment(store, space, segment, range(1, index + 1), `${space}|${segment}`);
          assert.equal((await store.getSegmentStatus(space, segment))?.lastSequence, index + 1);
        }
        const spaces = byteSort([...new Set(unique.map(([space]) => space))]);
        assert.deepEqual(await collect(store.getSpaces()), spaces);
        for (const space of spaces) {
          const segments = byteSort(unique.filter(([s]) => s === space).map(([, g]) => g));
          assert.deepEqual(
            await collect(store.getSegments(space)),
            segments,
            `segments of ${space}`,
          );
          const entries = await readSpace(store, space);
          for (const entry of entries) {
            assert.equal(textOf(entry), tagged(`${space}|${entry.segment}`, entry.sequence));
          }
        }
      }),
  );
}

const PREFIX_LAYOUT: ReadonlyArray<[string, string, number]> = [
  ["a", "seg", 2],
  ["a", "seg2", 3],
  ["a", "seg\u0001", 1],
  ["ab", "seg", 4],
  ["ab", "seg2", 5],
  ["a\u0001", "seg", 1],
];

async function prefixFixture(store: Store): Promise<void> {
  for (const [space, segment, count] of PREFIX_LAYOUT) {
    await produce(store, space, segment, records(1, count, `${space}|${segment}`));
  }
}
