// The Azure simulator (drivers/azure/_test_simulator.ts) enforces what it claims, seen from
// @azure/data-tables clients with their retries off: latency and jitter, the partition and
// account limits (refusals are 503 ServerBusy and not applied), batches and queries charged by
// their entities, faults. Assertions bound counts from the rates and measured elapsed times,
// never times from above.

import assert from "node:assert/strict";
import {
  AzureNamedKeyCredential,
  odata,
  TableClient,
  type TransactionAction,
} from "@azure/data-tables";
import {
  type AzureSimulator,
  type AzureSimulatorOptions,
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  startAzureSimulator,
  startAzurite,
} from "../drivers/azure/_test_support.ts";
import { sleep } from "../core/_test_util.ts";

const credential = new AzureNamedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY);

/** A client on `table` at `endpoint`, SDK retries off: every refusal reaches the test. */
function client(endpoint: string, table: string): TableClient {
  return new TableClient(endpoint, table, credential, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
}

/** Clients through the simulator. */
function clients(simulator: AzureSimulator, table: string, count: number): TableClient[] {
  return Array.from(
    { length: count },
    () => client(simulator.endpoint(AZURITE_ACCOUNT_NAME), table),
  );
}

/**
 * Asserts `error` is Azure's throttling answer: 503 with the ServerBusy code, which the SDK
 * reports in `code` for a transaction and in `details.errorCode` otherwise.
 */
function assertServerBusy(error: unknown): void {
  const { statusCode, code, details } = error as {
    statusCode?: number;
    code?: string;
    details?: { errorCode?: string };
  };
  assert.equal(statusCode, 503, `not a 503: ${error}`);
  assert.equal(code ?? details?.errorCode, "ServerBusy");
}

/** Whether `operation` was refused with ServerBusy (any other failure fails the test). */
async function refused(operation: Promise<unknown>): Promise<boolean> {
  try {
    await operation;
    return false;
  } catch (error) {
    assertServerBusy(error);
    return true;
  }
}

function inserts(partition: string, prefix: string, count: number): TransactionAction[] {
  return Array.from(
    { length: count },
    (_, i) => ["create", { partitionKey: partition, rowKey: `${prefix}-${i}` }],
  );
}

async function rowKeys(table: TableClient, partition: string): Promise<string[]> {
  const keys: string[] = [];
  const rows = table.listEntities({
    queryOptions: { filter: odata`PartitionKey eq ${partition}` },
  });
  for await (const row of rows) keys.push(row.rowKey!);
  return keys;
}

interface Tally {
  /** Entities the simulator let through (their requests succeeded). */
  entities: number;
  /** Requests refused with 503 ServerBusy. */
  refusals: number;
}

/**
 * Hammers `partition` for `ms` from `workers` (even ones insert single entities, odd ones
 * batches of `batch`), each sending its next request as soon as the last one is answered.
 */
async function hammer(
  workers: TableClient[],
  partition: string,
  ms: number,
  batch: number,
): Promise<Tally> {
  const tally: Tally = { entities: 0, refusals: 0 };
  const deadline = performance.now() + ms;
  await Promise.all(workers.map(async (worker, w) => {
    for (let n = 0; performance.now() < deadline; n++) {
      const prefix = `w${w}-${n}`;
      const single = w % 2 === 0;
      const sent = single
        ? worker.createEntity({ partitionKey: partition, rowKey: prefix })
        : worker.submitTransaction(inserts(partition, prefix, batch));
      if (await refused(sent)) tally.refusals++;
      else tally.entities += single ? 1 : batch;
    }
  }));
  return tally;
}

Deno.test("azure simulator: latency, partition and account limits", async (t) => {
  const azurite = await startAzurite();
  const start = (options: Omit<AzureSimulatorOptions, "targetPort">) =>
    startAzureSimulator({ targetPort: azurite.port, ...options });
  try {
    const direct = (table: string) => client(azurite.endpoint, table);
    for (const table of ["latency", "partition", "batch", "account", "query", "faults"]) {
      await direct(table).createTable();
    }

    await t.step("latency: every request takes its round trip, jitter is seeded", async () => {
      await using simulator = await start({ latencyMs: 40 });
      const [table] = clients(simulator, "latency", 1);
      const began = performance.now();
      for (let i = 0; i < 10; i++) {
        await table.upsertEntity({ partitionKey: "p", rowKey: `r${i}`, n: i });
      }
      const elapsed = performance.now() - began;
      assert.equal(simulator.counts.requests, 10);
      assert.equal(simulator.counts.delayMs, 400);
      assert.ok(elapsed >= 400, `10 requests at 40 ms took ${elapsed} ms`);

      /** The delay 10 requests get with latency 30 ± 20 ms and `seed`, and their time. */
      const jittered = async (seed: number) => {
        await using simulator = await start({ seed, latencyMs: 30, jitterMs: 20 });
        const [table] = clients(simulator, "latency", 1);
        const began = performance.now();
        for (let i = 0; i < 10; i++) await table.getEntity("p", `r${i}`);
        return { delayMs: simulator.counts.delayMs, elapsed: performance.now() - began };
      };
      const first = await jittered(7);
      const again = await jittered(7);
      const other = await jittered(8);
      console.log({ latency40: { elapsed }, first, again, other });
      assert.ok(first.delayMs >= 10 * 10 && first.delayMs <= 10 * 50, `${first.delayMs}`);
      assert.ok(first.elapsed >= first.delayMs);
      assert.equal(again.delayMs, first.delayMs, "the same seed, the same delays");
      assert.notEqual(other.delayMs, first.delayMs, "another seed, other delays");
    });

    await t.step("partition limit: 200 entities/s per partition, each its own", async () => {
      const rate = 200;
      const batch = 50;
      await using simulator = await start({ partitionEntitiesPerSecond: rate });
      /** At most what the bucket lets through in `ms`: its content, its refill, one oversize. */
      const cap = (ms: number) => rate * (ms / 1000 + 1) + batch;

      let began = performance.now();
      const alone = await hammer(clients(simulator, "partition", 4), "alone", 2_000, batch);
      let elapsed = performance.now() - began;
      console.log({ alone, elapsed, cap: cap(elapsed) });
      assert.ok(alone.entities <= cap(elapsed), `${alone.entities} > ${cap(elapsed)}`);
      assert.ok(alone.entities >= rate, `not even the burst went through: ${alone.entities}`);
      assert.ok(alone.refusals > 0);
      assert.equal(simulator.counts.throttledByPartition, alone.refusals);
      assert.equal(simulator.counts.throttledByAccount, 0);
      assert.equal(simulator.counts.entitiesByPartition.get("alone"), alone.entities);
      // Refused requests were not applied: Azurite holds exactly the accepted entities.
      const stored = await rowKeys(direct("partition"), "alone");
      assert.equal(stored.length, alone.entities);

      began = performance.now();
      const [a, b] = await Promise.all([
        hammer(clients(simulator, "partition", 4), "a", 2_000, batch),
        hammer(clients(simulator, "partition", 4), "b", 2_000, batch),
      ]);
      elapsed = performance.now() - began;
      console.log({ a, b, elapsed, cap: cap(elapsed) });
      assert.ok(a.entities <= cap(elapsed) && b.entities <= cap(elapsed));
      assert.ok(a.refusals > 0 && b.refusals > 0);
      assert.ok(
        a.entities + b.entities > 1.5 * cap(elapsed),
        `two partitions took ${a.entities + b.entities}, one alone may take ${cap(elapsed)}`,
      );
    });

    await t.step(
      "a batch counts its entities; one bigger than the bucket leaves a debt",
      async () => {
        await using simulator = await start({ partitionEntitiesPerSecond: 150, burstSeconds: 1 });
        const [one, two] = clients(simulator, "batch", 2);
        // Sent together: the first through takes 100 of the 150 tokens; 50 are left, so the
        // second needs 2/3 s more (the table charges it 100 entities, not one request).
        const outcomes = await Promise.all([
          refused(one.submitTransaction(inserts("b", "one", 100))),
          refused(two.submitTransaction(inserts("b", "two", 100))),
        ]);
        assert.deepEqual(outcomes.toSorted(), [false, true]);
        assert.equal(simulator.counts.throttledByPartition, 1);
        assert.equal(simulator.counts.entitiesByPartition.get("b"), 100);
        const stored = await rowKeys(direct("batch"), "b");
        const winner = outcomes[0] ? "two" : "one";
        assert.deepEqual(
          stored.toSorted(),
          inserts("b", winner, 100).map(([, e]) => e.rowKey).toSorted(),
        );

        // 50 entities/s: a bucket of 50 lets a batch of 100 through when full, 50 in debt; the
        // partition then refuses until it refilled past one token (1.02 s).
        simulator.limits.partitionEntitiesPerSecond = 50;
        await one.submitTransaction(inserts("big", "big", 100));
        assert.equal(
          await refused(one.createEntity({ partitionKey: "big", rowKey: "next" })),
          true,
        );
        assert.equal(await refused(one.getEntity("big", "big-0")), true);
        await sleep(1_100);
        await one.createEntity({ partitionKey: "big", rowKey: "next" });
        assert.equal(simulator.counts.entitiesByPartition.get("big"), 101);
        assert.equal(simulator.counts.throttledByPartition, 3);
        // Turned off, the limit refuses nothing.
        simulator.limits.partitionEntitiesPerSecond = 0;
        await one.submitTransaction(inserts("big", "more", 100));
        assert.equal(simulator.counts.throttledByPartition, 3);
      },
    );

    await t.step("account limit: 100 requests/s over many partitions", async () => {
      const rate = 100;
      await using simulator = await start({ accountRequestsPerSecond: rate });
      const began = performance.now();
      let accepted = 0;
      let refusals = 0;
      const deadline = began + 1_500;
      await Promise.all(
        clients(simulator, "account", 8).map(async (worker, w) => {
          for (let n = 0; performance.now() < deadline; n++) {
            // A partition per request: the partition limit cannot be what refuses.
            const sent = worker.upsertEntity({ partitionKey: `p${w}-${n}`, rowKey: "r" });
            if (await refused(sent)) refusals++;
            else accepted++;
          }
        }),
      );
      const elapsed = performance.now() - began;
      const cap = rate * (elapsed / 1000 + 1);
      console.log({ accepted, refusals, elapsed, cap });
      assert.ok(accepted <= cap, `${accepted} requests went through, at most ${cap} may`);
      assert.ok(accepted >= rate, `not even the burst went through: ${accepted}`);
      assert.ok(refusals > 0);
      assert.equal(simulator.counts.throttledByAccount, refusals);
      assert.equal(simulator.counts.throttledByPartition, 0);
      assert.equal(simulator.counts.forwarded, accepted);
      assert.equal(simulator.counts.entitiesByPartition.size, accepted);
      let stored = 0;
      for await (const _ of direct("account").listEntities()) stored++;
      assert.equal(stored, accepted, "refused requests were not applied");
    });

    await t.step("queries are charged the rows they return", async () => {
      await using simulator = await start({ partitionEntitiesPerSecond: 0 });
      const [table] = clients(simulator, "query", 1);
      await table.submitTransaction(inserts("q", "row", 30));
      await table.submitTransaction(inserts("r", "row", 5));
      const charged = simulator.counts.entitiesByPartition;
      assert.deepEqual([charged.get("q"), charged.get("r")], [30, 5]);

      // 10 entities/s: a query returning 30 rows is let through on a full bucket of 10 and
      // leaves the partition 20 in debt, refusing even queries for 2 s.
      simulator.limits.partitionEntitiesPerSecond = 10;
      assert.equal((await rowKeys(table, "q")).length, 30);
      assert.equal(charged.get("q"), 60);
      assert.equal(await refused(rowKeys(table, "q")), true);
      assert.equal(await refused(table.getEntity("q", "row-0")), true);
      // Rows selected without their PartitionKey are charged to the filter's partition.
      const selected = table.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${"r"}`, select: ["RowKey"] },
      });
      let selectedRows = 0;
      for await (const _ of selected) selectedRows++;
      assert.equal(selectedRows, 5);
      assert.equal(charged.get("r"), 10);
      // A query over partitions is refused by none, and charged to the partitions of its rows.
      const across = table.listEntities({ queryOptions: { filter: odata`RowKey eq ${"row-1"}` } });
      let acrossRows = 0;
      for await (const _ of across) acrossRows++;
      assert.equal(acrossRows, 2);
      assert.deepEqual([charged.get("q"), charged.get("r")], [61, 11]);
      assert.equal(simulator.counts.throttledByPartition, 2);
    });

    await t.step("random faults go through the latency too", async () => {
      await using simulator = await start({ latencyMs: 20, faultRate: 1 });
      const [table] = clients(simulator, "faults", 1);
      await assert.rejects(table.upsertEntity({ partitionKey: "f", rowKey: "1" }));
      const faults = Object.values(simulator.counts.faults).reduce((sum, n) => sum + n, 0);
      assert.equal(faults, 1);
      simulator.faultRate = 0;
      await table.upsertEntity({ partitionKey: "f", rowKey: "2" });
      assert.equal(simulator.counts.delayMs, 40);
      assert.equal(simulator.counts.requests, 2);
    });
  } finally {
    await azurite.stop();
  }
});
