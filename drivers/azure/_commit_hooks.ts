// Fault injection for the driver's own tests: a hook that runs after each step of a commit, so a
// test can "crash" a writer there by throwing. Kept out of the factory's options (mod.ts does not
// export this file): tests register it for one factory instance.

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
