/**
 * `deno task build:npm`: every workspace member compiled with `tsc` into `dist/npm/<package>/`
 * with a generated `package.json`, its README and the license, and packed into
 * `dist/npm/<package>.tgz`; a member's `deno.json` `bin` becomes the package's `bin`.
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isNative } from "./_native_packages.ts";

interface MemberConfig {
  name: string;
  version: string;
  exports: Record<string, string>;
  /** Commands the npm package installs: name → the member's module that runs it. */
  bin?: Record<string, string>;
  imports?: Record<string, string>;
  publish?: { exclude?: string[] };
}

interface Member {
  /** The member's folder, relative to the repository root (`core`, `drivers/level`). */
  folder: string;
  config: MemberConfig;
  /** The package folder under `dist/npm/`. */
  outDir: string;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const distRoot = join(root, "dist", "npm");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const textDecoder = new TextDecoder();

function log(message: string): void {
  console.log(`build:npm: ${message}`);
}

async function run(command: string, args: string[], cwd = root): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const output = textDecoder.decode(stdout) + textDecoder.decode(stderr);
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${code}):\n${output}`);
  return output;
}

async function readMembers(): Promise<Member[]> {
  const workspace = JSON.parse(await Deno.readTextFile(join(root, "deno.json")))
    .workspace as string[];
  return await Promise.all(workspace.map(async (entry) => {
    const folder = entry.replace(/^\.\//, "");
    const config = JSON.parse(
      await Deno.readTextFile(join(root, folder, "deno.json")),
    ) as MemberConfig;
    return { folder, config, outDir: join(distRoot, config.name.split("/")[1]) };
  }));
}

/** The member's library sources: every `.ts` file but tests and test helpers. */
async function sourcesOf(folder: string): Promise<string[]> {
  const sources: string[] = [];
  const walk = async (directory: string) => {
    for await (const item of Deno.readDir(directory)) {
      const path = join(directory, item.name);
      if (item.isDirectory) await walk(path);
      else if (item.name.endsWith(".ts") && !/_test\.ts$|^_test_/.test(item.name)) {
        sources.push(path);
      }
    }
  };
  await walk(join(root, folder));
  return sources.sort();
}

/** `npm:name@range` of the member's import map as npm dependencies. */
function npmDependencies(config: MemberConfig): Record<string, string> {
  const dependencies: Record<string, string> = {};
  for (const specifier of Object.values(config.imports ?? {})) {
    // A subpath (`npm:hono@^4/cors`) is of the same package and range.
    const match = /^npm:(@?[^@]+)@([^/]+)(?:\/.*)?$/.exec(specifier);
    if (!match) throw new Error(`${config.name}: import ${specifier} is not an npm: specifier`);
    dependencies[match[1]] = match[2];
  }
  return dependencies;
}

// Import and export statements only: JSDoc examples mention packages too.
const IMPORT_STATEMENT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/g;

/** The package a bare specifier names: `zstd-napi/binding.js` → `zstd-napi`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The specifiers of the import and export statements of `file`. */
async function importsOf(file: string): Promise<string[]> {
  return [...(await Deno.readTextFile(file)).matchAll(IMPORT_STATEMENT)].map((match) => match[1]);
}

/**
 * The bare specifiers (packages and their subpaths) imported by the module graph of `entry`,
 * following relative imports.
 */
async function bareImportsOf(entry: string): Promise<Set<string>> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of await importsOf(file)) {
      if (specifier.startsWith(".")) await visit(join(dirname(file), specifier));
      else if (!specifier.startsWith("node:")) bare.add(specifier);
    }
  };
  await visit(entry);
  return bare;
}

/**
 * The member's npm dependencies, split by need: what the main entry's graph imports is a
 * dependency, and so is any package without a native addon; a native one only another entry
 * point imports (`@streamkit/core/zstd` and its `zstd-napi`) is an optional peer, so installing
 * the package builds no native addon for users who never import that entry. A member that imports a sibling's entry depends on the sibling
 * and on the packages that entry's graph imports.
 */
async function dependenciesOf(member: Member, sources: string[], members: Member[]): Promise<{
  dependencies: Record<string, string>;
  optionalPeers: Record<string, string>;
}> {
  const ranges = npmDependencies(member.config);
  const mainImports = await bareImportsOf(join(root, member.folder, member.config.exports["."]));
  const dependencies: Record<string, string> = {};
  const optionalPeers: Record<string, string> = {};
  for (const [name, range] of Object.entries(ranges)) {
    if ([...mainImports].some((specifier) => packageOf(specifier) === name) || !isNative(name)) {
      dependencies[name] = range;
    } else {
      optionalPeers[name] = range;
    }
  }
  const imported = new Set((await Promise.all(sources.map(importsOf))).flat());
  for (const specifier of imported) {
    const sibling = members.find((other) =>
      other !== member && packageOf(specifier) === other.config.name
    );
    if (!sibling) continue;
    dependencies[sibling.config.name] = `^${sibling.config.version}`;
    const subpath = specifier === sibling.config.name
      ? "."
      : `./${specifier.slice(sibling.config.name.length + 1)}`;
    const target = sibling.config.exports[subpath];
    if (!target) throw new Error(`${member.config.name} imports ${specifier}: no such export`);
    const siblingRanges = npmDependencies(sibling.config);
    for (const needed of await bareImportsOf(join(root, sibling.folder, target))) {
      const name = packageOf(needed);
      if (siblingRanges[name]) dependencies[name] = siblingRanges[name];
    }
  }
  return { dependencies, optionalPeers };
}

function entryOf(path: string): { types: string; default: string } {
  const base = path.replace(/^\.\//, "./").replace(/\.ts$/, "");
  return { types: `${base}.d.ts`, default: `${base}.js` };
}

async function compile(member: Member, sources: string[], members: Member[]): Promise<void> {
  const paths: Record<string, string[]> = {};
  for (const sibling of members) {
    if (sibling === member) continue;
    for (const [subpath, target] of Object.entries(sibling.config.exports)) {
      const specifier = subpath === "."
        ? sibling.config.name
        : `${sibling.config.name}/${subpath.slice(2)}`;
      paths[specifier] = [join(sibling.outDir, target.replace(/\.ts$/, ".d.ts"))];
    }
  }
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2024", "ESNext.Disposable"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      types: ["node"],
      typeRoots: [join(root, "node_modules", "@types")],
      strict: true,
      declaration: true,
      declarationMap: true,
      sourceMap: true,
      inlineSources: true,
      rewriteRelativeImportExtensions: true,
      skipLibCheck: true,
      rootDir: join(root, member.folder),
      outDir: member.outDir,
      paths,
    },
    files: sources,
  };
  const tsconfigPath = join(distRoot, `tsconfig.${member.config.name.split("/")[1]}.json`);
  await Deno.writeTextFile(tsconfigPath, JSON.stringify(tsconfig, null, 2));
  await run("node", [tsc, "--project", tsconfigPath]);
}

async function writePackageJson(
  member: Member,
  sources: string[],
  members: Member[],
): Promise<void> {
  const exports: Record<string, { types: string; default: string }> = {};
  for (const [subpath, target] of Object.entries(member.config.exports)) {
    exports[subpath] = entryOf(target);
  }
  const memberReadme = await Deno.readTextFile(join(root, member.folder, "README.md"));
  const { dependencies, optionalPeers } = await dependenciesOf(member, sources, members);
  const bin = member.config.bin && Object.fromEntries(
    Object.entries(member.config.bin).map(([command, path]) => [command, entryOf(path).default]),
  );
  const description = memberReadme.split("\n").find((line) => line.trim() && !line.startsWith("#"))
    ?.trim();
  const packageJson = {
    name: member.config.name,
    version: member.config.version,
    description,
    license: "MIT",
    type: "module",
    exports,
    main: exports["."].default,
    types: exports["."].types,
    files: ["**/*.js", "**/*.d.ts", "**/*.map", "README.md", "LICENSE"],
    ...(bin === undefined ? {} : { bin }),
    engines: { node: ">=20" },
    // A command's module runs when it is loaded.
    sideEffects: bin === undefined ? false : Object.values(bin),
    dependencies,
    ...(Object.keys(optionalPeers).length === 0 ? {} : {
      peerDependencies: optionalPeers,
      peerDependenciesMeta: Object.fromEntries(
        Object.keys(optionalPeers).map((name) => [name, { optional: true }]),
      ),
    }),
  };
  await Deno.writeTextFile(
    join(member.outDir, "package.json"),
    JSON.stringify(packageJson, null, 2) + "\n",
  );
  await Deno.copyFile(join(root, member.folder, "README.md"), join(member.outDir, "README.md"));
  await Deno.copyFile(join(root, "LICENSE"), join(member.outDir, "LICENSE"));
}

/**
 * Makes each command's compiled module executable by Node: a `#!` line (its source map shifted
 * by that line) and the mode.
 */
async function makeCommandsExecutable(member: Member): Promise<void> {
  for (const path of Object.values(member.config.bin ?? {})) {
    const file = join(member.outDir, entryOf(path).default);
    const code = await Deno.readTextFile(file);
    if (!code.startsWith("#!")) {
      await Deno.writeTextFile(file, `#!/usr/bin/env node\n${code}`);
      const map = JSON.parse(await Deno.readTextFile(`${file}.map`));
      map.mappings = `;${map.mappings}`;
      await Deno.writeTextFile(`${file}.map`, JSON.stringify(map));
    }
    await Deno.chmod(file, 0o755);
  }
}

if (import.meta.main) {
  await Deno.remove(distRoot, { recursive: true }).catch(() => {});
  await Deno.mkdir(distRoot, { recursive: true });
  const members = await readMembers();
  // Core first: the drivers compile against its built declarations. The others keep the
  // workspace's order, which lists the CLI after the drivers it imports.
  members.sort((a, b) => (a.folder === "core" ? -1 : b.folder === "core" ? 1 : 0));
  for (const member of members) {
    const sources = await sourcesOf(member.folder);
    log(`${member.config.name}@${member.config.version}: compiling ${sources.length} files`);
    await compile(member, sources, members);
    await writePackageJson(member, sources, members);
    await makeCommandsExecutable(member);
    const packed = await run(
      "npm",
      ["pack", "--silent", "--pack-destination", distRoot],
      member.outDir,
    );
    log(
      `${member.config.name}: ${relative(root, member.outDir)} packed as dist/npm/${packed.trim()}`,
    );
  }
}
