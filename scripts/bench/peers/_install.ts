/**
 * Installs the peers benchmark's own dependencies into `scripts/bench/peers/node_modules` when
 * they are missing or stale (see `scripts/bench/README.md`); a stamp left after a complete
 * install skips the next.
 *
 * @module
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath as fromFileUrl } from "node:url";

/** The peers benchmark's package directory. */
const PACKAGE_DIR = fromFileUrl(new URL(".", import.meta.url));
const STAMP = `${PACKAGE_DIR}node_modules/.streamkit-bench-peers-installed`;

async function manifestHash(): Promise<string> {
  const files = ["package.json", "package-lock.json"].map((name) =>
    readFileSync(`${PACKAGE_DIR}${name}`, "utf8")
  );
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(files.join("\0")));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function npm(args: string[]): Promise<void> {
  console.error(`bench:peers: npm ${args.join(" ")} (in ${PACKAGE_DIR})`);
  const { code } = await new Deno.Command("npm", {
    args,
    cwd: PACKAGE_DIR,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`npm ${args.join(" ")}: exit code ${code}`);
}

/**
 * Installs the dependencies unless the stamp says they are in place.
 *
 * @example
 * ```ts ignore
 * await ensureInstalled();
 * ```
 */
export async function ensureInstalled(): Promise<void> {
  const hash = await manifestHash();
  if (existsSync(STAMP) && readFileSync(STAMP, "utf8") === hash) return;
  const started = performance.now();
  await npm(["ci", "--ignore-scripts", "--no-audit", "--no-fund"]);
  await npm(["rebuild", "sqlite3", "--ignore-scripts=false"]);
  writeFileSync(STAMP, hash);
  console.error(
    `bench:peers: dependencies installed in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

/**
 * The installed version of package `name` of the peers benchmark, or `?`.
 *
 * @example
 * ```ts ignore
 * console.log(installedVersion("sqlite3")); // "5.1.7"
 * ```
 */
export function installedVersion(name: string): string {
  try {
    const manifest = readFileSync(
      `${PACKAGE_DIR}node_modules/${name}/package.json`,
      "utf8",
    );
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return "?";
  }
}
