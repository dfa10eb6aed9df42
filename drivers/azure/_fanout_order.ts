// Within one process, a store's space rows never get ahead of a chunk whose pending marker is
// not in the table yet. Readers in other processes read a space up to just below its oldest
// pending marker; a chunk whose marker is still being written holds nobody back yet. Were a
// later chunk of this process (another segment, a later timestamp) to reach the space index
// first, such a reader could read past the earlier one and never see it. So a chunk's space rows
// wait until every chunk of this process ordered before it is under a marker in the table (its
// own, written; or an earlier chunk's of its segment that covers it, see _commit.ts), or failed.
// Once it is, its rows may come in any order: readers stop below its marker. (The deletion of a
// marker comes after its chunk's rows, so it waits too.)
//
// Across spaces too: a follower of several spaces reads them all up to one bound and merges
// them, so a chunk of one space visible before an earlier-stamped chunk of another would be
// delivered ahead of it. Within a timestamp the order is that of the rows' keys (space, then
// segment, UTF-8 bytes), not the order the chunks were stamped in: a reader that read the
// higher key of a millisecond has passed the lower one. And whoever writes the rows waits: a
// head read of this process that meets the chunk's pending mark completes its fanout too.

import { compareKeys } from "@streamkit/core";

/** A chunk being committed by this process. */
export interface FanoutTicket {
  trxId: string;
  timestamp: number;
  /** UTF-8 bytes of the names, which order chunks of one timestamp. */
  space: Uint8Array;
  segment: Uint8Array;
  /** Orders the chunks of one segment stamped in the same millisecond. */
  firstSequence: number;
  done: Promise<void>;
  finish: () => void;
}

/** What orders a chunk among the others. */
export interface FanoutChunk {
  trxId: string;
  timestamp: number;
  space: string;
  segment: string;
  firstSequence: number;
}

const utf8 = new TextEncoder();

type OrderKey = Pick<FanoutTicket, "timestamp" | "space" | "segment" | "firstSequence">;

function before(a: OrderKey, b: OrderKey): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  const byName = compareKeys(a.space, b.space) || compareKeys(a.segment, b.segment);
  return byName === 0 ? a.firstSequence < b.firstSequence : byName < 0;
}

/** The chunks of this process not yet under a marker, and who must wait for them. */
export class FanoutOrder {
  /** By trx id. */
  #inFlight = new Map<string, FanoutTicket>();

  /**
   * Registers `chunk`; `leave` it once it is under a marker in the table, and in any case when
   * its commit ends.
   */
  enter(chunk: FanoutChunk): FanoutTicket {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => finish = resolve);
    const ticket = {
      trxId: chunk.trxId,
      timestamp: chunk.timestamp,
      space: utf8.encode(chunk.space),
      segment: utf8.encode(chunk.segment),
      firstSequence: chunk.firstSequence,
      done,
      finish,
    };
    this.#inFlight.set(chunk.trxId, ticket);
    return ticket;
  }

  /**
   * Resolves once no chunk ordered before `chunk` is in flight here (its own ticket, if it has
   * one, left when its marker was written: the order is that of its timestamp and names).
   */
  async turnOf(chunk: Omit<FanoutChunk, "trxId">): Promise<void> {
    const key = {
      timestamp: chunk.timestamp,
      space: utf8.encode(chunk.space),
      segment: utf8.encode(chunk.segment),
      firstSequence: chunk.firstSequence,
    };
    for (;;) {
      const earlier = [...this.#inFlight.values()].find((other) => before(other, key));
      if (!earlier) return;
      await earlier.done;
    }
  }

  /** Lets the chunks behind `ticket` go; idempotent. */
  leave(ticket: FanoutTicket): void {
    this.#inFlight.delete(ticket.trxId);
    ticket.finish();
  }
}
