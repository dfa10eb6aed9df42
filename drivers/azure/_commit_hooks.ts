// Fault injection for the driver's own tests: a hook that runs after each step of a commit, so a
// test can "crash" a writer there by throwing. It is kept out of the factory's options (mod.ts
// does not export this file): tests register it for one factory instance.

import type { AzureStoreFactory } from "./azure_store_factory.ts";

/** The steps of a commit, in order (`completed`: its head is remembered, the commit is done). */
export type CommitStep =
  | "marker"
  | "commit"
  | "space-rows"
  | "inventory"
  | "marker-deleted"
  | "completed";

/** Runs after a commit step; throwing simulates a crash there. */
export type CommitStepHook = (step: CommitStep) => void | Promise<void>;

const hooks = new WeakMap<AzureStoreFactory, CommitStepHook>();

/** Runs `hook` after each commit step in the stores `factory` opens from now on. */
export function setCommitStepHook(factory: AzureStoreFactory, hook: CommitStepHook): void {
  hooks.set(factory, hook);
}

/** The hook registered for `factory`, if any. */
export function commitStepHookOf(factory: AzureStoreFactory): CommitStepHook | undefined {
  return hooks.get(factory);
}
