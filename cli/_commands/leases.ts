// `streamkit leases`: every lease of the store, one per line, with whether it is held, expired
// or released when listed.

import type { Lease } from "@streamkit/core";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { LineOutput } from "../_output.ts";
import { formatLeaseText } from "../_text_format.ts";
import { formatOption, outputFormat } from "./_format.ts";

/** What a lease is when listed: unexpired, expired, or released (its `expiresAt` 0). */
type LeaseState = "held" | "expired" | "released";

/** The state of `lease` at `now` (Unix ms, by this process's clock, as a store reads it). */
function leaseState(lease: Lease, now: number): LeaseState {
  if (lease.expiresAt === 0) return "released";
  return lease.expiresAt > now ? "held" : "expired";
}

/** A lease as one JSON line: its four fields and its state. */
function formatLeaseJson({ name, owner, token, expiresAt }: Lease, state: LeaseState): string {
  return JSON.stringify({ lease: name, owner, token, expiresAt, state });
}

/** `streamkit leases`. */
export const leasesCommand: Command = {
  name: "leases",
  summary: "list the leases of the store and who holds them",
  usage: "",
  arity: [0, 0],
  description: "Prints every lease ever acquired in the store, one per line, by name in " +
    "ascending UTF-8 byte order: its name, whether it is held, expired or released as this " +
    "process's clock reads it when listed, its owner (the last holder), its fencing token and " +
    "when it expires (ISO time, by the clock of the holder's process). Listing changes " +
    "nothing: a lease belongs to the process holding it.",
  options: {
    format: formatOption(
      'one {"lease": name, "owner", "token", "expiresAt": Unix ms (0: released), "state": ' +
        '"held", "expired" or "released"} object per line',
    ),
  },
  database: "store",
  examples: ["streamkit leases", "streamkit leases --format jsonl"],
  run: ({ values, signal }) => {
    const show = outputFormat(values) === "jsonl" ? formatLeaseJson : formatLeaseText;
    return withSelectedStore(values, { mustExist: true, signal }, async (store) => {
      const output = LineOutput.stdout();
      for await (const lease of store.getLeases({ signal })) {
        await output.line(show(lease, leaseState(lease, Date.now())));
      }
      await output.finish(true);
      return 0;
    });
  },
};
