/**
 * One way to start a module of the benchmark as a process of its own: with the repository's
 * configuration, from its root, its one argument as JSON, stdin and stdout piped to this process.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";

/**
 * Runs `module` (an `import.meta.url`) with `--allow-all` and `orders` as its argument (JSON).
 *
 * @example
 * ```ts ignore
 * const child = spawnScript(import.meta.url, { dir: "/tmp/b" });
 * ```
 */
export function spawnScript(
  module: string,
  orders: unknown,
  env?: Record<string, string>,
): Deno.ChildProcess {
  const root = new URL("../..", import.meta.url);
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--config",
      fromFileUrl(new URL("deno.json", root)),
      fromFileUrl(module),
      JSON.stringify(orders),
    ],
    env,
    cwd: fromFileUrl(root),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}
