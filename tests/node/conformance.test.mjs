// The conformance suite on Node, against the built npm packages, imported by package name.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { conformance } from "@streamkit/core/conformance";
import { MemoryStoreFactory } from "@streamkit/memory";
import { LevelStoreFactory } from "@streamkit/level";

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
  factory: (options = {}) => {
    const path = options.sameStorageAs
      ? directories.get(options.sameStorageAs)
      : mkdtempSync(join(root, "store-"));
    const factory = new LevelStoreFactory({ path, bus: options.bus, nodeId: options.nodeId });
    directories.set(factory, path);
    return Promise.resolve(factory);
  },
  supports: { persistence: true },
});
