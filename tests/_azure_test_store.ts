// Test support shared by the Azure driver's tests that run on one Azurite: factories on it (or
// through a proxy in front of it), and numbered records whose payload names them.

import type { ProduceRecord, SegmentStatus, Store } from "../core/mod.ts";
import { AzureStoreFactory, type AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import type { Azurite } from "../drivers/azure/_test_support.ts";
import { collect } from "./_azure_inspect.ts";

const utf8 = new TextEncoder();

/**
 * A factory on `azurite`'s tables under `tablePrefix`, with no background sweep unless
 * `options` asks for one; through `via` (a proxy in front of Azurite) when given.
 */
export function azuriteFactory(
  azurite: Azurite,
  tablePrefix: string,
  options: Partial<AzureStoreFactoryOptions> = {},
  via?: { endpoint(accountName: string): string },
): AzureStoreFactory {
  const connectionString = via
    ? azurite.connectionString.replace(azurite.endpoint, via.endpoint(azurite.accountName))
    : azurite.connectionString;
  return new AzureStoreFactory({
    connectionString,
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
