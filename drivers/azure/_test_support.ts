/**
 * What the repository's tests and benchmarks may use of the Azure driver beyond its public
 * entry: the table layout (to inspect and damage rows), the commit-step hook (to kill or delay
 * a writer at a step), and the test infrastructure (Azurite, the fault proxy, the simulator).
 * Not published.
 *
 * @module
 */

export {
  CLOCK_ROW_PREFIX,
  compressForRow,
  entryOf,
  entryRow,
  HEAD_ROW,
  LAYOUT_ROW,
  MARKER_PARTITION,
  markerTimestamp,
  META_PARTITION,
  nameRow,
  type PendingFanout,
  PROPERTY_BYTES,
  type Row,
  segmentInventoryPartition,
  segmentPartition,
  sequenceRow,
  SETTINGS_PARTITION,
  SPACE_INVENTORY_PARTITION,
  spacePartition,
  spacePartitions,
  spaceRow,
  spaceShardOf,
} from "./_entities.ts";
export { type CommitStep, setCommitStepHook, switchOffTableTime } from "./_commit_hooks.ts";
export * from "./_test_azurite.ts";
export * from "./_test_fault_proxy.ts";
export * from "./_test_simulator.ts";
