// What a kill test knows of each segment: what the children announced and were acknowledged
// (folded in from their output) and what the audits have verified (_kill_audit.ts).

import assert from "node:assert/strict";
import type { Entry, SegmentStatus } from "../core/mod.ts";
import { KILL_SEGMENTS, KILL_SPACES, type Line, where } from "./_kill_protocol.ts";

/** What the audits have verified of one segment so far. */
export interface Audited {
  /** The last verified sequence (the end of a verified chunk); 0 for none. */
  end: number;
  trxNumber: number;
  timestamp: number;
  firstTimestamp: number | undefined;
  trxIds: Set<string>;
  last: Entry | undefined;
}

/** One segment of the kill spaces. */
export interface Track {
  space: string;
  segment: string;
  /** The chunks the announced produces are cut into: start sequence → size. */
  predicted: Map<number, number>;
  /** The audited end when this round's child started: it resumes after it. */
  roundStart: number;
  /** The end of the last announced produce, for the continuity of intents. */
  announcedEnd: number;
  /** The highest acknowledged sequence over all rounds. */
  maxAcked: number;
  /** This round's acknowledged statuses, by last sequence: each must end a stored chunk. */
  acks: Map<number, SegmentStatus>;
  /** This round's last intent. */
  lastIntent: { from: number; count: number } | undefined;
  audited: Audited;
}

export function freshAudited(): Audited {
  return {
    end: 0,
    trxNumber: 0,
    timestamp: -Infinity,
    firstTimestamp: undefined,
    trxIds: new Set(),
    last: undefined,
  };
}

/** The key of a segment in a map of tracks. */
export function trackKey(space: string, segment: string): string {
  return `${space}\u0000${segment}`;
}

/** A track for every segment of KILL_SPACES × KILL_SEGMENTS, nothing known yet. */
export function newTracks(): Map<string, Track> {
  const tracks = new Map<string, Track>();
  for (const space of KILL_SPACES) {
    for (const segment of KILL_SEGMENTS) {
      tracks.set(trackKey(space, segment), {
        space,
        segment,
        predicted: new Map(),
        roundStart: 0,
        announcedEnd: 0,
        maxAcked: 0,
        acks: new Map(),
        lastIntent: undefined,
        audited: freshAudited(),
      });
    }
  }
  return tracks;
}

/**
 * Records an announced produce in `predicted` (chunk start → size): drops predictions it
 * replaces, adds the chunks the engine cuts it into (at most `maxChunk` records each).
 */
function announce(
  predicted: Map<number, number>,
  from: number,
  count: number,
  maxChunk: number,
): void {
  for (const start of predicted.keys()) if (start >= from) predicted.delete(start);
  for (let start = from; start < from + count; start += maxChunk) {
    predicted.set(start, Math.min(maxChunk, from + count - start));
  }
}

/**
 * Folds one child's output into the tracks, checking its continuity; returns how many entries
 * were newly acknowledged.
 */
export function absorb(
  lines: readonly Line[],
  tracks: Map<string, Track>,
  maxChunk: number,
): number {
  let acked = 0;
  for (const track of tracks.values()) {
    track.acks.clear();
    track.lastIntent = undefined;
    // The child resumes from the head the last audit found.
    track.roundStart = track.audited.end;
    track.announcedEnd = track.audited.end;
  }
  for (const line of lines) {
    if (line.type === "ready") continue;
    const track = tracks.get(trackKey(line.space, line.segment));
    assert.ok(track !== undefined, `child wrote to unknown ${where(line.space, line.segment)}`);
    if (line.type === "intent") {
      assert.equal(
        line.from,
        track.announcedEnd + 1,
        `${where(line.space, line.segment)}: produce does not continue the head`,
      );
      announce(track.predicted, line.from, line.count, maxChunk);
      track.announcedEnd = line.from + line.count - 1;
      track.lastIntent = { from: line.from, count: line.count };
    } else {
      const { type: _type, ...status } = line;
      assert.ok(
        status.lastSequence > track.maxAcked,
        `${where(line.space, line.segment)}: ack order`,
      );
      assert.ok(
        status.lastSequence <= track.announcedEnd,
        `${where(line.space, line.segment)}: ack beyond produce`,
      );
      acked += status.lastSequence - Math.max(track.maxAcked, track.roundStart);
      track.maxAcked = status.lastSequence;
      track.acks.set(status.lastSequence, status);
    }
  }
  return acked;
}
