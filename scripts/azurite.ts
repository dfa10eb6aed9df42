/**
 * Starts an in-memory Azurite Table emulator on 127.0.0.1 and a free port, prints its endpoint
 * and connection string, and keeps it running until SIGINT or SIGTERM. The launcher itself is
 * the tests' helper, `drivers/azure/_test_azurite.ts`.
 *
 * Run it with `npx deno run -A scripts/azurite.ts`.
 *
 * @module
 */

import process from "node:process";
import { startAzurite } from "../drivers/azure/_test_support.ts";

const started = Date.now();
const azurite = await startAzurite();
console.log(`Azurite Table started in ${Date.now() - started} ms on port ${azurite.port}`);
console.log(`endpoint: ${azurite.endpoint}`);
console.log(`connection string: ${azurite.connectionString}`);
console.log("Press Ctrl-C to stop.");
const shutdown = async () => {
  await azurite.stop();
  console.log("Azurite stopped.");
  process.exit(0);
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
