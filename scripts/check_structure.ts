/**
 * `deno task check:structure`: the layout rules the code keeps, checked on every CI run. No
 * library file over 600 lines; no import cycle (type-only imports included) in core, drivers
 * and the command; drivers reach core only through its public entries, and core no driver;
 * tests, the command and scripts reach drivers through their public entry or their unpublished
 * `_test_*.ts` modules; scripts import nothing from `tests/`.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { findCycles, type ImportGraph, importGraph } from "./structure/_import_graph.ts";

const MAX_LIBRARY_LINES = 600;
const root = fileURLToPath(new URL("..", import.meta.url));

function tsFiles(dir: string): string[] {
  const files: string[] = [];
  for (const item of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${item.name}`;
    if (item.isDirectory()) {
      if (item.name !== "node_modules" && item.name !== "testdata") files.push(...tsFiles(path));
    } else if (item.name.endsWith(".ts")) {
      files.push(path);
    }
  }
  return files;
}

/** `@streamkit/<member>` and its subpath entries → the files they name. */
function workspacePackages(): Map<string, string> {
  const workspace = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const packages = new Map<string, string>();
  for (const member of workspace.workspace as string[]) {
    const dir = member.replace(/^\.\//, "");
    const config = JSON.parse(readFileSync(join(root, dir, "deno.json"), "utf8"));
    for (const [entry, target] of Object.entries(config.exports as Record<string, string>)) {
      const specifier = entry === "." ? config.name : `${config.name}/${entry.slice(2)}`;
      packages.set(specifier, `${dir}/${(target as string).replace(/^\.\//, "")}`);
    }
  }
  return packages;
}

const isLibrary = (file: string) =>
  /^(core|drivers|cli)\//.test(file) && !/_test\.ts$/.test(file) &&
  !/\/_test_[^/]*\.ts$/.test(file);
const driverOf = (file: string) => /^drivers\/([^/]+)\//.exec(file)?.[1];

/** What `graph` breaks of the rules, one line each. */
function problemsOf(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    if (isLibrary(file)) {
      const lines = readFileSync(join(root, file), "utf8").split("\n").length - 1;
      if (lines > MAX_LIBRARY_LINES) {
        problems.push(`${file}: ${lines} lines, over ${MAX_LIBRARY_LINES}: split it by concern`);
      }
    }
    for (const target of targets) {
      const importer = driverOf(file);
      const imported = driverOf(target);
      if (file.startsWith("core/") && !target.startsWith("core/")) {
        problems.push(`${file} imports ${target}: core imports no driver or command`);
      }
      if (importer && target.startsWith("core/") && !/^core\/(mod|driver|zstd)\.ts$/.test(target)) {
        if (!/\/_test_[^/]*\.ts$|_test\.ts$/.test(file) || !/^core\/_test_/.test(target)) {
          problems.push(`${file} imports ${target}: drivers use core's public entries only`);
        }
      }
      if (
        imported && imported !== importer && /\/_[^/]*\.ts$/.test(target) &&
        !/\/_test_[^/]*\.ts$/.test(target)
      ) {
        problems.push(
          `${file} imports ${target}: use the driver's mod.ts or its _test_*.ts modules`,
        );
      }
      if (file.startsWith("scripts/") && target.startsWith("tests/")) {
        problems.push(`${file} imports ${target}: scripts import nothing from tests/`);
      }
    }
  }
  const library = new Map(
    [...graph].filter(([file]) => /^(core|drivers|cli)\//.test(file)),
  );
  for (const cycle of findCycles(library)) problems.push(`import cycle: ${cycle.join(" → ")}`);
  return problems;
}

const files = ["core", "drivers", "cli", "tests", "scripts"].flatMap(tsFiles);
const problems = problemsOf(importGraph(root, files, workspacePackages()));
for (const problem of problems) console.error(problem);
console.log(
  `structure: ${files.length} files, ${problems.length} problem${problems.length === 1 ? "" : "s"}`,
);
if (problems.length > 0) process.exit(1);
