// The conformance suite on Node, against the built npm packages, imported by package name.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { conformance } from "@streamkit/core/conformance";
import { MemoryStoreFactory } from "@streamkit/memory";
import { LevelStoreFactory } from "@streamkit/level";
import { AzureStoreFactory } from "@streamkit/azure";
import { randomUUID } from "node:crypto";
import process from "node:process";

const root = mkdtempSync(join(tmpdir(), "streamkit-node-level-"));
after(() => rmSync(root, { recursive: true, force: true }));

conformance({
  name: "node memory",
  test,
  factory: (options) => Promise.resolve(new MemoryStoreFactory(options)),
  supports: {},
});

const directories = new WeakMap();
conformance({
  name: "node level",
  test,
  factory: ({ sameStorageAs, ...options } = {}) => {
    const path = sameStorageAs ? directories.get(sameStorageAs) : mkdtempSync(join(root, "store-"));
    const factory = new LevelStoreFactory({ path, ...options });
    directories.set(factory, path);
    return Promise.resolve(factory);
  },
  supports: { persistence: true, listStores: true },
});

// scripts/test_node.ts starts Azurite and passes its connection string: never skipped.
const azureConnectionString = process.env.STREAMKIT_AZURE_CONNECTION_STRING;
if (!azureConnectionString) {
  throw new Error("STREAMKIT_AZURE_CONNECTION_STRING is not set: run through deno task test:node");
}
const tablePrefixes = new WeakMap();
conformance({
  name: "node azure",
  test,
  factory: ({ sameStorageAs, ...options } = {}) => {
    const tablePrefix = sameStorageAs
      ? tablePrefixes.get(sameStorageAs)
      : `n${randomUUID().slice(0, 8)}`;
    const factory = new AzureStoreFactory({
      connectionString: azureConnectionString,
      allowInsecureHttp: true,
      tablePrefix,
      ...options,
    });
    tablePrefixes.set(factory, tablePrefix);
    return Promise.resolve(factory);
  },
  supports: { persistence: true, multiInstance: true, listStores: true },
});
