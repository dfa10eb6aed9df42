// The client's requests (README "Protocol"): the bearer token, errors back into StreamkitErrors,
// and the frames of a streamed response up to its end frame.

import { StreamkitError } from "@streamkit/core";
import { type Frame, FrameType, parseJson, readFrames } from "./_frames.ts";
import { API_PREFIX, fromWireError, JSON_TYPE } from "./_wire.ts";

/** Where a client sends its requests, and with which token. */
export interface ConnectionOptions {
  url: string | URL;
  token?: string | (() => Promise<string>);
  fetch?: typeof fetch;
}

/** The largest frame a client accepts: an entry of the largest payload, with room to spare. */
const MAX_RESPONSE_FRAME_BYTES = 64 * 1024 * 1024;

/** A streamed response ended before its end frame: the connection dropped. */
export class ConnectionDropped extends StreamkitError {
  constructor(message: string, cause?: unknown) {
    super("Unavailable", message, { cause, transient: true });
  }
}

/** What a request sends. */
export interface RequestInit {
  method?: "GET" | "POST";
  /** A JSON body. */
  json?: unknown;
  /** A body of frames. */
  frames?: ReadableStream<Uint8Array>;
  signal?: AbortSignal;
}

/** Requests to one server. */
export class Connection {
  readonly #base: string;
  readonly #token: ConnectionOptions["token"];
  readonly #fetch: typeof fetch;

  constructor(options: ConnectionOptions) {
    const url = new URL(String(options.url));
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new StreamkitError(
        "InvalidArgument",
        `url: must be an http: or https: URL, got ${JSON.stringify(url.protocol)}`,
      );
    }
    this.#base = url.href.replace(/\/+$/, "") + API_PREFIX;
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The server's answer to `path` (under the version prefix); a refusal as its error. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers();
    const token = typeof this.#token === "function" ? await this.#token() : this.#token;
    if (token) headers.set("authorization", `Bearer ${token}`);
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (init.json !== undefined) {
      headers.set("content-type", JSON_TYPE);
      body = JSON.stringify(init.json);
    } else if (init.frames) {
      headers.set("content-type", "application/x-streamkit-frames");
      body = init.frames;
    }
    let response: Response;
    try {
      response = await this.#fetch(this.#base + path, {
        method: init.method ?? (body === undefined ? "GET" : "POST"),
        headers,
        body,
        signal: init.signal,
        // A streamed body: sent as the store reads it (Deno and Node answer before it ends).
        ...(init.frames ? { duplex: "half" } : {}),
      } as globalThis.RequestInit);
    } catch (error) {
      init.signal?.throwIfAborted();
      throw new ConnectionDropped(`the server did not answer: ${describe(error)}`, error);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  /** A JSON answer. */
  async json(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
    const response = await this.request(path, init);
    try {
      return await response.json() as Record<string, unknown>;
    } catch (error) {
      init.signal?.throwIfAborted();
      throw new ConnectionDropped(`the server's answer was cut: ${describe(error)}`, error);
    }
  }

  /**
   * The frames of a streamed answer up to its end frame (heartbeats left out); an error frame
   * throws its error, a body that ends without an end frame throws {@linkcode ConnectionDropped}.
   */
  async *frames(path: string, init: RequestInit = {}): AsyncGenerator<Frame> {
    const response = await this.request(path, init);
    if (!response.body) throw new ConnectionDropped("the server's answer has no body");
    const frames = readFrames(response.body, MAX_RESPONSE_FRAME_BYTES, init.signal);
    try {
      while (true) {
        let next: IteratorResult<Frame>;
        try {
          next = await frames.next();
        } catch (error) {
          init.signal?.throwIfAborted();
          throw new ConnectionDropped(`the server's answer was cut: ${describe(error)}`, error);
        }
        if (next.done) throw new ConnectionDropped("the server's answer ended before its end");
        const frame = next.value;
        if (frame.type === FrameType.Json) {
          const message = parseJson(frame.payload);
          if (message.type === "end") return;
          if (message.type === "heartbeat") continue;
          if (message.type === "error") throw fromWireError(message.error);
        }
        yield frame;
      }
    } finally {
      await frames.return(undefined).catch(() => {});
    }
  }
}

/** A refusal's error, from its JSON body (or its status when it has none). */
async function errorOf(response: Response): Promise<StreamkitError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const wire = (body as { error?: unknown } | undefined)?.error;
  if (wire !== undefined) return fromWireError(wire);
  const kind = response.status === 401 || response.status === 403
    ? "AccessDenied"
    : response.status >= 500
    ? "Unavailable"
    : "InvalidArgument";
  return new StreamkitError(kind, `the server answered ${response.status} ${response.statusText}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
