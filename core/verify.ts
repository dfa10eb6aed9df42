/**
 * Checking a store through the public {@linkcode Store} API alone, so one check serves every
 * driver: {@linkcode verifyStore} reads each segment index and each space index and reports
 * whatever breaks the store's invariants (DESIGN 12).
 *
 * Bounded memory through per-segment digests. A space is checked in passes of up to 100,000 of
 * its segments (one pass unless it has more):
 *
 * 1. Each segment of the pass is read from its segment index (`consumeSegment`, a few segments
 *    at a time), checking sequences, timestamps and transactions entry by entry and the segment's
 *    status and `peek` against its first and last entries. It leaves a digest: the count, the
 *    first and last sequence, and a 64-bit hash of the entries' encodings (`encodeEntry`) in
 *    sequence order.
 * 2. The space index is read once (`consumeSpace`), checking its order, and each entry of the
 *    pass's segments is folded into a second digest of its segment.
 * 3. The digests of each segment are compared. An entry missing from either index shows at
 *    once, as a gap in that index's sequences or as different first or last sequences, and is
 *    reported with its sequence. Where the digests differ, entries both indexes hold may differ
 *    in their bytes (for certain when the sequences are the same, so the hashes alone differ): a
 *    second read of the space index, beside a cursor on each such segment (at most 16 per
 *    read), names each entry that differs and its differing fields. Segments the space index
 *    holds but `getSegments` does not list are reported, then checked like the listed ones.
 *
 * So memory is one small digest per segment of the pass, a page of each read in flight and the
 * problems listed, never a segment's or a space's entries. Each segment index is read once, each
 * space index once per pass, and again only for damaged segments. The alternative, one read of
 * the space index beside a cursor on every segment it interleaves, needs no second read, but
 * keeps an open read and its page of entries per live segment: with many segments written side
 * by side that is far more memory and, on Azure, far more requests.
 *
 * The hash runs two 32-bit lanes over the bytes, each step `(h ^ byte) * odd` then a rotation,
 * a bijection of the lane: runs of bytes of one length that differ in one byte always hash
 * apart, other differences collide with a chance of about 2^-64. It is a checksum against
 * damage, not a defence against forgery, and pure TypeScript like the rest of this entry point.
 *
 * What the API cannot show: a space that `getSpaces` does not list, and a segment listed neither
 * by `getSegments` nor in its space index, cannot be found; a trx id that comes back later in
 * its segment under a higher number is not noticed (only the previous entry's trx is kept in
 * mind). Verify a quiet store: entries committed during the check, or stamped later than the
 * store's clock (not yet readable from the space index), are reported as differences. And the
 * reads are the API's own: on Azure, reading a head finishes a fanout a crashed writer left
 * pending, before verify compares the indexes.
 *
 * @module
 */

import { EntryEncoder } from "./codec/encode.ts";
import { StreamkitError } from "./errors.ts";
import { compareKeys } from "./codec/lexkey.ts";
import { validateName } from "./names.ts";
import { spaceOffset } from "./offsets.ts";
import type { Entry, SegmentStatus, Store } from "./types.ts";

/**
 * One thing {@linkcode verifyStore} found wrong: where, and what differs.
 *
 * @example
 * ```ts
 * import type { VerifyProblem } from "@streamkit/core";
 * function describe(problem: VerifyProblem): string {
 *   const { space, segment, sequence } = problem;
 *   const at = [space, segment, sequence].filter((part) => part !== undefined);
 *   return `${at.join(" / ")}: ${problem.problem}`;
 * }
 * ```
 */
export interface VerifyProblem {
  /**
   * The space of the problem: for a problem with a name `getSpaces` lists, that name as listed;
   * empty when `getSpaces` itself cannot be read.
   */
  space: string;
  /** The segment of the problem, when it concerns one. */
  segment?: string;
  /** The sequence of the (first) entry concerned, when the problem is about entries. */
  sequence?: number;
  /** What is wrong, in words: what one side holds and what the other. */
  problem: string;
}

/**
 * How far a {@linkcode verifyStore} has come: spaces and segments checked, and the entries and
 * payload bytes read from the segment indexes (each stored entry counts once, though the space
 * index is read too).
 *
 * @example
 * ```ts
 * import type { VerifyProgress } from "@streamkit/core";
 * function show(progress: VerifyProgress): string {
 *   return `${progress.entries} entries, ${(progress.bytes / 1e6).toFixed(1)} MB`;
 * }
 * ```
 */
export interface VerifyProgress {
  /** Spaces checked. */
  spaces: number;
  /** Segments checked. */
  segments: number;
  /** Entries read from the segment indexes. */
  entries: number;
  /** Payload bytes of those entries. */
  bytes: number;
}

/**
 * The outcome of a {@linkcode verifyStore}: whether the store is sound, each problem found, and
 * what was checked.
 *
 * @example
 * ```ts
 * import type { VerifyReport } from "@streamkit/core";
 * function summary(report: VerifyReport): string {
 *   return report.sound
 *     ? `sound: ${report.entries} entries in ${report.segments} segments`
 *     : `${report.problems.length} problems`;
 * }
 * ```
 */
export interface VerifyReport {
  /** True exactly when no problem was found. */
  sound: boolean;
  /**
   * The problems found, at most `maxProblems` of them; when there were more, one last problem
   * says how many were left out and describes the first of those.
   */
  problems: VerifyProblem[];
  /** Spaces checked. */
  spaces: number;
  /** Segments checked. */
  segments: number;
  /** Entries read from the segment indexes. */
  entries: number;
  /** Payload bytes of those entries. */
  bytes: number;
}

/**
 * Options of {@linkcode verifyStore}.
 *
 * @example
 * ```ts
 * import type { VerifyOptions } from "@streamkit/core";
 * const options: VerifyOptions = {
 *   signal: AbortSignal.timeout(60_000),
 *   onProgress: (progress) => console.error(`${progress.entries} entries checked`),
 *   maxProblems: 100,
 * };
 * ```
 */
export interface VerifyOptions {
  /** Aborts the check: `verifyStore` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called every 1,000 entries read (from either index) and once at the end. */
  onProgress?: (progress: VerifyProgress) => void;
  /**
   * The most problems listed (default 1,000): beyond it problems are only counted, and one last
   * problem says how many were left out.
   */
  maxProblems?: number;
}

/**
 * Checks a whole store through its public API, on any driver: every segment is contiguous from
 * its first sequence, its timestamps never decrease, its trx numbers never decrease, the entries
 * of one trx are contiguous and share its number, node and timestamp, and no trx number is used
 * by two trx ids; its status and `peek` match its first and last entries; each space index holds
 * exactly the entries of its segment indexes, with the same bytes, in (timestamp, segment,
 * sequence) order; and `getSpaces`/`getSegments` list exactly the spaces and segments holding
 * entries. Memory stays bounded however large the store (see the module documentation).
 *
 * Stored data that fails to decode (`CorruptData`) is reported as a problem; any other error
 * (a closed store, an unreachable backend, an abort) rejects. Check a quiet store: entries
 * written during the check show up as differences.
 *
 * @example
 * ```ts
 * import { type Store, verifyStore } from "@streamkit/core";
 * async function check(store: Store): Promise<boolean> {
 *   const report = await verifyStore(store, {
 *     onProgress: ({ entries }) => console.error(`${entries} entries checked`),
 *   });
 *   for (const { space, segment, sequence, problem } of report.problems) {
 *     console.log(space, segment ?? "", sequence ?? "", problem);
 *   }
 *   return report.sound;
 * }
 * ```
 */
export function verifyStore(store: Store, options: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyStoreInPasses(store, options, SEGMENTS_PER_PASS);
}

/**
 * {@linkcode verifyStore} with spaces checked in passes of at most `segmentsPerPass` segments,
 * so tests can take a space through several passes without writing 100,000 segments.
 *
 * @example
 * ```ts ignore
 * const report = await verifyStoreInPasses(store, {}, 2);
 * ```
 */
export async function verifyStoreInPasses(
  store: Store,
  options: VerifyOptions,
  segmentsPerPass: number,
): Promise<VerifyReport> {
  if (!Number.isSafeInteger(segmentsPerPass) || segmentsPerPass < 1) {
    throw new StreamkitError(
      "InvalidArgument",
      `segmentsPerPass: must be a positive integer, got ${segmentsPerPass}`,
    );
  }
  const maxProblems = options.maxProblems ?? DEFAULT_MAX_PROBLEMS;
  if (!Number.isSafeInteger(maxProblems) || maxProblems < 0) {
    throw new StreamkitError(
      "InvalidArgument",
      `maxProblems: must be a non-negative integer, got ${maxProblems}`,
    );
  }
  const { signal } = options;
  signal?.throwIfAborted();
  // Reads run a few at a time: when the check ends, by abort or by an error, this stops the rest.
  const reads = new AbortController();
  const forwardAbort = () => reads.abort(signal!.reason);
  signal?.addEventListener("abort", forwardAbort, { once: true });
  try {
    const verifier = new StoreVerifier(store, {
      signal: reads.signal,
      progress: new ProgressCounter(options.onProgress),
      log: new ProblemLog(maxProblems),
      segmentsPerPass,
    });
    return await verifier.run();
  } finally {
    signal?.removeEventListener("abort", forwardAbort);
    reads.abort();
  }
}

const DEFAULT_MAX_PROBLEMS = 1_000;
/** Segments whose digests one pass keeps: about 100 bytes each (twice for its two indexes). */
const SEGMENTS_PER_PASS = 100_000;
/** Segment indexes read at once: on a networked store latency, not throughput, bounds one read. */
const SEGMENT_READS_IN_FLIGHT = 8;
/** Segments with differing bytes looked into per extra read of the space index. */
const SEGMENTS_PER_LOCATING_READ = 16;
const PROGRESS_EVERY_ENTRIES = 1_000;

const utf8 = new TextEncoder();

/** `#5` or `#5..#9`. */
function span(first: number, last: number): string {
  return first === last ? `#${first}` : `#${first}..#${last}`;
}

function where(space: string, segment: string): string {
  return `${JSON.stringify(space)}/${JSON.stringify(segment)}`;
}

/** Whether `segment` is in the range of names `pass` covers. */
function covers(pass: Pass, segment: string): boolean {
  const { after, through } = pass;
  if (after === undefined && through === undefined) return true;
  const name = utf8.encode(segment);
  return (after === undefined || compareKeys(name, after) > 0) &&
    (through === undefined || compareKeys(name, through) <= 0);
}

/** Orders names as the store lists them: by UTF-8 bytes. */
function compareNames(a: string, b: string): number {
  return compareKeys(utf8.encode(a), utf8.encode(b));
}

/** The message of a `CorruptData` error, which is a finding; any other error is rethrown. */
function corruption(error: unknown): string {
  if (error instanceof StreamkitError && error.kind === "CorruptData") return error.message;
  throw error;
}

/** What differs between two entries, field by field, `a`'s value first; empty when nothing does. */
function differences(a: Entry, b: Entry): string {
  const found: string[] = [];
  const field = (name: string, valueOfA: unknown, valueOfB: unknown) => {
    if (valueOfA !== valueOfB) {
      found.push(`${name} ${JSON.stringify(valueOfA)} vs ${JSON.stringify(valueOfB)}`);
    }
  };
  field("space", a.space, b.space);
  field("segment", a.segment, b.segment);
  field("sequence", a.sequence, b.sequence);
  field("timestamp", a.timestamp, b.timestamp);
  field("trx id", a.trx.id, b.trx.id);
  field("trx node", a.trx.node, b.trx.node);
  field("trx number", a.trx.number, b.trx.number);
  const payloadOfA = a.payload;
  const payloadOfB = b.payload;
  let at = 0;
  while (
    at < payloadOfA.length && at < payloadOfB.length && payloadOfA[at] === payloadOfB[at]
  ) at++;
  if (at < payloadOfA.length || at < payloadOfB.length) {
    const lengths = `${payloadOfA.length} vs ${payloadOfB.length}`;
    found.push(`payload of ${lengths} bytes, first different at byte ${at}`);
  }
  // Metadata is encoded in its own key order, so that order is part of the bytes compared.
  field(
    "metadata",
    JSON.stringify(Object.entries(a.metadata)),
    JSON.stringify(Object.entries(b.metadata)),
  );
  return found.join("; ");
}

/** The problems found: the first `max` listed, the rest counted. */
class ProblemLog {
  readonly max: number;
  readonly listed: VerifyProblem[] = [];
  #omitted = 0;
  #firstOmitted: VerifyProblem | undefined;

  constructor(max: number) {
    this.max = max;
  }

  get count(): number {
    return this.listed.length + this.#omitted;
  }

  /** Whether a further problem would only be counted. */
  get full(): boolean {
    return this.listed.length >= this.max;
  }

  add(space: string, segment: string | undefined, sequence: number | undefined, problem: string) {
    // Absent rather than undefined fields: reports compare and print cleanly.
    const found: VerifyProblem = {
      space,
      ...(segment === undefined ? {} : { segment }),
      ...(sequence === undefined ? {} : { sequence }),
      problem,
    };
    if (this.full) {
      this.#omitted++;
      this.#firstOmitted ??= found;
    } else {
      this.listed.push(found);
    }
  }

  /** Takes over the problems of `other`, a log of one segment's check, after this log's own. */
  absorb(other: ProblemLog): void {
    for (const { space, segment, sequence, problem } of other.listed) {
      this.add(space, segment, sequence, problem);
    }
    if (other.#firstOmitted !== undefined) {
      this.#omitted += other.#omitted;
      this.#firstOmitted ??= other.#firstOmitted;
    }
  }

  /** The problems to report: those listed and, when some were left out, one saying so. */
  problems(): VerifyProblem[] {
    const first = this.#firstOmitted;
    if (first === undefined) return this.listed;
    const more = this.#omitted === 1 ? "1 more problem" : `${this.#omitted} more problems`;
    const summary = `${more} not listed (maxProblems ${this.max}); the first of them: ` +
      first.problem;
    return [...this.listed, { ...first, problem: summary }];
  }
}

/** The counts of {@linkcode VerifyProgress}, handed to `onProgress` every 1,000 entries read. */
class ProgressCounter {
  spaces = 0;
  segments = 0;
  entries = 0;
  bytes = 0;
  #reads = 0;
  #onProgress: ((progress: VerifyProgress) => void) | undefined;

  constructor(onProgress: ((progress: VerifyProgress) => void) | undefined) {
    this.#onProgress = onProgress;
  }

  /** An entry read from a segment index: it counts. */
  segmentEntry(entry: Entry): void {
    this.entries++;
    this.bytes += entry.payload.byteLength;
    this.#read();
  }

  /** An entry read from a space index: a comparison, its stored entry already counted. */
  spaceEntry(): void {
    this.#read();
  }

  #read(): void {
    if (++this.#reads % PROGRESS_EVERY_ENTRIES === 0) this.report();
  }

  report(): void {
    const { spaces, segments, entries, bytes } = this;
    this.#onProgress?.({ spaces, segments, entries, bytes });
  }
}

/** What one index holds of one segment: the count, the sequences and a hash of the bytes. */
class IndexDigest {
  count = 0;
  first = 0;
  last = 0;
  /** Its sequences were not a contiguous run, or an entry could not be encoded (reported). */
  irregular = false;
  /** The read failed partway (reported): the digest covers only the entries before. */
  incomplete = false;
  #low = 0x811c9dc5;
  #high = 0x2545f491;

  add(sequence: number, encoding: Uint8Array | undefined): void {
    if (this.count === 0) this.first = sequence;
    this.count++;
    this.last = sequence;
    if (encoding === undefined) {
      this.irregular = true;
      return;
    }
    let low = this.#low;
    let high = this.#high;
    for (let i = 0; i < encoding.length; i++) {
      const byte = encoding[i];
      low = Math.imul(low ^ byte, 0x01000193);
      low = (low << 13) | (low >>> 19);
      high = Math.imul(high ^ byte, 0x5bd1e995);
      high = (high << 17) | (high >>> 15);
    }
    this.#low = low;
    this.#high = high;
  }

  sameBytes(other: IndexDigest): boolean {
    return this.#low === other.#low && this.#high === other.#high;
  }
}

const NOTHING = new IndexDigest();

/** The segment index's side of a segment: its digest and the problems its read found. */
interface SegmentCheck {
  digest: IndexDigest;
  log: ProblemLog;
}

/** How a segment's two indexes compare: see `#compareIndexes`. */
type Comparison = "alike" | "bytes differ" | "sequences differ";

/** A segment whose indexes may hold entries of one sequence with different bytes. */
interface Difference {
  segment: string;
  /** The space index's digest of the segment. */
  indexed: IndexDigest;
  /** Both indexes hold the same sequences: some entry's bytes differ for certain. */
  sameSequences: boolean;
}

/** The segments one pass over a space covers: the names listed, and the range they span. */
interface Pass {
  space: string;
  /** The segment index digests of the listed segments, in listing order. */
  listed: Map<string, IndexDigest>;
  /** UTF-8 bytes of the name the previous pass ended with: this one covers names above it. */
  after: Uint8Array | undefined;
  /** UTF-8 bytes of this pass's last name; absent for the last pass, which covers the rest. */
  through: Uint8Array | undefined;
  /** The first pass over the space also checks the space index's order and entries' spaces. */
  first: boolean;
}

interface VerifierSettings {
  signal: AbortSignal;
  progress: ProgressCounter;
  log: ProblemLog;
  segmentsPerPass: number;
}

class StoreVerifier {
  #store: Store;
  #signal: AbortSignal;
  #progress: ProgressCounter;
  #log: ProblemLog;
  #segmentsPerPass: number;
  /** Encodes an entry for its hash, which is taken before the next await: one serves all reads. */
  #encoder = new EntryEncoder();

  constructor(store: Store, settings: VerifierSettings) {
    this.#store = store;
    this.#signal = settings.signal;
    this.#progress = settings.progress;
    this.#log = settings.log;
    this.#segmentsPerPass = settings.segmentsPerPass;
  }

  async run(): Promise<VerifyReport> {
    const signal = this.#signal;
    const spaces = this.#listed(this.#store.getSpaces({ signal }), "getSpaces", undefined);
    for await (const space of spaces) {
      await this.#verifySpace(space);
      this.#progress.spaces++;
    }
    this.#progress.report();
    const { spaces: spaceCount, segments, entries, bytes } = this.#progress;
    return {
      sound: this.#log.count === 0,
      problems: this.#log.problems(),
      spaces: spaceCount,
      segments,
      entries,
      bytes,
    };
  }

  /**
   * The valid names of a listing, each once; a name that is invalid, repeated or out of
   * ascending UTF-8 order is a problem (an out-of-order name is still checked).
   */
  async *#listed(
    names: AsyncIterable<string>,
    listing: string,
    space: string | undefined,
  ): AsyncIterable<string> {
    const report = (name: string, problem: string) =>
      space === undefined
        ? this.#log.add(name, undefined, undefined, problem)
        : this.#log.add(space, name, undefined, problem);
    let previous: Uint8Array | undefined;
    let previousName = "";
    try {
      for await (const name of names) {
        try {
          validateName("name", name);
        } catch (error) {
          report(name, `${listing} lists an invalid name: ${(error as Error).message}`);
          continue;
        }
        const bytes = utf8.encode(name);
        const order = previous === undefined ? 1 : compareKeys(bytes, previous);
        if (order === 0) {
          report(name, `${listing} lists it twice`);
          continue;
        }
        if (order < 0) {
          report(name, `${listing} lists it after ${JSON.stringify(previousName)}: out of order`);
        } else {
          previous = bytes;
          previousName = name;
        }
        yield name;
      }
    } catch (error) {
      const past = previous === undefined ? "" : ` past ${JSON.stringify(previousName)}`;
      const problem = `${listing} cannot be read${past}: ${corruption(error)}`;
      if (space === undefined) this.#log.add("", undefined, undefined, problem);
      else this.#log.add(space, undefined, undefined, problem);
    }
  }

  async #verifySpace(space: string): Promise<void> {
    const signal = this.#signal;
    const listing = this.#listed(
      this.#store.getSegments(space, { signal }),
      "getSegments",
      space,
    )[Symbol.asyncIterator]();
    let holdsEntries = false;
    let after: Uint8Array | undefined;
    let next = await listing.next();
    let first = true;
    do {
      const names: string[] = [];
      let highest = "";
      while (!next.done && names.length < this.#segmentsPerPass) {
        names.push(next.value);
        if (highest === "" || compareNames(next.value, highest) > 0) highest = next.value;
        next = await listing.next();
      }
      const through = next.done ? undefined : utf8.encode(highest);
      const listed = await this.#checkSegments(space, names);
      if (await this.#verifyPass({ space, listed, after, through, first })) holdsEntries = true;
      after = through;
      first = false;
    } while (!next.done);
    if (!holdsEntries) {
      this.#log.add(space, undefined, undefined, "getSpaces lists it, but it holds no entries");
    }
  }

  /**
   * Compares the pass's segment digests with the space index, checks the segments only the space
   * index knows, and finds the entries whose bytes differ. Whether the pass saw any entry.
   */
  async #verifyPass(pass: Pass): Promise<boolean> {
    const { space, listed } = pass;
    const timeline = await this.#readSpaceIndex(pass);
    if (timeline === undefined) {
      // The space index could not be read whole (reported): comparing with it would only list
      // the entries it could not reach.
      return true;
    }
    const differing: Difference[] = [];
    const compare = (segment: string, held: IndexDigest, indexed: IndexDigest) => {
      const comparison = this.#compareIndexes(space, segment, held, indexed);
      if (comparison !== "alike") {
        differing.push({ segment, indexed, sameSequences: comparison === "bytes differ" });
      }
    };
    for (const [segment, held] of listed) {
      const indexed = timeline.get(segment) ?? NOTHING;
      if (held.count === 0 && indexed.count === 0 && !held.incomplete) {
        this.#log.add(space, segment, undefined, "getSegments lists it, but it holds no entries");
      } else {
        compare(segment, held, indexed);
      }
    }
    const unlisted = [...timeline.keys()].filter((segment) => !listed.has(segment)).sort(
      compareNames,
    );
    for (const segment of unlisted) {
      const indexed = timeline.get(segment)!;
      this.#log.add(
        space,
        segment,
        undefined,
        `the space index holds entries of it (${
          span(indexed.first, indexed.last)
        }), but getSegments does not list it`,
      );
    }
    const unlistedHeld = await this.#checkSegments(space, unlisted);
    for (const [segment, held] of unlistedHeld) compare(segment, held, timeline.get(segment)!);
    await this.#locateDifferences(space, differing);
    let seenEntries = timeline.size > 0;
    for (const held of listed.values()) if (held.count > 0 || held.incomplete) seenEntries = true;
    return seenEntries;
  }

  /** Checks segments a few at a time, recording their problems in the order of `segments`. */
  async #checkSegments(space: string, segments: string[]): Promise<Map<string, IndexDigest>> {
    const digests = new Map<string, IndexDigest>();
    const inFlight: Promise<SegmentCheck>[] = [];
    let recorded = 0;
    const recordNext = async () => {
      const { digest, log } = await inFlight.shift()!;
      this.#log.absorb(log);
      digests.set(segments[recorded++], digest);
      this.#progress.segments++;
    };
    for (const segment of segments) {
      const check = this.#checkSegment(space, segment);
      // Awaited in order by recordNext; should it fail first, the verify ends and the rest stop.
      check.catch(() => {});
      inFlight.push(check);
      if (inFlight.length === SEGMENT_READS_IN_FLIGHT) await recordNext();
    }
    while (inFlight.length > 0) await recordNext();
    return digests;
  }

  /** Reads one segment index, checking it entry by entry, then its status and `peek`. */
  async #checkSegment(space: string, segment: string): Promise<SegmentCheck> {
    const signal = this.#signal;
    const log = new ProblemLog(this.#log.max);
    const report = (sequence: number | undefined, problem: string) =>
      log.add(space, segment, sequence, problem);
    const digest = new IndexDigest();
    let first: Entry | undefined;
    let previous: Entry | undefined;
    try {
      for await (const entry of this.#store.consumeSegment({ space, segment, signal })) {
        this.#progress.segmentEntry(entry);
        if (entry.space !== space || entry.segment !== segment) {
          report(
            entry.sequence,
            `the segment index holds an entry of ${where(entry.space, entry.segment)}`,
          );
        }
        if (previous === undefined) first = entry;
        else if (!this.#checkSuccession(previous, entry, report)) digest.irregular = true;
        digest.add(entry.sequence, this.#encode(entry, report));
        previous = entry;
      }
    } catch (error) {
      const message = corruption(error);
      digest.incomplete = true;
      const past = previous === undefined ? "" : ` past #${previous.sequence}`;
      report(
        previous && previous.sequence + 1,
        `the segment index cannot be read${past}: ${message}`,
      );
      return { digest, log };
    }
    await this.#checkHead(space, segment, first, previous, report);
    return { digest, log };
  }

  /** The entry's encoding, for its hash; `undefined` (a problem) when it has none. */
  #encode(
    entry: Entry,
    report: (sequence: number, problem: string) => void,
  ): Uint8Array | undefined {
    try {
      return this.#encoder.encode(entry);
    } catch (error) {
      report(entry.sequence, `the entry cannot be encoded: ${(error as Error).message}`);
      return undefined;
    }
  }

  /**
   * Checks `entry` against the one before it in its segment index. Returns whether its sequence
   * follows; the other findings are only reported.
   */
  #checkSuccession(
    previous: Entry,
    entry: Entry,
    report: (sequence: number, problem: string) => void,
  ): boolean {
    const follows = entry.sequence === previous.sequence + 1;
    if (!follows) {
      if (entry.sequence > previous.sequence) {
        report(
          previous.sequence + 1,
          `${span(previous.sequence + 1, entry.sequence - 1)} missing from the segment index ` +
            `(it goes from #${previous.sequence} to #${entry.sequence})`,
        );
      } else {
        report(
          entry.sequence,
          `the segment index holds #${entry.sequence} after #${previous.sequence}`,
        );
      }
    }
    if (entry.timestamp < previous.timestamp) {
      report(
        entry.sequence,
        `timestamp ${entry.timestamp} is below #${previous.sequence}'s ${previous.timestamp}`,
      );
    }
    const trx = entry.trx;
    const previousTrx = previous.trx;
    if (trx.id === previousTrx.id) {
      const unlike = [
        trx.number !== previousTrx.number && `number (${trx.number} vs ${previousTrx.number})`,
        trx.node !== previousTrx.node && `node (${trx.node} vs ${previousTrx.node})`,
        entry.timestamp !== previous.timestamp &&
        `timestamp (${entry.timestamp} vs ${previous.timestamp})`,
      ].filter(Boolean);
      if (unlike.length > 0) {
        report(
          entry.sequence,
          `shares trx ${trx.id} with #${previous.sequence} but not its ${unlike.join(", ")}`,
        );
      }
    } else if (trx.number < previousTrx.number) {
      report(
        entry.sequence,
        `trx number ${trx.number} is below #${previous.sequence}'s ${previousTrx.number}`,
      );
    } else if (trx.number === previousTrx.number) {
      report(
        entry.sequence,
        `trx number ${trx.number} is used by two trx ids: ${previousTrx.id} ` +
          `(#${previous.sequence}) and ${trx.id}`,
      );
    }
    return follows;
  }

  /** Checks `getSegmentStatus` and `peek` against the segment index's first and last entries. */
  async #checkHead(
    space: string,
    segment: string,
    first: Entry | undefined,
    last: Entry | undefined,
    report: (sequence: number | undefined, problem: string) => void,
  ): Promise<void> {
    const signal = this.#signal;
    let status: SegmentStatus | undefined;
    let statusFailed = false;
    try {
      status = await this.#store.getSegmentStatus(space, segment, { signal });
    } catch (error) {
      statusFailed = true;
      report(last?.sequence, `getSegmentStatus fails: ${corruption(error)}`);
    }
    let peeked: Entry | undefined;
    let peekFailed = false;
    try {
      peeked = await this.#store.peek(space, segment, { signal });
    } catch (error) {
      peekFailed = true;
      report(status?.lastSequence ?? last?.sequence, `peek fails: ${corruption(error)}`);
    }
    if (first === undefined || last === undefined) {
      if (status !== undefined) {
        report(
          status.lastSequence,
          `getSegmentStatus reports ${span(status.firstSequence, status.lastSequence)}, ` +
            "but the segment index holds no entries",
        );
      }
      if (peeked !== undefined) {
        report(
          peeked.sequence,
          `peek returns #${peeked.sequence}, but the segment index holds no entries`,
        );
      }
      return;
    }
    if (status !== undefined) {
      if (status.space !== space || status.segment !== segment) {
        report(undefined, `getSegmentStatus reports ${where(status.space, status.segment)}`);
      }
      if (status.firstSequence !== first.sequence || status.firstTimestamp !== first.timestamp) {
        report(
          status.firstSequence,
          `getSegmentStatus reports first #${status.firstSequence} at ${status.firstTimestamp}, ` +
            `the segment index starts with #${first.sequence} at ${first.timestamp}`,
        );
      }
      if (status.lastSequence !== last.sequence || status.lastTimestamp !== last.timestamp) {
        report(
          status.lastSequence,
          `getSegmentStatus reports last #${status.lastSequence} at ${status.lastTimestamp}, ` +
            `the segment index ends with #${last.sequence} at ${last.timestamp}`,
        );
      }
    } else if (!statusFailed) {
      report(
        last.sequence,
        `the segment index holds ${span(first.sequence, last.sequence)}, ` +
          "but getSegmentStatus reports nothing",
      );
    }
    if (peeked !== undefined) {
      const differs = differences(last, peeked);
      if (differs !== "") {
        report(
          peeked.sequence,
          `peek returns an entry unlike the segment index's last, #${last.sequence} ` +
            `(segment index vs peek): ${differs}`,
        );
      }
    } else if (!peekFailed) {
      report(last.sequence, `peek returns nothing, the segment index ends with #${last.sequence}`);
    }
  }

  /**
   * Reads the space index: checks its order (on the pass's first read) and makes a digest of each
   * segment the pass covers, listed or not. `undefined` when it could not be read whole.
   */
  async #readSpaceIndex(pass: Pass): Promise<Map<string, IndexDigest> | undefined> {
    const { space, listed, first } = pass;
    const signal = this.#signal;
    const digests = new Map<string, IndexDigest>();
    const report = (segment: string, sequence: number, problem: string) =>
      this.#log.add(space, segment, sequence, problem);
    let unlisted = 0;
    let previous: Entry | undefined;
    let previousOffset: Uint8Array | undefined;
    try {
      for await (const entry of this.#store.consumeSpace({ space, signal })) {
        this.#progress.spaceEntry();
        const { segment, sequence } = entry;
        if (first) {
          if (entry.space !== space) {
            report(
              segment,
              sequence,
              `the space index holds an entry of space ${JSON.stringify(entry.space)}`,
            );
          }
          const offset = spaceOffset(entry);
          if (previous !== undefined && compareKeys(previousOffset!, offset) >= 0) {
            report(
              segment,
              sequence,
              `the space index holds it after ${where(previous.space, previous.segment)}` +
                `#${previous.sequence} at ${previous.timestamp}, out of (timestamp, segment, ` +
                "sequence) order",
            );
          }
          previousOffset = offset;
        }
        previous = entry;
        let digest = digests.get(segment);
        if (digest === undefined) {
          if (!listed.has(segment)) {
            if (!covers(pass, segment)) continue;
            // Unlisted segments are damage, but could be every segment: keep their digests
            // within one pass's bound, and say so past it.
            if (unlisted === this.#segmentsPerPass) {
              report(
                segment,
                sequence,
                `more than ${unlisted} segments of this range of names are not listed by ` +
                  "getSegments; this one and the next are not checked",
              );
            }
            if (unlisted++ >= this.#segmentsPerPass) continue;
          }
          digest = new IndexDigest();
          digests.set(segment, digest);
        } else if (sequence !== digest.last + 1) {
          digest.irregular = true;
          if (sequence > digest.last) {
            report(
              segment,
              digest.last + 1,
              `${span(digest.last + 1, sequence - 1)} missing from the space index ` +
                `(it goes from #${digest.last} to #${sequence})`,
            );
          } else {
            report(segment, sequence, `the space index holds #${sequence} after #${digest.last}`);
          }
        }
        digest.add(sequence, this.#encode(entry, (at, problem) => report(segment, at, problem)));
      }
    } catch (error) {
      const message = corruption(error);
      const past = previous === undefined
        ? ""
        : ` past ${where(previous.space, previous.segment)}#${previous.sequence}`;
      this.#log.add(
        space,
        undefined,
        undefined,
        `the space index cannot be read${past}: ${message}; its segments are not compared`,
      );
      return undefined;
    }
    return digests;
  }

  /**
   * Compares the digests of a segment's two indexes, reporting the sequences one holds and the
   * other not (gaps inside either were reported as it was read). Whether entries both hold may
   * still differ in their bytes, to be located: `bytes differ` when they hold the same sequences
   * and the hashes differ, `sequences differ` when the hashes cannot tell.
   */
  #compareIndexes(
    space: string,
    segment: string,
    held: IndexDigest,
    indexed: IndexDigest,
  ): Comparison {
    // A segment index that could not be read whole was reported; its digest proves nothing.
    if (held.incomplete) return "alike";
    const report = (sequence: number, problem: string) =>
      this.#log.add(space, segment, sequence, problem);
    if (held.count === 0) {
      report(
        indexed.first,
        `the space index holds ${span(indexed.first, indexed.last)}, the segment index nothing`,
      );
      return "alike";
    }
    if (indexed.count === 0) {
      report(
        held.first,
        `${span(held.first, held.last)} missing from the space index (it holds none of them)`,
      );
      return "alike";
    }
    if (held.first < indexed.first) {
      const last = Math.min(indexed.first - 1, held.last);
      report(held.first, `${span(held.first, last)} missing from the space index`);
    } else if (held.first > indexed.first) {
      const last = Math.min(held.first - 1, indexed.last);
      report(
        indexed.first,
        `${span(indexed.first, last)} in the space index, missing from the segment index`,
      );
    }
    if (held.last > indexed.last) {
      const first = Math.max(indexed.last + 1, held.first);
      report(first, `${span(first, held.last)} missing from the space index`);
    } else if (held.last < indexed.last) {
      const first = Math.max(held.last + 1, indexed.first);
      report(
        first,
        `${span(first, indexed.last)} in the space index, missing from the segment index`,
      );
    }
    const sameSequences = held.first === indexed.first && held.last === indexed.last &&
      !held.irregular && !indexed.irregular;
    if (!sameSequences) return "sequences differ";
    return held.sameBytes(indexed) ? "alike" : "bytes differ";
  }

  /**
   * Finds the entries that both indexes of `segments` hold with different bytes: reads the space
   * index again beside a cursor on each segment index, at most 16 segments per read.
   */
  async #locateDifferences(space: string, segments: Difference[]): Promise<void> {
    const signal = this.#signal;
    for (let at = 0; at < segments.length; at += SEGMENTS_PER_LOCATING_READ) {
      const group = segments.slice(at, at + SEGMENTS_PER_LOCATING_READ);
      const located = new Set<string>();
      // Past the cap problems are only counted: one per segment will do, without reading again.
      if (!this.#log.full) {
        const cursors = new Map(group.map(({ segment, indexed }) => [segment, {
          held: new SequenceCursor(this.#store.consumeSegment({ space, segment, signal })),
          last: indexed.last,
        }]));
        try {
          for await (const entry of this.#store.consumeSpace({ space, signal })) {
            this.#progress.spaceEntry();
            const cursor = cursors.get(entry.segment);
            if (cursor === undefined) continue;
            const held = await cursor.held.at(entry.sequence);
            const differs = held === undefined ? "" : differences(held, entry);
            if (differs !== "") {
              located.add(entry.segment);
              this.#log.add(
                space,
                entry.segment,
                entry.sequence,
                `the indexes hold different entries (segment index vs space index): ${differs}`,
              );
            }
            if (entry.sequence >= cursor.last) {
              cursors.delete(entry.segment);
              await cursor.held.close();
              if (cursors.size === 0) break;
            }
          }
        } finally {
          for (const cursor of cursors.values()) await cursor.held.close();
        }
      }
      for (const { segment, indexed, sameSequences } of group) {
        if (!sameSequences || located.has(segment)) continue;
        this.#log.add(
          space,
          segment,
          indexed.first,
          `the two indexes hold ${span(indexed.first, indexed.last)} with different bytes`,
        );
      }
    }
  }
}

/** A segment index read forward to the sequences asked for, in ascending order. */
class SequenceCursor {
  #entries: AsyncIterator<Entry>;
  /** The entry read last and not handed out: above the sequence asked for then. */
  #ahead: Entry | undefined;
  #done = false;

  constructor(entries: AsyncIterable<Entry>) {
    this.#entries = entries[Symbol.asyncIterator]();
  }

  /** The entry at `sequence`, passing those below it; `undefined` when the index has none. */
  async at(sequence: number): Promise<Entry | undefined> {
    while (true) {
      if (this.#ahead === undefined) {
        if (this.#done) return undefined;
        const next = await this.#entries.next();
        if (next.done) {
          this.#done = true;
          return undefined;
        }
        this.#ahead = next.value;
      }
      const entry = this.#ahead;
      if (entry.sequence > sequence) return undefined;
      this.#ahead = undefined;
      if (entry.sequence === sequence) return entry;
    }
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#entries.return?.();
  }
}
