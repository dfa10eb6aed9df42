// A server process for the remote follow tests: serves a LevelDB directory over HTTP on
// 127.0.0.1 without authentication (loopback only) and prints "listening <port>" once it
// accepts. Args: <directory> <port> (0: any).

import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { createStoreHandler } from "../drivers/remote/server.ts";

const [path, port] = Deno.args;
const factory = new LevelStoreFactory({ path });
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(port),
  onListen: ({ port }) => console.log(`listening ${port}`),
}, createStoreHandler({ factory, auth: { none: true } }));
