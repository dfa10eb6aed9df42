/**
 * The peers benchmark's workload, the same for every contestant: the scenarios, the streams, the
 * events (256 bytes of JSON each, built before any clock starts) and the order of the appends.
 *
 * @module
 */

import type { Measured, ScenarioArgs, ScenarioRun } from "../_contestant.ts";
import { CONCURRENT_SEGMENTS, PAYLOAD_BYTES, segmentPayloads } from "../_workload.ts";

/**
 * The scenarios, each run by every contestant in processes of its own: appending everything,
 * reading each stream back, reading everything in global order.
 *
 * @example
 * ```ts ignore
 * const scenario: PeerScenario = "readAll";
 * ```
 */
export type PeerScenario = "append" | "readStreams" | "readAll";

/**
 * Every scenario, in the order the benchmark runs and prints them.
 *
 * @example
 * ```ts ignore
 * for (const scenario of PEER_SCENARIOS) console.log(scenario);
 * ```
 */
export const PEER_SCENARIOS: readonly PeerScenario[] = ["append", "readStreams", "readAll"];

/**
 * How many streams the events go to.
 *
 * @example
 * ```ts ignore
 * console.log(STREAMS); // 8
 * ```
 */
export const STREAMS = CONCURRENT_SEGMENTS;

/**
 * The streams' names (streamkit's segments, Emmett's streams): `stream-0`, `stream-1`, ...,
 * so that Emmett's stream type (the name's part before its first `-`) is `stream`.
 *
 * @example
 * ```ts ignore
 * console.log(STREAM_NAMES[0]); // "stream-0"
 * ```
 */
export const STREAM_NAMES: readonly string[] = Array.from(
  { length: STREAMS },
  (_, s) => `stream-${s}`,
);

/**
 * Events per append: one expected-version check and one transaction (one streamkit chunk,
 * one Emmett `appendToStream`).
 *
 * @example
 * ```ts ignore
 * console.log(BATCH_EVENTS); // 100
 * ```
 */
export const BATCH_EVENTS = 100;

/**
 * How many characters of base64 an event's data holds: `{"b":"` + 248 characters + `"}` makes
 * the 256 bytes of {@linkcode PAYLOAD_BYTES}.
 *
 * @example
 * ```ts ignore
 * console.log(EVENT_DATA_CHARS); // 248
 * ```
 */
export const EVENT_DATA_CHARS = PAYLOAD_BYTES - '{"b":""}'.length;

/**
 * One stream of the workload: its name (one of {@linkcode STREAM_NAMES}) and its events, each
 * as Emmett's event data and as the same 256 bytes of JSON that streamkit stores as the
 * payload.
 *
 * @example
 * ```ts ignore
 * const { name, data, payloads }: PeerStream = peerStreams(1_000, DEFAULT_SEED)[0];
 * ```
 */
export interface PeerStream {
  name: string;
  /** Emmett's event data, in stream order: `JSON.stringify(data[i])` is `payloads[i]`'s text. */
  data: { b: string }[];
  /** streamkit's payloads, in stream order: the UTF-8 JSON of the event, 256 bytes. */
  payloads: Uint8Array[];
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The events of a run of `entries` events over {@linkcode STREAMS} streams (the first streams
 * get one more when it does not divide), from the main benchmark's seeded random bytes: each
 * event is the JSON object `{"b": base64}` of exactly 256 bytes.
 *
 * @example
 * ```ts ignore
 * const streams = peerStreams(100_000, DEFAULT_SEED);
 * console.log(streams[0].payloads[0].length); // 256
 * ```
 */
export function peerStreams(entries: number, seed: number): PeerStream[] {
  const encoder = new TextEncoder();
  const rawBytes = EVENT_DATA_CHARS / 4 * 3;
  return segmentPayloads(entries, STREAMS, seed).map(({ segment, payloads }, s) => {
    const data = payloads.map((payload) => ({ b: base64(payload.subarray(0, rawBytes)) }));
    const encoded = data.map((event) => encoder.encode(JSON.stringify(event)));
    for (const bytes of encoded) {
      if (bytes.length !== PAYLOAD_BYTES) throw new Error(`${segment}: an event is not 256 bytes`);
    }
    return { name: STREAM_NAMES[s], data, payloads: encoded };
  });
}

/**
 * One append of the workload: stream `stream` (an index into the streams), its events from
 * `start` (0-based: the stream's expected version before the append) to `end` (exclusive).
 *
 * @example
 * ```ts ignore
 * for (const { stream, start, end } of appendOrder(streams)) append(stream, start, end);
 * ```
 */
export interface Append {
  stream: number;
  start: number;
  end: number;
}

/**
 * The appends of the workload in the order every contestant makes them: the first batch of
 * each stream in turn, then the second of each, and so on (so that the global order
 * interleaves the streams), batches of {@linkcode BATCH_EVENTS}.
 *
 * @example
 * ```ts ignore
 * console.log(appendOrder(peerStreams(1_600, 1)).length); // 16
 * ```
 */
export function appendOrder(streams: PeerStream[]): Append[] {
  const order: Append[] = [];
  const longest = Math.max(...streams.map((stream) => stream.payloads.length));
  for (let start = 0; start < longest; start += BATCH_EVENTS) {
    streams.forEach(({ payloads }, stream) => {
      if (start < payloads.length) {
        order.push({ stream, start, end: Math.min(start + BATCH_EVENTS, payloads.length) });
      }
    });
  }
  return order;
}

/**
 * The contestant names: streamkit's two drivers, and Emmett's two event stores.
 *
 * @example
 * ```ts ignore
 * const name: PeerContestantName = "emmett-sqlite";
 * ```
 */
export type PeerContestantName = "level" | "memory" | "emmett-sqlite" | "emmett-memory";

/**
 * What a scenario run of the peers benchmark is given: how many events, the seed, and a fresh
 * directory (unused by the in-memory contestants).
 *
 * @example
 * ```ts ignore
 * const args: PeerArgs = { entries: 100_000, seed: DEFAULT_SEED, dir: "/tmp/p" };
 * ```
 */
export type PeerArgs = ScenarioArgs<"level">;

/**
 * A contestant of the peers benchmark. A persistent one (`persistent`) reads in a fresh process
 * what a setup process appended; an in-memory one appends and reads in one process.
 *
 * @example
 * ```ts ignore
 * export const contestant: PeerContestant = { persistent: true, append, readStreams, readAll };
 * ```
 */
export interface PeerContestant {
  persistent: boolean;
  /** Times the appends of the workload on a fresh store; `setup` is never set. */
  append: ScenarioRun<"level">;
  /** Reads each stream back in stream order, one stream after the other. */
  readStreams: ScenarioRun<"level">;
  /** Reads every event in global (append) order. */
  readAll: ScenarioRun<"level">;
}

/**
 * What a peers child prints as its result line after measuring.
 *
 * @example
 * ```ts ignore
 * console.log(result.entriesPerSec);
 * ```
 */
export type PeerResult = {
  contestant: PeerContestantName;
  scenario: PeerScenario;
} & Measured;
