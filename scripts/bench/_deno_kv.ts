/**
 * The benchmark's reference "deno-kv": Deno KV (`Deno.openKv` on a file, `--unstable-kv`)
 * doing the store's job. Produce: per chunk, read the segment head, check the sequences
 * continue it, stamp a timestamp and a trx, and commit one atomic operation that checks the
 * head's versionstamp and writes every entry to both indexes (`encodeEntry` bytes), the new
 * head and, for a new segment, the inventory. Consume: `kv.list` over the index prefix,
 * decoding each value with `decodeEntry` (yielding entries is the job). Run by
 * `scripts/bench.ts`, one scenario per process.
 *
 * Deno KV caps one atomic operation at 1,000 mutations, 819,200 bytes of keys and values,
 * 81,920 bytes of keys and 100 checks (probed on Deno 2.9). With two mutations per entry plus
 * the head and two inventory keys, the mutation count binds first: {@linkcode KV_CHUNK_RECORDS}
 * entries per chunk (about 91 key bytes and 775 bytes in all per 256-byte entry, so 498 take
 * 45 KB of keys and 386 KB in all), where the level driver commits up to 10,000.
 *
 * @module
 */

import { join } from "node:path";
import { decodeEntry, encodeEntry, type Entry, type SegmentStatus } from "../../core/mod.ts";
import { decodeHead, encodeHead } from "../../drivers/level/_head_codec.ts";
import {
  type ChildArgs,
  CONCURRENT_SEGMENTS,
  expectCount,
  makePayloads,
  medianReadPass,
  NIL_NODE_ID,
  PAYLOAD_BYTES,
  runContestant,
  type ScenarioRun,
  segmentNames,
  SPACE,
  splitEntries,
  throughput,
  timed,
} from "./_shared.ts";

/** Mutations Deno KV accepts in one atomic operation. */
const KV_MAX_MUTATIONS = 1_000;
/** Entries per atomic commit: two mutations each, plus head and inventory (498). */
const KV_CHUNK_RECORDS = Math.floor((KV_MAX_MUTATIONS - 3) / 2);
/** `kv.list` batch size: the largest Deno KV allows. */
const KV_LIST_BATCH = 500;

function segmentKey(segment: string, sequence: number): Deno.KvKey {
  return ["DAT", "SEGMENTS", SPACE, segment, sequence];
}

function spaceKey(timestamp: number, segment: string, sequence: number): Deno.KvKey {
  return ["DAT", "SPACES", SPACE, timestamp, segment, sequence];
}

function headKey(segment: string): Deno.KvKey {
  return ["INV", "SEGMENT_STATUSES", SPACE, segment];
}

async function produceSegment(kv: Deno.Kv, segment: string, payloads: Uint8Array[]) {
  for (let start = 0; start < payloads.length; start += KV_CHUNK_RECORDS) {
    const end = Math.min(start + KV_CHUNK_RECORDS, payloads.length);
    const stored = await kv.get<Uint8Array>(headKey(segment));
    const head = stored.value === null ? undefined : decodeHead(SPACE, segment, stored.value);
    const expected = (head?.status.lastSequence ?? 0) + 1;
    if (expected !== start + 1) throw new Error(`sequence mismatch: ${expected} != ${start + 1}`);
    const timestamp = Math.max(Date.now(), head?.status.lastTimestamp ?? 0);
    const trx = { id: crypto.randomUUID(), node: NIL_NODE_ID, number: (head?.trxNumber ?? 0) + 1 };
    const atomic = kv.atomic().check({ key: headKey(segment), versionstamp: stored.versionstamp });
    for (let i = start; i < end; i++) {
      const entry: Entry = {
        space: SPACE,
        segment,
        sequence: i + 1,
        timestamp,
        trx,
        payload: payloads[i],
        metadata: {},
      };
      const value = encodeEntry(entry);
      const byIndex = segmentKey(segment, entry.sequence);
      const bySpace = spaceKey(timestamp, segment, entry.sequence);
      atomic.set(byIndex, value).set(bySpace, value);
    }
    const status: SegmentStatus = {
      space: SPACE,
      segment,
      firstSequence: head?.status.firstSequence ?? 1,
      firstTimestamp: head?.status.firstTimestamp ?? timestamp,
      lastSequence: end,
      lastTimestamp: timestamp,
    };
    atomic.set(headKey(segment), encodeHead({ status, trxNumber: trx.number }));
    if (head === undefined) {
      atomic.set(["INV", "SPACES", SPACE], new Uint8Array(0));
      atomic.set(["INV", "SEGMENTS", SPACE, segment], new Uint8Array(0));
    }
    const result = await atomic.commit();
    if (!result.ok) throw new Error(`segment ${segment}: head changed under the commit`);
  }
}

async function withKv<T>(dir: string, body: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(join(dir, "kv.sqlite3"));
  try {
    return await body(kv);
  } finally {
    kv.close();
  }
}

async function produceSegments(kv: Deno.Kv, entries: number, segments: number, seed: number) {
  const payloads = makePayloads(entries, seed);
  const { counts, offsets } = splitEntries(entries, segments);
  return await timed(() =>
    Promise.all(
      segmentNames(segments).map((segment, s) =>
        produceSegment(kv, segment, payloads.slice(offsets[s], offsets[s] + counts[s]))
      ),
    )
  );
}

async function produce({ entries, dir, seed }: ChildArgs, segments: number) {
  return await withKv(dir, async (kv) => {
    const { seconds } = await produceSegments(kv, entries, segments, seed);
    return { ...throughput(entries, seconds), details: { chunkRecords: KV_CHUNK_RECORDS } };
  });
}

async function countEntries(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let count = 0;
  let bytes = 0;
  for await (const item of kv.list<Uint8Array>({ prefix }, { batchSize: KV_LIST_BATCH })) {
    const entry = decodeEntry(item.value);
    count++;
    bytes += entry.payload.length;
  }
  expectCount("payload bytes", bytes, count * PAYLOAD_BYTES);
  return count;
}

function consume(what: "segment" | "space"): ScenarioRun {
  const segments = what === "segment" ? 1 : CONCURRENT_SEGMENTS;
  const prefix: Deno.KvKey = what === "segment"
    ? ["DAT", "SEGMENTS", SPACE, segmentNames(1)[0]]
    : ["DAT", "SPACES", SPACE];
  return {
    setup: async ({ entries, dir, seed }) => {
      await withKv(dir, (kv) => produceSegments(kv, entries, segments, seed));
    },
    measure: ({ entries, dir }) =>
      withKv(
        dir,
        (kv) => medianReadPass(`consume ${what}`, entries, () => countEntries(kv, prefix)),
      ),
  };
}

if (import.meta.main) {
  await runContestant("deno-kv", {
    "level.produce.1seg": { measure: (args) => produce(args, 1) },
    "level.produce.8seg": { measure: (args) => produce(args, CONCURRENT_SEGMENTS) },
    "level.consumeSegment": consume("segment"),
    "level.consumeSpace": consume("space"),
  });
}
