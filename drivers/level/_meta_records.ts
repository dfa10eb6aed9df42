// Checkpoint and lease records in the store's LevelDB database, with the latest of each kept in
// memory: one process owns the database, so what it last read or wrote is what is stored, and a
// processor's save needs no read.

import {
  concatBytes,
  equalBytes,
  type MetaKind,
  type MetaRecord,
  type MetaWrite,
} from "@streamkit/core/driver";
import { encodeFirst, StreamkitError } from "@streamkit/core";
import type { ClassicLevel } from "classic-level";

const utf8 = new TextEncoder();
const NO_VALUE = new Uint8Array(0);
/** Records kept in memory; past this, the oldest read or written is dropped (and read again). */
const CACHED_RECORDS = 4_096;

/** Checkpoints and leases: `META,<kind>,<name>`, beside the data's `DAT` and `INV` keys. */
export const metaPrefix = (kind: MetaKind): Uint8Array => encodeFirst("META", kind);
const metaKey = (kind: MetaKind, name: string) => concatBytes(metaPrefix(kind), utf8.encode(name));

/** The records of one database: reads served from memory once seen, writes one at a time. */
export class MetaRecords {
  #db: ClassicLevel<Uint8Array, Uint8Array>;
  /** `kind` NUL `name` → its record, `null` when there is none. */
  #cache = new Map<string, MetaRecord | null>();
  /** Counts writes, so a read that a write overtook does not cache what it read. */
  #writes = 0;
  /** `put` reads then writes: one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(db: ClassicLevel<Uint8Array, Uint8Array>) {
    this.#db = db;
  }

  /** A record's stored value: its version (a float64) then its bytes. */
  async get(kind: MetaKind, name: string): Promise<MetaRecord | undefined> {
    const cacheKey = `${kind}\0${name}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const writes = this.#writes;
    const stored = await this.#db.get(metaKey(kind, name));
    let record: MetaRecord | undefined;
    if (stored !== undefined) {
      if (stored.byteLength < 8) {
        throw new StreamkitError("CorruptData", `${kind} ${JSON.stringify(name)}: record is cut`);
      }
      const version = new DataView(stored.buffer, stored.byteOffset, 8).getFloat64(0);
      record = { value: new Uint8Array(stored.subarray(8)), version: String(version) };
    }
    if (writes === this.#writes) this.#remember(cacheKey, record);
    return record;
  }

  /** `StoreBackend.putMeta`: all of `writes` or none, each conditional on its version. */
  put(writes: readonly MetaWrite[]): Promise<boolean> {
    const written = this.#queue.then(async () => {
      const records = await Promise.all(writes.map(({ kind, name }) => this.get(kind, name)));
      if (writes.some(({ expected }, i) => expected !== records[i]?.version)) return false;
      // Lease changes are synced: a token must never be handed out twice, even after a machine
      // crash. A checkpoint (with its lease rewritten as it was) is not: losing the last ones to
      // a machine crash only hands their batches again, and a sync per batch would cost more
      // than the batch. A process crash loses nothing either way.
      const sync = writes.some(({ kind, value }, i) =>
        kind === "lease" && !equalBytes(value, records[i]?.value ?? NO_VALUE)
      );
      const batch = this.#db.batch();
      const stored = writes.map(({ kind, name, value }, i) => {
        const version = Number(records[i]?.version ?? 0) + 1;
        const bytes = new Uint8Array(8 + value.byteLength);
        new DataView(bytes.buffer).setFloat64(0, version);
        bytes.set(value, 8);
        batch.put(metaKey(kind, name), bytes);
        return {
          key: `${kind}\0${name}`,
          record: { value: value.slice(), version: String(version) },
        };
      });
      // Counted before and after: a read begun meanwhile may have seen either side of it.
      this.#writes++;
      try {
        await batch.write({ sync });
      } catch (error) {
        for (const { key } of stored) this.#cache.delete(key);
        throw error;
      } finally {
        this.#writes++;
      }
      for (const { key, record } of stored) this.#remember(key, record);
      return true;
    });
    this.#queue = written.catch(() => {});
    return written;
  }

  #remember(key: string, record: MetaRecord | undefined): void {
    this.#cache.delete(key);
    if (this.#cache.size >= CACHED_RECORDS) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(key, record ?? null);
  }
}
