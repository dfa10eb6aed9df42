import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Entry } from "@streamkit/core";
import { decodeBase64, encodeBase64 } from "./_base64.ts";
import { ENTRY_FIELDS, formatEntry, FormatError, parseEntry } from "./_export_format.ts";
import { formatEntryText, showPayload, showText } from "./_text_format.ts";

const ENTRY: Entry = {
  space: "🦊 a/b\\c#d?e%f",
  segment: "\uFEFFseg\u0001",
  sequence: 7,
  timestamp: 1_700_000_000_123,
  trx: {
    id: "550e8400-e29b-41d4-a716-446655440000",
    node: "00000000-0000-0000-0000-000000000000",
    number: 3,
  },
  metadata: { "content-type": "x/y", "": "empty key" },
  payload: Uint8Array.from({ length: 256 }, (_, i) => i),
};

Deno.test("export format: an entry travels through one line exactly, fields in the documented order", () => {
  const line = formatEntry(ENTRY);
  assert.deepEqual(Object.keys(JSON.parse(line)), ENTRY_FIELDS);
  assert.ok(!line.includes("\n"));
  assert.deepEqual(parseEntry(line), ENTRY);
  const empty = { ...ENTRY, payload: new Uint8Array(0), metadata: {} };
  assert.deepEqual(parseEntry(formatEntry(empty)), empty);
});

Deno.test("export format: a line is JSON.stringify of the entry's fields, byte for byte", () => {
  const viaObject = (entry: Entry) =>
    JSON.stringify({
      space: entry.space,
      segment: entry.segment,
      sequence: entry.sequence,
      timestamp: entry.timestamp,
      trx: { id: entry.trx.id, node: entry.trx.node, number: entry.trx.number },
      metadata: entry.metadata,
      payload: Buffer.from(entry.payload).toString("base64"),
    });
  const quoted = '"quoted" \\ \u2028 \u0000 \uD800';
  for (
    const entry of [
      ENTRY,
      { ...ENTRY, payload: new Uint8Array(0), metadata: {} },
      { ...ENTRY, space: quoted, segment: quoted, metadata: { [quoted]: quoted }, timestamp: 0 },
      { ...ENTRY, sequence: Number.MAX_SAFE_INTEGER, payload: ENTRY.payload.subarray(3, 8) },
    ]
  ) {
    assert.equal(formatEntry(entry), viaObject(entry));
  }
});

Deno.test("export format: a line that is not an entry names the field and the rule", () => {
  const fields = JSON.parse(formatEntry(ENTRY));
  const broken = (change: Record<string, unknown>) => JSON.stringify({ ...fields, ...change });
  const cases: [string, RegExp][] = [
    ["{", /^not JSON/],
    ["[]", /^entry: must be an object/],
    [broken({ extra: 1 }), /^entry: unknown field "extra"/],
    [broken({ payload: undefined }), /^payload: missing/],
    [broken({ space: "" }), /^space: must not be empty/],
    [broken({ segment: "a\u0000b" }), /^segment: .*U\+0000/],
    [broken({ sequence: 0 }), /^sequence: must be a whole number >= 1, got 0/],
    [broken({ sequence: 1.5 }), /^sequence: must be a whole number >= 1/],
    [broken({ timestamp: "1" }), /^timestamp: must be a whole number >= 0, got "1"/],
    [broken({ trx: { ...fields.trx, id: "x" } }), /^trx\.id: must be a UUID/],
    [broken({ trx: { ...fields.trx, number: 0 } }), /^trx\.number: must be a whole number >= 1/],
    [broken({ trx: { ...fields.trx, extra: 1 } }), /^trx: unknown field "extra"/],
    [broken({ metadata: { k: 1 } }), /^metadata\["k"\]: must be a string/],
    [broken({ payload: "aGk" }), /^payload: must be standard base64 text/],
  ];
  for (const [line, message] of cases) {
    assert.throws(
      () => parseEntry(line),
      (error) => error instanceof FormatError && message.test(error.message),
      line,
    );
  }
});

Deno.test("base64: standard and canonical only, both ways", () => {
  for (let length = 0; length < 70; length++) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 151 + length) % 256);
    assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
    const view = new Uint8Array([9, ...bytes, 9]).subarray(1, length + 1);
    assert.equal(encodeBase64(view), Buffer.from(bytes).toString("base64"));
  }
  assert.equal(encodeBase64(new Uint8Array([251, 255])), "+/8=");
  for (const text of ["aGk", "aGl=", "aA==a", "-_8=", "aG k=", "aGk=\n", "====", "a==="]) {
    assert.equal(decodeBase64(text), undefined, text);
  }
});

Deno.test("text format: names and payloads readable, and nothing hidden", () => {
  assert.equal(showText("orders"), "orders");
  assert.equal(showText("a/b#?%🦊"), "a/b#?%🦊");
  assert.equal(showText("order 1"), '"order 1"');
  assert.equal(showText("\uFEFFbom"), '"\\ufeffbom"');
  assert.equal(showText('say "hi"'), '"say \\"hi\\""');
  assert.equal(showText("tab\there"), '"tab\\there"');
  assert.equal(showPayload(new TextEncoder().encode('{"kind":"paid"}')), '{"kind":"paid"}');
  assert.equal(showPayload(new TextEncoder().encode("two\nlines")), '"two\\nlines"');
  assert.equal(showPayload(new Uint8Array(0)), '""');
  assert.equal(showPayload(new Uint8Array([0xff, 0])), "base64:/wA=");
  assert.equal(showPayload(new Uint8Array([0, 0, 1])), "base64:AAAB");
  assert.equal(showPayload(new TextEncoder().encode("\uFEFFtext")), '"\\ufefftext"');
  assert.equal(
    formatEntryText(ENTRY),
    '2023-11-14T22:13:20.123Z "🦊 a/b\\\\c#d?e%f" "\\ufeffseg\\u0001" #7 trx 3 ' +
      '[content-type=x/y ""="empty key"] base64:' + encodeBase64(ENTRY.payload),
  );
});
