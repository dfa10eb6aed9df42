// Where `streamkit serve` listens: `--listen <host>:<port>` checked, and whether the host is a
// loopback address (the only place it serves without authentication).

import { UsageError } from "./_errors.ts";

/** Where `streamkit serve` listens when `--listen` is not given. */
export const DEFAULT_LISTEN = "127.0.0.1:7070";

/** A host and port to listen on. */
export interface ListenAddress {
  /** The host as the server takes it: a name, an IPv4 address, or an IPv6 one without []. */
  hostname: string;
  /** 0 for any free port. */
  port: number;
}

const LISTEN_VALUE = "<host>:<port>, e.g. 127.0.0.1:7070, [::1]:7070 or 0.0.0.0:7070";

/** `--listen`'s value, checked; the host lower-cased and IP addresses written canonically. */
export function parseListen(value: string): ListenAddress {
  const match = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = match === null ? NaN : Number(match[2]);
  // The URL parser writes an address one way: 127.1 is 127.0.0.1, [0:0::1] is [::1].
  const url = match !== null && URL.canParse(`http://${match[1]}`)
    ? new URL(`http://${match[1]}`)
    : undefined;
  if (url === undefined || url.hostname === "" || !(port <= 65535)) {
    throw new UsageError(`--listen expects ${LISTEN_VALUE}, got ${JSON.stringify(value)}`);
  }
  return { hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/** Whether `hostname` is a loopback address: 127.0.0.0/8, ::1 (or ::ffff:127.x), localhost. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) ||
    /^::ffff:(127\.\d+\.\d+\.\d+|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(host);
}

/** `hostname:port` as a URL's authority writes it (an IPv6 address in []). */
export function hostPort(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}
