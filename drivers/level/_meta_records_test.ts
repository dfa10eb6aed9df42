import assert from "node:assert/strict";
import { ClassicLevel } from "classic-level";
import { MetaRecords } from "./_meta_records.ts";

type Db = ClassicLevel<Uint8Array, Uint8Array>;

async function withDatabase(body: (db: Db) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const db: Db = new ClassicLevel(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  try {
    await body(db);
  } finally {
    await db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** `db` whose reads answer 0 to 5 ms late: what they read may be overtaken by a write. */
function withSlowReads(db: Db): Db {
  return new Proxy(db, {
    get(target, property) {
      if (property !== "get") {
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (key: Uint8Array) => {
        const value = await target.get(key);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        return value;
      };
    },
  });
}

Deno.test("level meta records: a read overtaken by a write does not keep the old record", async () => {
  await withDatabase(async (db) => {
    for (let round = 0; round < 200; round++) {
      const records = new MetaRecords(withSlowReads(db));
      const name = `name-${round}`;
      const read = records.get("lease", name);
      const written = records.put([{
        kind: "lease",
        name,
        expected: undefined,
        value: new Uint8Array([round & 0xff]),
      }]);
      assert.equal(await written, true);
      assert.equal(await read, undefined);
      const remembered = await records.get("lease", name);
      const stored = await new MetaRecords(db).get("lease", name);
      assert.ok(stored);
      assert.deepEqual(
        remembered,
        stored,
        `round ${round}: the record in memory is not the stored one`,
      );
    }
  });
});

Deno.test("level meta records: a compare-and-set against a record read earlier fails once another write came", async () => {
  await withDatabase(async (db) => {
    const records = new MetaRecords(db);
    const first = [{
      kind: "checkpoint" as const,
      name: "a",
      expected: undefined,
      value: new Uint8Array([1]),
    }];
    assert.equal(await records.put(first), true);
    const read = await records.get("checkpoint", "a");
    assert.equal(read?.version, "1");
    const next = (
      value: number,
    ) => [{
      kind: "checkpoint" as const,
      name: "a",
      expected: read!.version,
      value: new Uint8Array([value]),
    }];
    const results = await Promise.all([records.put(next(2)), records.put(next(3))]);
    assert.deepEqual(results, [true, false]);
    assert.deepEqual(await new MetaRecords(db).get("checkpoint", "a"), {
      value: new Uint8Array([2]),
      version: "2",
    });
  });
});

Deno.test("level meta records: past the records kept in memory, the oldest are read again from disk", async () => {
  await withDatabase(async (db) => {
    const records = new MetaRecords(db);
    const names = 5_000;
    for (let i = 0; i < names; i++) {
      const value = new Uint8Array([i & 0xff, i >> 8]);
      assert.equal(
        await records.put([{ kind: "checkpoint", name: `c${i}`, expected: undefined, value }]),
        true,
      );
    }
    for (let i = 0; i < names; i += 7) {
      assert.deepEqual(await records.get("checkpoint", `c${i}`), {
        value: new Uint8Array([i & 0xff, i >> 8]),
        version: "1",
      });
    }
  });
});
