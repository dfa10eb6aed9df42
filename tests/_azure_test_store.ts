// Test support shared by the Azure driver's tests that run on one Azurite: factories on it (or
// through a proxy in front of it), numbered records whose payload names them, and incompressible
// payloads.

import assert from "node:assert/strict";
import type { ProduceRecord, SegmentStatus, Store } from "../core/mod.ts";
import { collect } from "../core/_test_util.ts";
import { AzureStoreFactory, type AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import type { Azurite } from "../drivers/azure/_test_support.ts";

const utf8 = new TextEncoder();

/** A proxy in front of Azurite (the fault proxy, the simulator). */
export interface AzuriteProxy {
  endpoint(accountName: string): string;
}

/** Azurite's connection string, through `via` when given (checked to go through it). */
export function azuriteConnectionString(azurite: Azurite, via?: AzuriteProxy): string {
  if (!via) return azurite.connectionString;
  const viaProxy = azurite.connectionString.replace(
    azurite.endpoint,
    via.endpoint(azurite.accountName),
  );
  assert.notEqual(viaProxy, azurite.connectionString, "the connection string names no proxy");
  return viaProxy;
}

/**
 * A factory on `azurite`'s tables under `tablePrefix` (the driver's default when `undefined`),
 * with no background sweep unless `options` asks for one; through `via` (a proxy in front of
 * Azurite) when given.
 */
export function azuriteFactory(
  azurite: Azurite,
  tablePrefix: string | undefined,
  options: Partial<AzureStoreFactoryOptions> = {},
  via?: AzuriteProxy,
): AzureStoreFactory {
  return new AzureStoreFactory({
    connectionString: azuriteConnectionString(azurite, via),
    allowInsecureHttp: true,
    tablePrefix,
    sweepIntervalMs: 0,
    ...options,
  });
}

/** The payload of record `sequence` of `segment`: `segment#sequence`. */
export function numberedPayload(segment: string, sequence: number): Uint8Array {
  return utf8.encode(`${segment}#${sequence}`);
}

/** Records `from` .. `from + count - 1` of `segment`. */
export function numberedRecords(segment: string, from: number, count: number): ProduceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    payload: numberedPayload(segment, from + i),
  }));
}

/** Produces `numberedRecords(segment, from, count)` to `space`; the statuses. */
export async function produceNumbered(
  store: Store,
  space: string,
  segment: string,
  from: number,
  count: number,
): Promise<SegmentStatus[]> {
  return await collect(store.produce({ space, segment }, numberedRecords(segment, from, count)));
}

/** Incompressible bytes (getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65_536)));
  }
  return bytes;
}
