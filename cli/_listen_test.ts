import assert from "node:assert/strict";
import { hostPort, isLoopback, parseListen } from "./_listen.ts";
import { UsageError } from "./_errors.ts";

Deno.test("parseListen: host and port, addresses written one way, anything else a usage error", () => {
  assert.deepEqual(parseListen("127.0.0.1:7070"), { hostname: "127.0.0.1", port: 7070 });
  assert.deepEqual(parseListen("127.1:0"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListen("[0:0:0:0:0:0:0:1]:80"), { hostname: "::1", port: 80 });
  assert.deepEqual(parseListen("LocalHost:65535"), { hostname: "localhost", port: 65535 });
  assert.deepEqual(parseListen("0.0.0.0:7070"), { hostname: "0.0.0.0", port: 7070 });
  for (const bad of ["7070", "127.0.0.1", "127.0.0.1:", ":7070", "::1:7070", "[::1]", "a b:1"]) {
    assert.throws(() => parseListen(bad), UsageError, bad);
  }
  assert.throws(() => parseListen("127.0.0.1:65536"), /--listen expects <host>:<port>/);
});

Deno.test("isLoopback: 127.0.0.0/8, ::1 and localhost only", () => {
  for (
    const host of ["127.0.0.1", "127.255.0.9", "::1", "localhost", "LOCALHOST", "::ffff:7f00:1"]
  ) {
    assert.ok(isLoopback(host), host);
  }
  for (const host of ["0.0.0.0", "::", "128.0.0.1", "10.0.0.1", "localhost.example", "::2"]) {
    assert.ok(!isLoopback(host), host);
  }
  assert.ok(isLoopback(parseListen("[::ffff:127.0.0.1]:1").hostname));
  assert.ok(!isLoopback(parseListen("[::ffff:10.0.0.1]:1").hostname));
});

Deno.test("hostPort: an IPv6 address in brackets", () => {
  assert.equal(hostPort("::1", 7070), "[::1]:7070");
  assert.equal(hostPort("127.0.0.1", 0), "127.0.0.1:0");
});
