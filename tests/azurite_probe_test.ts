// Pins down the facts about Azurite and `@azure/data-tables` that the Azure driver relies on
// (drivers/azure/PROTOCOL.md I2): transaction atomicity, size limits, binary values, key order,
// paging, table names, and the two shapes of errors (single operations and transactions), which
// the driver must both read.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  AzureNamedKeyCredential,
  RestError,
  TableClient,
  TableServiceClient,
  type TransactionAction,
} from "@azure/data-tables";
import { type Azurite, startAzurite } from "../drivers/azure/_test_support.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** What the driver reads of a rejected data-tables call. */
interface TableError {
  name: string;
  statusCode?: number;
  code?: string;
  message: string;
  details?: { errorCode?: string; odataError?: { code?: string } };
}

async function failure(promise: Promise<unknown>): Promise<TableError> {
  try {
    await promise;
  } catch (error) {
    return error as TableError;
  }
  assert.fail("expected the call to be refused");
}

/** The service's error code, whichever of the two shapes the error has. */
function serviceCode(error: TableError): string | undefined {
  return error.code ?? error.details?.errorCode;
}

/** Asserts the shape of a refused single-entity (or table) operation. */
function assertSingleError(error: TableError, statusCode: number, code: string): void {
  assert.ok(error instanceof RestError, `not a RestError: ${error.name}: ${error.message}`);
  assert.equal(error.statusCode, statusCode, error.message);
  assert.equal(error.code, undefined);
  assert.equal(error.details?.errorCode, code);
  assert.equal(error.details?.odataError?.code, code);
  assert.match(error.message, /^\{"odata\.error":/);
}

/** Asserts the shape of a refused transaction: code set, message `<op index>:<text>`. */
function assertTransactionError(
  error: TableError,
  statusCode: number,
  code: string,
  index: number,
): void {
  assert.ok(error instanceof RestError, `not a RestError: ${error.name}: ${error.message}`);
  assert.equal(error.statusCode, statusCode, error.message);
  assert.equal(error.code, code);
  assert.equal(error.details, undefined);
  assert.ok(error.message.startsWith(`${index}:`), error.message);
}

/** Bytes with a position-dependent pattern, so a round trip that shifts or mixes shows. */
function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

/** A row carrying `total` bytes split over binary properties `b0, b1, ...` of ≤ 64 KiB. */
function binaryRow(partitionKey: string, rowKey: string, total: number, seed = 1): Row {
  const row: Row = { partitionKey, rowKey };
  for (let i = 0, left = total; left > 0; i++, left -= 64 * KIB) {
    row[`b${i}`] = pattern(Math.min(64 * KIB, left), seed + i);
  }
  return row;
}

async function exists(client: TableClient, partitionKey: string, rowKey: string) {
  try {
    await client.getEntity(partitionKey, rowKey);
    return true;
  } catch (error) {
    assertSingleError(error as TableError, 404, "ResourceNotFound");
    return false;
  }
}

async function partitionRowKeys(client: TableClient, partitionKey: string): Promise<string[]> {
  const keys: string[] = [];
  const filter = `PartitionKey eq '${partitionKey}'`;
  for await (const row of client.listEntities({ queryOptions: { filter, select: ["RowKey"] } })) {
    keys.push(row.rowKey!);
  }
  return keys;
}

Deno.test("azurite probe: the facts the Azure driver relies on", async (t) => {
  const startedAt = performance.now();
  const azurite: Azurite = await startAzurite();
  console.log(`Azurite started in ${Math.round(performance.now() - startedAt)} ms`);
  try {
    const credential = new AzureNamedKeyCredential(azurite.accountName, azurite.accountKey);
    const options = { allowInsecureConnection: true };
    const service = new TableServiceClient(azurite.endpoint, credential, options);
    let tables = 0;
    const freshTable = async () => {
      const client = new TableClient(azurite.endpoint, `probe${++tables}`, credential, options);
      await client.createTable();
      return client;
    };

    await t.step("launcher: endpoint and connection string reach Azurite", async () => {
      assert.equal(azurite.endpoint, `http://127.0.0.1:${azurite.port}/devstoreaccount1`);
      assert.equal(
        azurite.connectionString,
        `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${azurite.accountKey};` +
          `TableEndpoint=${azurite.endpoint};`,
      );
      const client = TableClient.fromConnectionString(azurite.connectionString, "viaconnstr", {
        allowInsecureConnection: true,
      });
      await client.createTable();
      await client.createEntity({ partitionKey: "p", rowKey: "r" });
      assert.equal((await client.getEntity("p", "r")).rowKey, "r");
    });

    await t.step("a stale If-Match on the head fails the whole transaction with 412", async () => {
      const client = await freshTable();
      const pk = "0a0b0c";
      await client.createEntity({ partitionKey: pk, rowKey: "ff", last: 1 });
      const { etag: stale } = await client.getEntity(pk, "ff");
      await client.updateEntity({ partitionKey: pk, rowKey: "ff", last: 2 }, "Replace");
      const error = await failure(client.submitTransaction([
        ["create", { partitionKey: pk, rowKey: "01", value: new Uint8Array([1]) }],
        ["create", { partitionKey: pk, rowKey: "02", value: new Uint8Array([2]) }],
        ["update", { partitionKey: pk, rowKey: "ff", last: 3 }, "Replace", { etag: stale }],
      ]));
      assertTransactionError(error, 412, "UpdateConditionNotSatisfied", 2);
      assert.deepEqual(await partitionRowKeys(client, pk), ["ff"]);
      assert.equal((await client.getEntity<{ last: number }>(pk, "ff")).last, 2);

      // The same with a fresh etag commits all three, and yields a new etag for the head.
      const { etag: fresh } = await client.getEntity(pk, "ff");
      const response = await client.submitTransaction([
        ["create", { partitionKey: pk, rowKey: "01", value: new Uint8Array([1]) }],
        ["create", { partitionKey: pk, rowKey: "02", value: new Uint8Array([2]) }],
        ["update", { partitionKey: pk, rowKey: "ff", last: 3 }, "Replace", { etag: fresh }],
      ]);
      assert.equal(response.status, 202);
      assert.equal(response.subResponses.length, 3);
      assert.deepEqual(response.subResponses.map((r) => r.status), [204, 204, 204]);
      assert.deepEqual(await partitionRowKeys(client, pk), ["01", "02", "ff"]);
      assert.notEqual((await client.getEntity(pk, "ff")).etag, fresh);

      // Outside a transaction the same refusal has the single-operation shape.
      const single = await failure(
        client.updateEntity({ partitionKey: pk, rowKey: "ff", last: 4 }, "Merge", { etag: fresh }),
      );
      assertSingleError(single, 412, "UpdateConditionNotSatisfied");
    });

    await t.step("inserting an existing row fails the whole transaction with 409", async () => {
      const client = await freshTable();
      const pk = "0a0b0d";
      await client.createEntity({ partitionKey: pk, rowKey: "ff", last: 1 });
      const error = await failure(client.submitTransaction([
        ["create", { partitionKey: pk, rowKey: "03" }],
        ["create", { partitionKey: pk, rowKey: "ff", last: 9 }],
      ]));
      assertTransactionError(error, 409, "EntityAlreadyExists", 1);
      assert.deepEqual(await partitionRowKeys(client, pk), ["ff"]);
      assert.equal((await client.getEntity<{ last: number }>(pk, "ff")).last, 1);

      const single = await failure(client.createEntity({ partitionKey: pk, rowKey: "ff" }));
      assertSingleError(single, 409, "EntityAlreadyExists");
    });

    await t.step("a binary property holds at most 65,536 bytes", async () => {
      const client = await freshTable();
      await client.createEntity({ partitionKey: "aa", rowKey: "01", v: pattern(64 * KIB, 3) });
      const error = await failure(
        client.createEntity({ partitionKey: "aa", rowKey: "02", v: new Uint8Array(64 * KIB + 1) }),
      );
      assertSingleError(error, 400, "PropertyValueTooLarge");
      assert.match(error.details!.odataError!.code!, /PropertyValueTooLarge/);
      assert.equal(await exists(client, "aa", "02"), false);

      const inTransaction = await failure(client.submitTransaction([
        ["create", { partitionKey: "aa", rowKey: "03" }],
        ["create", { partitionKey: "aa", rowKey: "04", v: new Uint8Array(64 * KIB + 1) }],
      ]));
      assertTransactionError(inTransaction, 400, "PropertyValueTooLarge", 1);
      assert.deepEqual(await partitionRowKeys(client, "aa"), ["01"]);
    });

    await t.step("binary properties come back as Node Buffers (pooled views)", async () => {
      const client = await freshTable();
      const small = new Uint8Array([1, 2, 3]);
      const large = pattern(64 * KIB, 5);
      await client.createEntity({
        partitionKey: "bb",
        rowKey: "01",
        small,
        large,
        empty: new Uint8Array(0),
      });
      const row = await client.getEntity<Record<string, Uint8Array>>("bb", "01");
      for (const name of ["small", "large", "empty"]) {
        assert.ok(Buffer.isBuffer(row[name]), `${name} is a ${row[name]?.constructor?.name}`);
        assert.notEqual(Object.getPrototypeOf(row[name]), Uint8Array.prototype);
      }
      // Wrap as a plain view: new Uint8Array(b.buffer, b.byteOffset, b.byteLength). Small
      // Buffers may be slices of a shared pool (byteOffset ≠ 0, buffer larger than the value),
      // so never use `b.buffer` alone.
      const view = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      assert.deepEqual(view(row.small), small);
      assert.deepEqual(view(row.large), large);
      assert.deepEqual(view(row.empty), new Uint8Array(0)); // an empty value survives
      console.log(
        `small Buffer: byteOffset ${row.small.byteOffset}, ` +
          `underlying ArrayBuffer ${row.small.buffer.byteLength} bytes`,
      );
    });

    await t.step("entity size: inserts are bounded by the 4 MiB request body only", async () => {
      const client = await freshTable();
      // ~900 KiB over 15 binary properties: fine as an insert, and reads back exactly.
      const row = binaryRow("cc", "01", 900 * KIB, 7);
      await client.createEntity(row);
      const back = await client.getEntity<Record<string, Uint8Array>>("cc", "01");
      for (let i = 0; i < 15; i++) assert.deepEqual(new Uint8Array(back[`b${i}`]), row[`b${i}`]);
      // Azurite does not enforce the 1 MiB entity limit on inserts (Azure does!): 2 MiB works.
      await client.createEntity(binaryRow("cc", "02", 2 * MIB));
      // Past the 4 MiB request body (base64 JSON: ~3,144,000 raw bytes), 413.
      const tooLarge = await failure(
        client.createEntity(binaryRow("cc", "03", 3 * MIB + 64 * KIB)),
      );
      assertSingleError(tooLarge, 413, "RequestBodyTooLarge");
    });

    await t.step("entity size: updates and upserts are bounded by a 1 MiB JSON body", async () => {
      const client = await freshTable();
      await client.createEntity({ partitionKey: "dd", rowKey: "01" });
      // The 1 MiB is measured on the request body, base64 included: ~786,000 raw bytes.
      await client.updateEntity(binaryRow("dd", "01", 760 * KIB), "Replace");
      await client.upsertEntity(binaryRow("dd", "02", 760 * KIB), "Replace");
      const update = await failure(
        client.updateEntity(binaryRow("dd", "01", 800 * KIB), "Replace"),
      );
      assertSingleError(update, 400, "EntityTooLarge");
      const upsert = await failure(client.upsertEntity(binaryRow("dd", "03", 900 * KIB), "Merge"));
      assertSingleError(upsert, 400, "EntityTooLarge");
      assert.equal(await exists(client, "dd", "03"), false);
      const inTransaction = await failure(client.submitTransaction([
        ["upsert", binaryRow("dd", "04", 900 * KIB), "Replace"],
      ]));
      assertTransactionError(inTransaction, 400, "EntityTooLarge", 0);
    });

    await t.step("a transaction holds at most 100 operations", async () => {
      const client = await freshTable();
      const creates = (pk: string, n: number): TransactionAction[] =>
        Array.from({ length: n }, (_, i) => ["create", {
          partitionKey: pk,
          rowKey: i.toString(16).padStart(4, "0"),
        }]);
      const response = await client.submitTransaction(creates("e100", 100));
      assert.equal(response.status, 202);
      assert.equal(response.subResponses.length, 100);
      assert.equal((await partitionRowKeys(client, "e100")).length, 100);

      const error = await failure(client.submitTransaction(creates("e101", 101)));
      assertTransactionError(error, 400, "InvalidInput", 0);
      assert.match(error.message, /exceeds the maximum 100 changes per change set/);
      assert.deepEqual(await partitionRowKeys(client, "e101"), []);
    });

    await t.step("a transaction body is at most 4 MiB, base64 included", async () => {
      const client = await freshTable();
      const actions = (pk: string, bytes: number): TransactionAction[] =>
        Array.from(
          { length: 90 },
          (_, i) => ["create", binaryRow(pk, i.toString(16).padStart(4, "0"), bytes)],
        );
      // 90 × 32 KiB = 2.81 MiB raw, ~3.8 MiB on the wire: fine.
      await client.submitTransaction(actions("f32", 32 * KIB));
      // 90 × 40 KiB = 3.52 MiB raw, ~4.7 MiB on the wire: refused whole.
      const error = await failure(client.submitTransaction(actions("f40", 40 * KIB)));
      assert.equal(error.statusCode, 413);
      assert.equal(error.code, "RequestBodyTooLarge");
      assert.equal(error.details, undefined);
      assert.deepEqual(await partitionRowKeys(client, "f40"), []);
    });

    await t.step("transactions: other refusals", async () => {
      const client = await freshTable();
      // One row twice in a transaction: 400 InvalidDuplicateRow, nothing written.
      const duplicate = await failure(client.submitTransaction([
        ["create", { partitionKey: "aa", rowKey: "01" }],
        ["upsert", { partitionKey: "aa", rowKey: "01" }],
      ]));
      assertTransactionError(duplicate, 400, "InvalidDuplicateRow", 1);
      // Updating a missing row: 404 ResourceNotFound (the head must be inserted, not updated).
      const missing = await failure(client.submitTransaction([
        ["update", { partitionKey: "aa", rowKey: "ff" }, "Merge"],
      ]));
      assertTransactionError(missing, 404, "ResourceNotFound", 0);
      assert.deepEqual(await partitionRowKeys(client, "aa"), []);
      // Two partitions: the SDK refuses before sending, with a plain Error.
      const partitions = await failure(client.submitTransaction([
        ["create", { partitionKey: "aa", rowKey: "01" }],
        ["create", { partitionKey: "bb", rowKey: "01" }],
      ]));
      assert.equal(partitions.statusCode, undefined);
      assert.match(partitions.message, /same partitionKey/);
      // An empty transaction: the SDK throws (a TypeError): never submit one.
      const empty = await failure(client.submitTransaction([]));
      assert.equal(empty.statusCode, undefined);
    });

    await t.step("hex keys work; RowKey ranges list in ascending order", async () => {
      const client = await freshTable();
      const pk = "00ff10a0";
      const inRange = ["a0", "a00", "a0ff", "a1", "af", "aff", "affff"];
      const outside = ["9f", "9fff", "a", "b", "b0", "ff"];
      const shuffled = [...inRange, ...outside].sort(() => Math.random() - 0.5);
      await client.submitTransaction(
        shuffled.map((rowKey) => ["upsert", { partitionKey: pk, rowKey }]),
      );
      await client.createEntity({ partitionKey: "00ff10a1", rowKey: "a5" });
      const filter = `PartitionKey eq '${pk}' and RowKey gt 'a' and RowKey lt 'b'`;
      const keys: string[] = [];
      for await (const row of client.listEntities({ queryOptions: { filter } })) {
        assert.equal(row.partitionKey, pk);
        keys.push(row.rowKey!);
      }
      assert.deepEqual(keys, [...inRange].sort());
      assert.deepEqual(keys, inRange);
    });

    await t.step("listEntities pages: ≤ 1000 rows with a continuation token", async () => {
      const client = await freshTable();
      const pk = "0c";
      for (let batch = 0; batch < 11; batch++) {
        await client.submitTransaction(Array.from({ length: 100 }, (_, i) => [
          "create",
          { partitionKey: pk, rowKey: (batch * 100 + i).toString(16).padStart(4, "0") },
        ]));
      }
      const filter = `PartitionKey eq '${pk}'`;
      const pages = async (maxPageSize?: number, continuationToken?: string) => {
        const result: { rows: string[]; token: string | undefined }[] = [];
        const iterator = client.listEntities({ queryOptions: { filter } })
          .byPage({ maxPageSize, continuationToken });
        for await (const page of iterator) {
          result.push({ rows: page.map((row) => row.rowKey!), token: page.continuationToken });
        }
        return result;
      };
      for (const size of [1000, 5000, undefined]) {
        const result = await pages(size);
        assert.deepEqual(result.map((page) => page.rows.length), [1000, 100], `size ${size}`);
        assert.equal(typeof result[0].token, "string");
        assert.equal(result[1].token, undefined);
      }
      const [first] = await pages(250);
      assert.equal(first.rows.length, 250);
      // The token is opaque to the driver (base64 of JSON with base64 next keys); resuming
      // from it continues right after the page.
      const token = JSON.parse(atob(first.token!));
      assert.deepEqual(Object.keys(token).sort(), ["nextPartitionKey", "nextRowKey"]);
      const resumed = await pages(1000, first.token);
      assert.equal(resumed[0].rows[0], (250).toString(16).padStart(4, "0"));
      assert.deepEqual(resumed.map((page) => page.rows.length), [850]);
    });

    await t.step("table names: 3–63 alphanumerics starting with a letter", async () => {
      for (const name of ["abc", "a1b2c3", "x".repeat(63), "Mixed0Case"]) {
        await service.createTable(name);
      }
      // Names are case-insensitive: "ABC" is "abc", and createTable swallows the 409.
      await service.createTable("ABC");
      await new TableClient(azurite.endpoint, "abc", credential, options)
        .createEntity({ partitionKey: "p", rowKey: "r" });
      const upper = await new TableClient(azurite.endpoint, "ABC", credential, options)
        .getEntity("p", "r");
      assert.equal(upper.rowKey, "r");
      // createTable of an existing table resolves (the SDK swallows 409 TableAlreadyExists).
      await service.createTable("abc");
      const refused: [string, RegExp][] = [
        ["a-b-c", /invalid characters/],
        ["a_bc", /invalid characters/],
        ["1abc", /invalid characters/],
        ["tables", /invalid characters/], // reserved
        ["ab", /length is not within the permissible limits/],
        ["x".repeat(64), /length is not within the permissible limits/],
      ];
      for (const [name, message] of refused) {
        const error = await failure(service.createTable(name));
        assert.ok(error instanceof RestError);
        assert.equal(error.statusCode, 400, name);
        // No error code at all: code undefined, no x-ms-error-code, odata code "".
        assert.equal(serviceCode(error), undefined, name);
        assert.equal(error.details?.odataError?.code, "", name);
        assert.match(error.message, message, name);
      }
    });

    await t.step("error shapes: missing table or row, bad key, illegal key character", async () => {
      const client = await freshTable();
      const noTable = new TableClient(azurite.endpoint, "nosuchtable", credential, options);
      assertSingleError(
        await failure(noTable.createEntity({ partitionKey: "a", rowKey: "b" })),
        404,
        "TableNotFound",
      );
      assertTransactionError(
        await failure(noTable.submitTransaction([["create", { partitionKey: "a", rowKey: "b" }]])),
        404,
        "TableNotFound",
        0,
      );
      assertSingleError(await failure(client.getEntity("a", "b")), 404, "ResourceNotFound");
      assertSingleError(await failure(client.deleteEntity("a", "b")), 404, "ResourceNotFound");
      const wrongKey = azurite.accountKey.replace(/^..../, "AAAA");
      const badClient = new TableClient(
        azurite.endpoint,
        client.tableName,
        new AzureNamedKeyCredential(azurite.accountName, wrongKey),
        options,
      );
      const auth = await failure(badClient.getEntity("a", "b"));
      assert.equal(auth.statusCode, 403);
      assert.equal(auth.code, undefined);
      assert.equal(auth.details?.errorCode, "AuthorizationFailure");
      assert.ok(!auth.message.includes(wrongKey), "the key leaks into the message");
      // Raw names may hold characters keys must not: "/" is refused with 400 InvalidInput.
      assertSingleError(
        await failure(client.createEntity({ partitionKey: "a/b", rowKey: "c" })),
        400,
        "InvalidInput",
      );
    });
  } finally {
    await azurite.stop();
  }
});
