// Faults between the Azure driver and Azure Tables, through the fault proxy: 10% of requests
// faulted before or after Azurite applied them (then the driver must look at what was written,
// drivers/azure/PROTOCOL.md I2), yet every entry produced and consumed exactly and nothing left
// pending; permanent errors fail with the right kind after one request. STREAMKIT_TEST_SEED
// replays the fault pattern (request order still varies).

import assert from "node:assert/strict";
import { SeededRandom, testSeed } from "../core/_test_random.ts";
import {
  type Entry,
  isTransient,
  type ProduceRecord,
  spaceOffset,
  type Store,
  StreamkitError,
} from "../core/mod.ts";
import { collect, equalBytes } from "../core/_test_util.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import {
  type Azurite,
  FAULT_KINDS,
  type ForcedFault,
  HEAD_ROW,
  MARKER_PARTITION,
  maskBatchIds,
  type ProxiedRequest,
  rule,
  segmentPartition,
  startAzurite,
  startFaultProxy,
} from "../drivers/azure/_test_support.ts";
import {
  auditBothIndexes,
  directTable,
  expect,
  markerKeys,
  unfinishedPendingHeads,
} from "./_azure_inspect.ts";
import { azuriteConnectionString, azuriteFactory, type AzuriteProxy } from "./_azure_test_store.ts";
import { killPayload } from "./_kill_protocol.ts";

const SPACES = ["orders", "orders2"] as const;
const SEGMENTS = ["a", "ab", "b", "c \u{1F680}"] as const;
const TOTAL = 5_000;
const PER_SEGMENT = TOTAL / (SPACES.length * SEGMENTS.length);
const MAX_PRODUCE = 200;
const FAULT_RATE = 0.1;
const PREFIX = "faults";
/** Commits whose answer the proxy loses on purpose. */
const LOST_COMMITS = 12;

function records(space: string, segment: string, from: number, count: number): ProduceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    payload: killPayload(space, segment, from + i),
    metadata: { n: String(from + i) },
  }));
}

/** A factory on this test's tables, through `via` (the proxy) when given; no sweep. */
function factoryOn(azurite: Azurite, via?: AzuriteProxy): AzureStoreFactory {
  return azuriteFactory(azurite, PREFIX, {}, via);
}

/** What a request is, for the fault counts. */
function classify(request: ProxiedRequest): string {
  if (request.url.endsWith("/$batch")) {
    // The commit point is the transaction that carries the head row.
    const head = new RegExp(`RowKey='${HEAD_ROW}'|"RowKey":"${HEAD_ROW}"`);
    return head.test(request.body) ? "commit batch" : "space-row batch";
  }
  if (request.method === "GET") return "read";
  if (request.url.includes(`PartitionKey='${MARKER_PARTITION}'`)) return "marker";
  return "other write";
}

/** Checks one segment's entries: exactly 1..total, exact payloads, whole chunks. */
function checkSegment(
  space: string,
  segment: string,
  entries: Entry[],
  produces: number[][],
  total = PER_SEGMENT,
) {
  const where = `${space}/${segment}`;
  assert.equal(entries.length, total, `${where}: entry count`);
  // The chunks the produces were cut into: [first sequence, size].
  const chunks = new Map<number, number>();
  for (const [from, count] of produces) {
    for (let start = from; start < from + count; start += 90) {
      chunks.set(start, Math.min(90, from + count - start));
    }
  }
  let trxNumber = 0;
  let chunkStart = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    expect(entry.sequence === i + 1, () => `${where}: #${i + 1} is #${entry.sequence}`);
    expect(
      equalBytes(entry.payload, killPayload(space, segment, entry.sequence)) &&
        entry.metadata.n === String(entry.sequence),
      () => `${where}#${entry.sequence}: payload or metadata differs`,
    );
    if (i === 0 || entry.trx.id !== entries[i - 1].trx.id) {
      if (i > 0) {
        assert.equal(i - chunkStart, chunks.get(chunkStart + 1), `${where}: chunk at ${i}`);
      }
      trxNumber++;
      chunkStart = i;
      assert.equal(entry.trx.number, trxNumber, `${where}#${entry.sequence}: trx number`);
    } else {
      assert.equal(entry.trx.number, trxNumber);
      assert.equal(entry.timestamp, entries[i - 1].timestamp);
    }
  }
  assert.equal(entries.length - chunkStart, chunks.get(chunkStart + 1), `${where}: last chunk`);
  assert.equal(trxNumber, chunks.size, `${where}: chunk count`);
}

/** Reads a space page by page (`limit`, resuming from the last offset), through the driver. */
async function consumeSpacePaged(store: Store, space: string, limit: number): Promise<Entry[]> {
  const all: Entry[] = [];
  let offset: Uint8Array | undefined;
  while (true) {
    const page = await collect(store.consumeSpace({ space, offset, limit }));
    all.push(...page);
    if (page.length < limit) return all;
    const last = page.at(-1)!;
    offset = spaceOffset(last);
  }
}

async function consumeSegmentPaged(
  store: Store,
  space: string,
  segment: string,
  limit: number,
): Promise<Entry[]> {
  const all: Entry[] = [];
  while (true) {
    const page = await collect(
      store.consumeSegment({ space, segment, minSequence: all.length + 1, limit }),
    );
    all.push(...page);
    if (page.length < limit) return all;
  }
}

function assertNoDuplicates(entries: Entry[], what: string): void {
  const keys = new Set(entries.map((entry) => `${entry.segment}\u0000${entry.sequence}`));
  assert.equal(keys.size, entries.length, `${what}: an entry is read twice`);
}

async function kindOf(promise: Promise<unknown>): Promise<StreamkitError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StreamkitError, `not a StreamkitError: ${error}`);
    return error;
  }
  assert.fail("expected a failure");
}

Deno.test("azure faults: transient faults are survived, permanent ones are not retried", async (t) => {
  const seed = testSeed();
  const azurite = await startAzurite();
  const proxy = await startFaultProxy({
    targetPort: azurite.port,
    seed,
    faultRate: FAULT_RATE,
    classify,
  });
  const storeId = crypto.randomUUID();
  const summary: Record<string, unknown> = { seed };
  const startedAt = performance.now();
  try {
    await t.step("5,000 entries produced and consumed through 10% transient faults", async () => {
      const factory = factoryOn(azurite, proxy);
      const random = new SeededRandom(seed);
      const produces = new Map<string, number[][]>();
      try {
        const store = await factory.newStore(storeId);
        await Promise.all(SPACES.flatMap((space) =>
          SEGMENTS.map(async (segment) => {
            const plan: number[][] = [];
            produces.set(`${space}/${segment}`, plan);
            const segmentRandom = new SeededRandom(random.u32());
            let next = 1;
            while (next <= PER_SEGMENT) {
              const count = Math.min(segmentRandom.int(1, MAX_PRODUCE), PER_SEGMENT - next + 1);
              plan.push([next, count]);
              const statuses = await collect(
                store.produce({ space, segment }, records(space, segment, next, count)),
              );
              assert.equal(statuses.at(-1)?.lastSequence, next + count - 1);
              assert.equal(statuses.length, Math.ceil(count / 90));
              next += count;
            }
          })
        ));
        summary.produceSeconds = Math.round(performance.now() - startedAt) / 1000;
        const afterProduce = { ...proxy.counts, faults: { ...proxy.counts.faults } };
        summary.afterProduce = { requests: afterProduce.requests, faults: afterProduce.faults };

        // Both kinds of consume, whole and resumed page by page, still through the faults.
        for (const space of SPACES) {
          const timeline = await collect(store.consumeSpace({ space }));
          assert.equal(timeline.length, PER_SEGMENT * SEGMENTS.length, `${space}: timeline`);
          assertNoDuplicates(timeline, space);
          const paged = await consumeSpacePaged(store, space, 333);
          assert.deepEqual(
            paged.map((entry) => [entry.segment, entry.sequence]),
            timeline.map((entry) => [entry.segment, entry.sequence]),
            `${space}: paged consumeSpace vs whole`,
          );
          for (const segment of SEGMENTS) {
            const plan = produces.get(`${space}/${segment}`)!;
            const entries = await collect(store.consumeSegment({ space, segment }));
            checkSegment(space, segment, entries, plan);
            const pagedSegment = await consumeSegmentPaged(store, space, segment, 97);
            checkSegment(space, segment, pagedSegment, plan);
            checkSegment(
              space,
              segment,
              timeline.filter((entry) => entry.segment === segment),
              plan,
            );
            const status = await store.getSegmentStatus(space, segment);
            assert.equal(status?.lastSequence, PER_SEGMENT);
            assert.deepEqual(await store.peek(space, segment), entries.at(-1));
          }
          assert.deepEqual(await collect(store.getSegments(space)), [...SEGMENTS]);
        }
        assert.deepEqual(await collect(store.getSpaces()), [...SPACES]);
      } finally {
        await factory.close();
      }

      // Straight from Azurite: both indexes hold exactly the entries, nothing is left pending.
      const direct = factoryOn(azurite);
      try {
        const table = directTable(azurite.connectionString, PREFIX, storeId);
        assert.deepEqual(await markerKeys(table), [], "markers left");
        assert.deepEqual(await unfinishedPendingHeads(table), [], "heads left owing a fanout");
        const store = await direct.newStore(storeId);
        for (const space of SPACES) {
          const bySegment = await auditBothIndexes(store, space, SEGMENTS);
          for (const segment of SEGMENTS) {
            checkSegment(
              space,
              segment,
              bySegment.get(segment)!,
              produces.get(`${space}/${segment}`)!,
            );
          }
          assert.deepEqual(await collect(store.getSegments(space)), [...SEGMENTS]);
        }
        assert.deepEqual(await collect(store.getSpaces()), [...SPACES]);
      } finally {
        await direct.close();
      }
      for (const kind of FAULT_KINDS) {
        assert.ok(proxy.counts.faults[kind] > 0, `no ${kind} fault was injected`);
      }
    });

    await t.step(
      "commits whose answer is lost are acknowledged once, and written once",
      async () => {
        // The random faults hit a commit after Azurite applied it only a few times per run: force
        // it. The first attempt of each commit of this step is applied by Azurite and its answer
        // replaced by a 503 or a dropped connection; the driver retries (and gets 409 or 412: the
        // rows exist, the head moved), then finds its trx id in the chunk's first row and carries
        // on as committed.
        proxy.faultRate = 0;
        const space = SPACES[1];
        const segment = "lost answers";
        const partition = segmentPartition(space, segment);
        const attempted = new Set<string>();
        const lostAnswer: ForcedFault = {
          kind: "503-after",
          hits: 0,
          match: (request) => {
            if (classify(request) !== "commit batch" || !request.body.includes(partition)) {
              return false;
            }
            const body = maskBatchIds(request.body);
            if (attempted.has(body)) return false; // a retry: let it through
            attempted.add(body);
            lostAnswer.kind = attempted.size % 2 === 1 ? "503-after" : "drop-after";
            return true;
          },
        };
        proxy.forced = [lostAnswer];
        const factory = factoryOn(azurite, proxy);
        const plan: number[][] = [];
        let last = 0;
        try {
          const store = await factory.newStore(storeId);
          for (let i = 0; i < LOST_COMMITS; i++) {
            const count = 1 + ((i * 37) % 90);
            plan.push([last + 1, count]);
            const statuses = await collect(
              store.produce({ space, segment }, records(space, segment, last + 1, count)),
            );
            assert.deepEqual(statuses.map((status) => status.lastSequence), [last + count]);
            last += count;
          }
        } finally {
          proxy.forced = [];
          await factory.close();
        }
        summary.forcedLostCommitAnswers = lostAnswer.hits;
        assert.equal(lostAnswer.hits, LOST_COMMITS);
        // Each lost answer made the driver read the chunk's first row to see whose it is.
        const checks = proxy.log.filter((line) =>
          line.startsWith("GET ") && line.includes(`(PartitionKey='${partition}',RowKey='`) &&
          !line.includes(`RowKey='${HEAD_ROW}'`)
        );
        assert.equal(checks.length, LOST_COMMITS, "commit checks after lost answers");

        const direct = factoryOn(azurite);
        try {
          const store = await direct.newStore(storeId);
          const bySegment = await auditBothIndexes(store, space, [...SEGMENTS, segment]);
          checkSegment(space, segment, bySegment.get(segment)!, plan, last);
          const table = directTable(azurite.connectionString, PREFIX, storeId);
          assert.deepEqual(await markerKeys(table), [], "markers left");
          assert.deepEqual(await unfinishedPendingHeads(table), [], "heads left owing a fanout");
        } finally {
          await direct.close();
        }
      },
    );

    await t.step("permanent errors fail at once, with the right kind", async () => {
      proxy.faultRate = 0;
      const requestsOf = async (call: () => Promise<unknown>) => {
        const before = proxy.counts.requests;
        const error = await kindOf(call());
        return { error, requests: proxy.counts.requests - before };
      };

      // A wrong account key: Azurite answers 403 to the very first request (create the table).
      const wrongKey = azuriteConnectionString(azurite, proxy)
        .replace(azurite.accountKey, btoa("not the key of this account, not at all"));
      const denied = new AzureStoreFactory({
        connectionString: wrongKey,
        allowInsecureHttp: true,
        tablePrefix: PREFIX,
      });
      try {
        const { error, requests } = await requestsOf(() => denied.newStore(storeId));
        assert.equal(error.kind, "AccessDenied", error.message);
        assert.equal(error.transient, false);
        assert.equal(requests, 1, "a 403 was retried");
        assert.match(error.message, /connection string/);
        assert.ok(!error.message.includes(azurite.accountKey));
      } finally {
        await denied.close();
      }

      const factory = factoryOn(azurite, proxy);
      try {
        const store = await factory.newStore(storeId);
        const space = SPACES[0];
        const partition = (segment: string) => segmentPartition(space, segment);

        // 400 to the head read of one segment: InvalidArgument, one request.
        const badHead = rule(
          400,
          "InvalidInput",
          (request) =>
            request.method === "GET" &&
            request.url.includes(`PartitionKey='${partition("a")}'`) &&
            request.url.includes(`RowKey='${HEAD_ROW}'`),
        );
        proxy.rules = [badHead];
        let outcome = await requestsOf(() => store.getSegmentStatus(space, "a"));
        assert.equal(outcome.error.kind, "InvalidArgument", outcome.error.message);
        assert.equal(outcome.error.transient, false);
        assert.equal(badHead.hits, 1, "a 400 was retried");
        assert.equal(outcome.requests, 1);

        // 403 to the commit of a new segment's first chunk: AccessDenied, one commit request,
        // and nothing of the chunk is written.
        const deniedCommit = rule(
          403,
          "AuthorizationPermissionMismatch",
          (request) => request.url.endsWith("/$batch") && request.body.includes(partition("new")),
        );
        proxy.rules = [deniedCommit];
        outcome = await requestsOf(() =>
          collect(store.produce({ space, segment: "new" }, records(space, "new", 1, 10)))
        );
        assert.equal(outcome.error.kind, "AccessDenied", outcome.error.message);
        assert.equal(outcome.error.transient, false);
        assert.equal(deniedCommit.hits, 1, "a 403 commit was retried");
        proxy.rules = [];
        assert.equal(await store.getSegmentStatus(space, "new"), undefined);
        assert.deepEqual(await collect(store.consumeSegment({ space, segment: "new" })), []);
        const table = directTable(azurite.connectionString, PREFIX, storeId);
        assert.deepEqual(await markerKeys(table), [], "the failed commit left its marker");

        // 404 to a query: a permanent failure, one request.
        const missing = rule(
          404,
          "TableNotFound",
          (request) => request.method === "GET" && request.url.includes(partition("b")),
        );
        proxy.rules = [missing];
        outcome = await requestsOf(() => collect(store.consumeSegment({ space, segment: "b" })));
        assert.equal(isTransient(outcome.error), false, outcome.error.message);
        assert.equal(missing.hits, 1, "a 404 was retried");

        // And a 503 for the same request is retried until it passes.
        let busy = 2;
        const transient = rule(
          503,
          "ServerBusy",
          (request) =>
            request.method === "GET" && request.url.includes(partition("b")) &&
            busy-- > 0,
        );
        proxy.rules = [transient];
        const entries = await collect(store.consumeSegment({ space, segment: "b" }));
        assert.equal(entries.length, PER_SEGMENT);
        assert.equal(transient.hits, 2);
        proxy.rules = [];
      } finally {
        await factory.close();
      }
    });
  } finally {
    summary.seconds = Math.round(performance.now() - startedAt) / 1000;
    summary.proxy = proxy.counts;
    console.log(`azure faults summary: ${JSON.stringify(summary)}`);
    await proxy.stop();
    await azurite.stop();
  }
});
