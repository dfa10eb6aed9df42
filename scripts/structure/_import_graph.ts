/**
 * The import graph of the repository's TypeScript files, type-only imports included, and the
 * cycles in it.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** A file (repository-relative path) and the files or packages it imports. */
export type ImportGraph = Map<string, string[]>;

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The specifiers `source` imports or re-exports, statically or with `import("…")`. */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const match of code.matchAll(IMPORT)) found.push(match[1] ?? match[2]);
  return found;
}

/**
 * The graph of `files` (repository-relative paths under `root`): relative specifiers resolve to
 * files; `@streamkit/<member>[/<entry>]` resolves through `packages` (specifier → file);
 * anything else (npm packages, `node:` built-ins) is left out.
 */
export function importGraph(
  root: string,
  files: readonly string[],
  packages: ReadonlyMap<string, string>,
): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const targets: string[] = [];
    for (const specifier of importSpecifiers(readFileSync(join(root, file), "utf8"))) {
      if (specifier.startsWith(".")) {
        targets.push(relative(root, normalize(join(root, dirname(file), specifier))));
      } else if (packages.has(specifier)) {
        targets.push(packages.get(specifier)!);
      }
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Every cycle of `graph`, each once, as the files along it (first file repeated at the end). */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}
