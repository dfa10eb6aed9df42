// Within one process, a chunk's space rows wait until every chunk of the process ordered before
// it (timestamp, space, segment, first sequence) is under a marker in the table (see
// PROTOCOL.md I6).

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
