// Within one process, a space's rows appear in timestamp order. Readers in other processes
// read a space up to just below its oldest pending marker; a chunk whose marker is still being
// written holds nobody back yet. Were a later chunk of this process (another segment, a later
// timestamp) to reach the space index first, such a reader could read past the earlier one and
// never see it. So a chunk's space rows wait until every chunk of this process stamped before
// it in that space has finished (fanned out, or failed).

/** A chunk in the queue of its space. */
export interface FanoutTicket {
  timestamp: number;
  /** Breaks ties between chunks of one timestamp: the first to enter goes first. */
  order: number;
  done: Promise<void>;
  finish: () => void;
}

function before(a: FanoutTicket, b: FanoutTicket): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.order < b.order);
}

/** The chunks of this process being committed, by space, in the order their rows may appear. */
export class FanoutOrder {
  #inFlight = new Map<string, Set<FanoutTicket>>();
  #entered = 0;

  /**
   * Registers a chunk of `space` stamped `timestamp`; `leave` it once its space rows are written,
   * and in any case when its commit ends.
   */
  enter(space: string, timestamp: number): FanoutTicket {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => finish = resolve);
    const ticket = { timestamp, order: this.#entered++, done, finish };
    let tickets = this.#inFlight.get(space);
    if (!tickets) this.#inFlight.set(space, tickets = new Set());
    tickets.add(ticket);
    return ticket;
  }

  /** Resolves once every chunk of `space` ahead of `ticket` has left. */
  async turnOf(space: string, ticket: FanoutTicket): Promise<void> {
    for (const other of [...this.#inFlight.get(space) ?? []]) {
      if (before(other, ticket)) await other.done;
    }
  }

  /** Lets the chunks behind `ticket` go; idempotent. */
  leave(space: string, ticket: FanoutTicket): void {
    const tickets = this.#inFlight.get(space);
    tickets?.delete(ticket);
    if (tickets?.size === 0) this.#inFlight.delete(space);
    ticket.finish();
  }
}
