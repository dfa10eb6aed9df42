// The `--format text` output for people: one line per entry, checkpoint or lease, names and
// payloads readable where they are text, escaped where they would mislead (spaces, controls,
// invisible characters), binary payloads in base64.

import type { Checkpoint, Entry, Lease, SegmentStatus } from "@streamkit/core";
import { encodeBase64 } from "./_base64.ts";
import { formatNumberOf } from "./_progress.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// Characters that would hide or blur a value in a line: controls, format characters (U+FEFF,
// bidi marks), separators, and whitespace other than the plain space.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const HIDDEN_ALL = new RegExp(HIDDEN.source, "gu");
// Controls that do not occur in text: a payload holding them is shown as binary.
const BINARY = /(?![\t\n\r])\p{Cc}/u;
const UNCLEAR = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\s"]/u;

/** JSON-quoted, with the hidden characters JSON leaves as they are escaped too. */
function jsonQuoted(text: string): string {
  return JSON.stringify(text).replace(
    HIDDEN_ALL,
    (char) =>
      char.split("").map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
        .join(""),
  );
}

/**
 * A name or metadata text as it is, or JSON-quoted (invisible characters escaped) when it is
 * empty or would blur the line.
 */
export function showText(text: string): string {
  return text === "" || UNCLEAR.test(text) ? jsonQuoted(text) : text;
}

/**
 * A payload as text when it is UTF-8 text, JSON-quoted when it holds line breaks, tabs or
 * invisible characters, and `base64:...` when it is binary (not UTF-8, or with control
 * characters other than tab and line breaks).
 */
export function showPayload(payload: Uint8Array): string {
  let text: string | undefined;
  try {
    text = strictUtf8.decode(payload);
  } catch {
    // not UTF-8: binary
  }
  if (text === undefined || BINARY.test(text)) return `base64:${encodeBase64(payload)}`;
  return text === "" || HIDDEN.test(text) ? jsonQuoted(text) : text;
}

/** `2024-06-01T10:00:00.123Z` for Unix milliseconds. */
function isoTime(timestamp: number): string {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? String(timestamp) : date.toISOString();
}

/**
 * One entry as one line: time, space, segment, #sequence, trx number, metadata in brackets when
 * there is any, payload.
 */
export function formatEntryText(entry: Entry): string {
  const metadata = Object.entries(entry.metadata)
    .map(([key, value]) => `${showText(key)}=${showText(value)}`);
  return [
    isoTime(entry.timestamp),
    showText(entry.space),
    showText(entry.segment),
    `#${entry.sequence}`,
    `trx ${entry.trx.number}`,
    ...(metadata.length === 0 ? [] : [`[${metadata.join(" ")}]`]),
    showPayload(entry.payload),
  ].join(" ");
}

/** A segment's status as `field: value` lines. */
export function formatStatusText(status: SegmentStatus): string[] {
  return [
    `space: ${showText(status.space)}`,
    `segment: ${showText(status.segment)}`,
    `firstSequence: ${status.firstSequence}`,
    `firstTimestamp: ${status.firstTimestamp} (${isoTime(status.firstTimestamp)})`,
    `lastSequence: ${status.lastSequence}`,
    `lastTimestamp: ${status.lastTimestamp} (${isoTime(status.lastTimestamp)})`,
  ];
}

/**
 * One checkpoint as one line: name, v<version>, updatedAt, its size, and its value as a payload
 * is shown (text, or `base64:...`).
 */
export function formatCheckpointText(checkpoint: Checkpoint): string {
  return [
    showText(checkpoint.name),
    `v${checkpoint.version}`,
    isoTime(checkpoint.updatedAt),
    formatNumberOf(checkpoint.value.byteLength, "byte"),
    showPayload(checkpoint.value),
  ].join(" ");
}

/** One lease as one line: name, its `state` (held, expired, released), owner, token, expiresAt. */
export function formatLeaseText(lease: Lease, state: string): string {
  return [
    showText(lease.name),
    state,
    showText(lease.owner),
    `token ${lease.token}`,
    `expiresAt ${isoTime(lease.expiresAt)}`,
  ].join(" ");
}
