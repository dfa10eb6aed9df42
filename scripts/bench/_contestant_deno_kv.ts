/**
 * The benchmark's reference "deno-kv": Deno KV (`Deno.openKv` on a file) doing the store's job,
 * in atomic operations of {@linkcode KV_CHUNK_RECORDS} entries, its mutation limit (see
 * `scripts/bench/README.md`).
 *
 * @module
 */

import { join } from "node:path";
import { decodeEntry, encodeEntry, type SegmentStatus } from "../../core/mod.ts";
import { decodeHead, encodeHead } from "../../drivers/level/_test_support.ts";
import {
  type Contestant,
  expectPayloadBytes,
  type Measured,
  medianReadPass,
  PASSES,
  throughput,
  timed,
} from "./_contestant.ts";
import { Arrivals, measureFollowLatency } from "./_latency.ts";
import {
  benchEntry,
  type LatencySamples,
  newTrx,
  READ_SEGMENT,
  segmentPayloads,
  SEGMENTS_WRITTEN,
  SPACE,
} from "./_workload.ts";

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

/**
 * Commits `payloads[start..end)` as one chunk at sequences `start + 1` to `end`: reads the
 * head, checks the chunk continues it, and writes the entries to both indexes with the new head
 * in one atomic operation that checks the head's versionstamp.
 */
async function commitChunk(
  kv: Deno.Kv,
  segment: string,
  payloads: Uint8Array[],
  start: number,
  end: number,
): Promise<void> {
  const stored = await kv.get<Uint8Array>(headKey(segment));
  const head = stored.value === null ? undefined : decodeHead(SPACE, segment, stored.value);
  const expected = (head?.status.lastSequence ?? 0) + 1;
  if (expected !== start + 1) throw new Error(`sequence mismatch: ${expected} != ${start + 1}`);
  const timestamp = Math.max(Date.now(), head?.status.lastTimestamp ?? 0);
  const trx = newTrx((head?.trxNumber ?? 0) + 1);
  const atomic = kv.atomic().check({ key: headKey(segment), versionstamp: stored.versionstamp });
  for (let i = start; i < end; i++) {
    const value = encodeEntry(benchEntry(segment, i + 1, timestamp, trx, payloads[i]));
    atomic.set(segmentKey(segment, i + 1), value).set(spaceKey(timestamp, segment, i + 1), value);
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

async function produceSegment(kv: Deno.Kv, segment: string, payloads: Uint8Array[]) {
  for (let start = 0; start < payloads.length; start += KV_CHUNK_RECORDS) {
    await commitChunk(
      kv,
      segment,
      payloads,
      start,
      Math.min(start + KV_CHUNK_RECORDS, payloads.length),
    );
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

/** Writes every segment, the segments concurrently; resolves to the seconds taken. */
async function produceSegments(kv: Deno.Kv, entries: number, segments: number, seed: number) {
  const split = segmentPayloads(entries, segments, seed);
  const { seconds } = await timed(() =>
    Promise.all(split.map(({ segment, payloads }) => produceSegment(kv, segment, payloads)))
  );
  return seconds;
}

async function countEntries(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let count = 0;
  let bytes = 0;
  for await (const item of kv.list<Uint8Array>({ prefix }, { batchSize: KV_LIST_BATCH })) {
    count++;
    bytes += decodeEntry(item.value).payload.length;
  }
  expectPayloadBytes(count, bytes);
  return count;
}

/**
 * Times single entries, each committed as one chunk, to their arrival at a follower in the same
 * process: a watch of the segment's head key, reading each entry up to the head it reports.
 */
async function followLatency(
  kv: Deno.Kv,
  samples: LatencySamples,
  seed: number,
): Promise<Measured> {
  const [{ segment, payloads }] = segmentPayloads(samples.warmUp + samples.timed, 1, seed);
  const arrivals = new Arrivals();
  const heads = kv.watch<[Uint8Array]>([headKey(segment)]).getReader();
  const following = (async () => {
    let delivered = 0;
    while (true) {
      const { done, value } = await heads.read();
      if (done) return;
      // The watch reports the key's value at once, null before the first commit.
      const [head] = value;
      if (head.value === null) continue;
      const { lastSequence } = decodeHead(SPACE, segment, head.value).status;
      for (; delivered < lastSequence; delivered++) {
        const stored = await kv.get<Uint8Array>(segmentKey(segment, delivered + 1));
        if (stored.value === null) throw new Error(`entry ${delivered + 1} is not stored`);
        arrivals.arrived(decodeEntry(stored.value).sequence);
      }
    }
  })().catch((error) => arrivals.fail(error));
  try {
    return await measureFollowLatency(samples, arrivals, async (sequence) => {
      await commitChunk(kv, segment, payloads, sequence - 1, sequence);
      return performance.now();
    });
  } finally {
    await heads.cancel();
    await following;
  }
}

/**
 * Deno KV doing the store's job: produce is timed once over every segment; reads are the
 * median of the passes.
 *
 * @example
 * ```ts ignore
 * await contestant.produce(1).measure({ entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" });
 * ```
 */
export const contestant: Contestant<"level"> = {
  driver: "level",
  produce: (segments) => ({
    measure: ({ entries, dir, seed }) =>
      withKv(dir, async (kv) => ({
        ...throughput(entries, await produceSegments(kv, entries, segments, seed)),
        details: { chunkRecords: KV_CHUNK_RECORDS },
      })),
  }),
  consume: (read) => {
    const prefix: Deno.KvKey = read === "segment"
      ? ["DAT", "SEGMENTS", SPACE, READ_SEGMENT]
      : ["DAT", "SPACES", SPACE];
    return {
      setup: async ({ entries, dir, seed }) => {
        await withKv(dir, (kv) => produceSegments(kv, entries, SEGMENTS_WRITTEN[read], seed));
      },
      measure: ({ entries, dir }) =>
        withKv(
          dir,
          (kv) => medianReadPass(read, entries, PASSES.levelRead, () => countEntries(kv, prefix)),
        ),
    };
  },
  followLatency: (samples) => ({
    measure: ({ dir, seed }) => withKv(dir, (kv) => followLatency(kv, samples, seed)),
  }),
};
