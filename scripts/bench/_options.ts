/**
 * The command line of `scripts/bench.ts`: its flags, checked, with their defaults.
 *
 * @module
 */

import { positiveInteger } from "./_child.ts";
import { SCENARIOS, selects } from "./_scenarios.ts";
import { DEFAULT_SEED } from "./_workload.ts";

/**
 * What a run of the benchmark is asked for.
 *
 * @example
 * ```ts ignore
 * const options: BenchOptions = parseOptions(["--only", "level", "--repeat", "1"]);
 * ```
 */
export interface BenchOptions {
  /** Entries of a level scenario. */
  entries: number;
  /** Entries of an Azure scenario. */
  azureEntries: number;
  /** Entries of the memory scenario. */
  memoryEntries: number;
  /** Runs per contestant: the median counts. */
  repeat: number;
  seed: number;
  /** The `--only` names (scenarios, or leading parts of their names); all when undefined. */
  only: Set<string> | undefined;
}

/** The flags taking a positive integer, and the option each sets. */
const COUNT_FLAGS: Record<string, Exclude<keyof BenchOptions, "only">> = {
  "--entries": "entries",
  "--azure-entries": "azureEntries",
  "--memory-entries": "memoryEntries",
  "--repeat": "repeat",
  "--seed": "seed",
};

const FLAGS = "--entries N, --azure-entries N, --only a,b, --repeat K, --memory-entries N, " +
  "--seed S";

/**
 * What `--help` prints: the flags, their defaults and the scenarios.
 *
 * @example
 * ```ts ignore
 * console.log(USAGE);
 * ```
 */
export const USAGE = `deno task bench [flags] (see scripts/bench/README.md)

  --entries N         entries of a level scenario (default 100,000)
  --azure-entries N   entries of an Azure scenario (default 5,000)
  --memory-entries N  entries of level.memory.consume500k (default 500,000)
  --repeat K          runs per contestant, the median counting (default 3)
  --seed S            the seed of the payloads (default ${DEFAULT_SEED})
  --only a,b          these scenarios only, or those whose names start with a part:
                      --only azure, --only level.produce,azure.consumeSpace

Scenarios: ${SCENARIOS.map((scenario) => scenario.name).join(", ")}`;

/**
 * The options `args` (the command line) give; `undefined` for `--help`. Throws an error naming
 * the flags for an unknown flag, a count that is not a positive integer, or an `--only` name that
 * selects no scenario.
 *
 * @example
 * ```ts ignore
 * const options = parseOptions(Deno.args);
 * ```
 */
export function parseOptions(args: string[]): BenchOptions | undefined {
  const options: BenchOptions = {
    entries: 100_000,
    azureEntries: 5_000,
    memoryEntries: 500_000,
    repeat: 3,
    seed: DEFAULT_SEED,
    only: undefined,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === "--help" || flag === "-h") return undefined;
    if (flag === "--only") {
      options.only = new Set((value ?? "").split(",").filter((name) => name !== ""));
    } else if (Object.hasOwn(COUNT_FLAGS, flag)) {
      options[COUNT_FLAGS[flag]] = positiveInteger(flag, value);
    } else {
      throw new Error(`unknown flag ${flag}; flags: ${FLAGS}`);
    }
  }
  for (const name of options.only ?? []) {
    if (!SCENARIOS.some((scenario) => selects(name, scenario))) {
      throw new Error(
        `--only: no scenario ${name}; scenarios: ${SCENARIOS.map((s) => s.name).join(", ")} ` +
          "(or their leading parts, e.g. azure, level.produce)",
      );
    }
  }
  return options;
}
