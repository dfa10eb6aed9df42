// Unit tests of azureTableName (no Azurite): Azure's rules (3-63 ASCII letters and digits,
// starting with a letter) for every prefix, and distinct store ids never share a table.
// tests/azure_config_test.ts checks that Azurite accepts the names produced here.

import assert from "node:assert/strict";
import { StreamkitError } from "@streamkit/core";
import { azureTableName } from "./table_name.ts";

const AZURE_TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const ID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const HEX_ID = "0f8fad5bd9cb469fa16570867728950e";

function assertLegal(name: string, context: string): void {
  assert.match(name, AZURE_TABLE_NAME, `${context}: ${name}`);
  assert.ok(name.length <= 63, `${context}: ${name.length} characters`);
  assert.notEqual(name.toLowerCase(), "tables", "a reserved name");
}

function assertInvalidArgument(call: () => unknown, naming: string): void {
  assert.throws(call, (error) => {
    assert.ok(error instanceof StreamkitError);
    assert.equal(error.kind, "InvalidArgument");
    assert.match(error.message, new RegExp(naming));
    return true;
  });
}

Deno.test("azureTableName: the default prefix is streamkit", () => {
  assert.equal(azureTableName(undefined, ID), `streamkit${HEX_ID}`);
});

Deno.test("azureTableName: store ids are lower-cased without dashes", () => {
  assert.equal(azureTableName("orders", ID.toUpperCase()), `orders${HEX_ID}`);
  assert.equal(azureTableName("orders", ID), azureTableName("orders", ID.toUpperCase()));
});

Deno.test("azureTableName: characters Azure refuses are dropped from the prefix", () => {
  const cases: [string, string][] = [
    ["orders-eu", "orderseu"],
    ["orders_eu", "orderseu"],
    ["orders.eu/1", "orderseu1"],
    ["Mixed-Case_Prefix", "MixedCasePrefix"],
    ["ünïcødé-präfix", "ncdprfix"],
    ["prefix with spaces\t\n", "prefixwithspaces"],
    ["emoji🎉prefix", "emojiprefix"],
    ["a\u0000b", "ab"],
  ];
  for (const [prefix, cleaned] of cases) {
    const name = azureTableName(prefix, ID);
    assert.equal(name, cleaned + HEX_ID, JSON.stringify(prefix));
    assertLegal(name, JSON.stringify(prefix));
  }
  // The documented consequence: prefixes that differ only in dropped characters share tables.
  assert.equal(azureTableName("orders-eu", ID), azureTableName("orders_eu", ID));
});

Deno.test("azureTableName: a prefix that does not start with a letter gets sk in front", () => {
  const cases: [string, string][] = [
    ["1abc", "sk1abc"],
    ["42", "sk42"],
    ["", "sk"],
    ["-_-", "sk"],
    ["日本語", "sk"],
    ["_orders", "orders"],
    ["-9lives", "sk9lives"],
  ];
  for (const [prefix, expected] of cases) {
    const name = azureTableName(prefix, ID);
    assert.equal(name, expected + HEX_ID, JSON.stringify(prefix));
    assertLegal(name, JSON.stringify(prefix));
  }
  // The id alone starts with a digit here: the empty prefix still yields a legal name.
  assert.match(HEX_ID, /^[0-9]/);
});

Deno.test("azureTableName: a long prefix is cut so the whole id still fits in 63", () => {
  for (const length of [30, 31, 32, 40, 63, 64, 200, 10_000]) {
    const prefix = "p".repeat(length);
    const name = azureTableName(prefix, ID);
    assertLegal(name, `prefix of ${length}`);
    assert.ok(name.endsWith(HEX_ID), "the id is never cut");
    assert.equal(name.length, Math.min(63, length + 32));
  }
  // Cut after cleaning: a long prefix full of dropped characters keeps its letters.
  const name = azureTableName("a-".repeat(100), ID);
  assert.equal(name, "a".repeat(31) + HEX_ID);
  // A long prefix starting with a digit: sk first, then the cut.
  const digits = azureTableName("9".repeat(100), ID);
  assert.equal(digits, "sk" + "9".repeat(29) + HEX_ID);
  assertLegal(digits, "digits");
});

Deno.test("azureTableName: distinct store ids never share a table, whatever the prefix", () => {
  const prefixes = [undefined, "", "1", "x".repeat(100), "ünï-cøde", "orders"];
  const ids = Array.from({ length: 500 }, () => crypto.randomUUID());
  // Ids differing in one digit only, at the start and at the end.
  ids.push(
    "00000000-0000-0000-0000-000000000000",
    "00000000-0000-0000-0000-000000000001",
    "10000000-0000-0000-0000-000000000000",
  );
  for (const prefix of prefixes) {
    const names = new Set(ids.map((id) => azureTableName(prefix, id)));
    assert.equal(names.size, ids.length, `prefix ${JSON.stringify(prefix)}`);
    for (const name of names) assertLegal(name, `prefix ${JSON.stringify(prefix)}`);
  }
});

Deno.test("azureTableName: random prefixes always give legal names", () => {
  const alphabet = ["a", "Z", "0", "9", "-", "_", " ", ".", "/", "é", "中", "🎉", "\u0001"];
  for (let i = 0; i < 2_000; i++) {
    const length = Math.floor(Math.random() * 80);
    let prefix = "";
    for (let j = 0; j < length; j++) {
      prefix += alphabet[Math.floor(Math.random() * alphabet.length)];
    }
    assertLegal(azureTableName(prefix, crypto.randomUUID()), JSON.stringify(prefix));
  }
});

Deno.test("azureTableName: bad store ids and prefixes are InvalidArgument", () => {
  for (const id of ["", "not-a-uuid", `${ID}0`, ID.replaceAll("-", ""), `{${ID}}`]) {
    assertInvalidArgument(() => azureTableName("p", id), "");
  }
  for (const prefix of [42, null, {}, ["a"]]) {
    if (prefix === null) continue; // null counts as absent: the default prefix
    assertInvalidArgument(
      () => azureTableName(prefix as unknown as string, ID),
      "tablePrefix",
    );
  }
  assert.equal(azureTableName(null as unknown as string, ID), `streamkit${HEX_ID}`);
});
