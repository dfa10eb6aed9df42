// Hooks for the driver's own tests, kept out of the factory's options (mod.ts does not export
// this file): a hook after each step of a commit (a test "crashes" a writer there by throwing),
// and the switch that turns the table's time off.

import type { BackendStoreFactory } from "@streamkit/core/driver";

/** The steps of a commit, in order (`completed`: the work behind the commit is done). */
export type CommitStep =
  | "marker"
  | "commit"
  | "space-rows"
  | "inventory"
  | "marker-deleted"
  | "completed";

/** Runs after a commit step; throwing simulates a crash there. */
export type CommitStepHook = (step: CommitStep) => void | Promise<void>;

/** By factory, typed by its base class: the factory's module imports this one. */
const hooks = new WeakMap<BackendStoreFactory, CommitStepHook>();

/** Runs `hook` after each commit step in the stores `factory` opens from now on. */
export function setCommitStepHook(factory: BackendStoreFactory, hook: CommitStepHook): void {
  hooks.set(factory, hook);
}

/** The hook registered for `factory`, if any. */
export function commitStepHookOf(factory: BackendStoreFactory): CommitStepHook | undefined {
  return hooks.get(factory);
}

/** Factories whose stores keep time by a clock of their own instead of the table's. */
const ownClocks = new WeakMap<BackendStoreFactory, () => number>();

/**
 * Makes the stores `factory` opens from now on keep time by `now` (this process's clock)
 * instead of the table's (PROTOCOL.md I6, I13): chunks stamped by it, read before their marker
 * is written, and space reads bounded by it. Only to show that the tests of one timeline for
 * many processes fail without the table's time.
 */
export function switchOffTableTime(factory: BackendStoreFactory, now: () => number): void {
  ownClocks.set(factory, now);
}

/** The clock `factory`'s stores keep time by, when not the table's (I6, I13). */
export function ownClockOf(factory: BackendStoreFactory): (() => number) | undefined {
  return ownClocks.get(factory);
}
