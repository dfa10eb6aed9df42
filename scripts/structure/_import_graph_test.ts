import assert from "node:assert/strict";
import { findCycles, importSpecifiers } from "./_import_graph.ts";

Deno.test("importSpecifiers finds imports, type-only imports, re-exports and dynamic imports", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type { B } from "./b.ts";',
    "import {",
    "  c,",
    "  type D,",
    '} from "./c.ts";',
    'export * from "./e.ts";',
    'export { f } from "./f.ts";',
    'const g = await import("./g.ts");',
    '// import { h } from "./h.ts";',
    '/** import { i } from "./i.ts"; */',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source), [
    "./a.ts",
    "./b.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
  ]);
});

Deno.test("findCycles reports each cycle, and none in a tree", () => {
  const tree = new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]);
  assert.deepEqual(findCycles(tree), []);
  const cyclic = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["d"]]]);
  assert.deepEqual(findCycles(cyclic), [["a", "b", "c", "a"], ["d", "d"]]);
});
