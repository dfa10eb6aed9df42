// The repository keeps its own copy of the byte vectors (core/codec/testdata/), so a plain clone
// tests itself. Where the project's shared folder sits beside the repository, the copies must
// be byte-identical to it; without it there is nothing to compare, and the vectors were read by
// the codec and lexkey tests all the same.
import assert from "node:assert/strict";

const VECTORS = ["codec.json", "lexkey.json"];

async function readIfPresent(url: URL): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

Deno.test("testdata: the vectors in the repository are those of ../shared/vectors", async () => {
  let compared = 0;
  for (const name of VECTORS) {
    const kept = await Deno.readFile(new URL(`./testdata/${name}`, import.meta.url));
    assert.ok(kept.length > 0, `core/codec/testdata/${name} is empty`);
    const shared = await readIfPresent(new URL(`../../../shared/vectors/${name}`, import.meta.url));
    if (shared === undefined) continue;
    assert.deepEqual(
      kept,
      shared,
      `core/codec/testdata/${name} differs from ../shared/vectors/${name}`,
    );
    compared++;
  }
  console.log(`testdata: ${compared} of ${VECTORS.length} vector files compared with ../shared`);
});
