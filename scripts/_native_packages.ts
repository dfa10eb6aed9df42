// Which installed npm packages build a native addon, for the npm build and its checks.

import { join } from "node:path";
import { fileURLToPath } from "node:url";

const nodeModules = fileURLToPath(new URL("../node_modules", import.meta.url));

/** Whether package `name` builds a native addon when installed (it ships a `binding.gyp`). */
export function isNative(name: string): boolean {
  try {
    Deno.statSync(join(nodeModules, name, "binding.gyp"));
    return true;
  } catch {
    return false;
  }
}
