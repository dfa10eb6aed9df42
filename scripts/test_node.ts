/**
 * `deno task test:node` (after `deno task build:npm`): lints the packed npm packages, installs
 * them into a fresh project in `dist/node-test/` and runs `node --test` there: the conformance
 * suite, the README's Node examples and the `streamkit` command.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startAzurite } from "../drivers/azure/_test_azurite.ts";
import { isNative } from "./_native_packages.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const distRoot = join(root, "dist", "npm");
const project = join(root, "dist", "node-test");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
/** The README's Node examples, by the marker before each, and the file each is run from. */
const README_EXAMPLES = [
  { marker: "node-example", file: "readme_example.mjs" },
  { marker: "node-follow-example", file: "readme_follow_example.mjs" },
  { marker: "node-serve-example", file: "readme_serve_example.mjs" },
  { marker: "node-processor-example", file: "readme_processor_example.mjs" },
];

async function run(
  command: string,
  args: string[],
  cwd = root,
  env: Record<string, string> = {},
): Promise<void> {
  console.log(`test:node: ${basename(command)} ${args.join(" ")}`);
  const { code } = await new Deno.Command(command, {
    args,
    cwd,
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) {
    throw new Error(`${basename(command)} ${args.join(" ")} failed with exit code ${code}`);
  }
}

const tarballs = [...Deno.readDirSync(distRoot)].filter((item) => item.name.endsWith(".tgz"))
  .map((item) => item.name).sort();
if (tarballs.length === 0) {
  throw new Error("no packages in dist/npm: run `deno task build:npm` first");
}

/** A tarball holds what a user needs: compiled code, declarations, maps, README, license. */
async function checkTarballContents(tarball: string): Promise<void> {
  const { stdout } = await new Deno.Command("tar", {
    args: ["tzf", join(distRoot, tarball)],
    stdout: "piped",
  })
    .output();
  const files = new TextDecoder().decode(stdout).trim().split("\n");
  const allowed = /^package\/(.+\.(js|d\.ts|js\.map|d\.ts\.map)|package\.json|README\.md|LICENSE)$/;
  const unexpected = files.filter((file) => !allowed.test(file) || /_test[._]/.test(file));
  if (unexpected.length > 0) {
    throw new Error(`${tarball} holds unexpected files: ${unexpected.join(", ")}`);
  }
  console.log(`test:node: ${tarball}: ${files.length} files, all expected`);
}

/**
 * Core's main entry and the memory driver are pure TypeScript: installing them builds no
 * native addon. Core's `zstd-napi` (behind `@streamkit/core/zstd`) is only an optional peer.
 */
async function checkNoNativeDependencies(packageName: string): Promise<void> {
  const manifest = JSON.parse(await Deno.readTextFile(join(distRoot, packageName, "package.json")));
  const native = Object.keys(manifest.dependencies ?? {}).filter(isNative);
  if (native.length > 0) {
    throw new Error(`@streamkit/${packageName} depends on native packages: ${native.join(", ")}`);
  }
  const optional = Object.keys(manifest.peerDependencies ?? {});
  if (optional.some((name) => manifest.peerDependenciesMeta?.[name]?.optional !== true)) {
    throw new Error(`@streamkit/${packageName}: every peer dependency must be optional`);
  }
  console.log(
    `test:node: @streamkit/${packageName} lists no native dependency` +
      (optional.length > 0 ? ` (optional peers: ${optional.join(", ")})` : ""),
  );
}

for (const packageName of ["core", "memory"]) await checkNoNativeDependencies(packageName);

for (const tarball of tarballs) {
  const folder = join(distRoot, tarball.replace(/^streamkit-(.+)-\d+\.\d+\.\d+\.tgz$/, "$1"));
  await checkTarballContents(tarball);
  await run(bin("publint"), ["run", folder, "--strict"]);
  // ESM-only packages: Node 20 cannot require() them, which the esm-only profile accepts.
  await run(bin("attw"), ["--pack", folder, "--profile", "esm-only"]);
}

await Deno.remove(project, { recursive: true }).catch(() => {});
await Deno.mkdir(project, { recursive: true });
const dependencies: Record<string, string> = {};
for (const tarball of tarballs) {
  const manifest = JSON.parse(
    await Deno.readTextFile(
      join(distRoot, tarball.replace(/^streamkit-(.+)-\d+\.\d+\.\d+\.tgz$/, "$1"), "package.json"),
    ),
  );
  dependencies[manifest.name] = `file:${join(distRoot, tarball)}`;
}
// The tests serve stores to remote clients on Node through this adapter, as a user would, and
// sign their tokens with jose.
const rootManifest = JSON.parse(await Deno.readTextFile(join(root, "package.json")));
for (const name of ["@hono/node-server", "jose"]) {
  dependencies[name] = rootManifest.dependencies[name];
}
await Deno.writeTextFile(
  join(project, "package.json"),
  JSON.stringify(
    {
      name: "streamkit-node-test",
      private: true,
      type: "module",
      dependencies,
      allowScripts: { "classic-level": true, "zstd-napi": true },
    },
    null,
    2,
  ),
);
for (const item of Deno.readDirSync(join(root, "tests", "node"))) {
  await Deno.copyFile(join(root, "tests", "node", item.name), join(project, item.name));
}
const readme = await Deno.readTextFile(join(root, "README.md"));
for (const { marker, file } of README_EXAMPLES) {
  const block = new RegExp(`<!-- ${marker} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  if (!block) throw new Error(`README.md has no \`\`\`js block after <!-- ${marker} -->`);
  await Deno.writeTextFile(join(project, file), block);
}

await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], project);
// The Azure driver's suite runs against a real Azurite, started here and stopped after.
const azurite = await startAzurite();
try {
  await run("node", ["--test", "--test-reporter=spec"], project, {
    STREAMKIT_AZURE_CONNECTION_STRING: azurite.connectionString,
  });
} finally {
  await azurite.stop();
}
