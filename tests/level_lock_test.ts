// One process per store directory: another process opening a held store gets a transient
// StoreLocked error naming the store's directory, and opens it once released (real second
// processes, both ways). Handles of one store id in one process share the database.

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Entry, isTransient, type Store, StreamkitError } from "../core/mod.ts";
import { collect, withTimeout } from "../core/_test_util.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { LOCK_SEGMENT, LOCK_SPACE, lockPayload } from "./_level_lock_child.ts";

const childScript = fileURLToPath(new URL("./_level_lock_child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const LINE_TIMEOUT_MS = 30_000;

type ChildLine =
  | { type: "ready"; lastSequence: number }
  | { type: "error"; kind: string; transient: boolean; message: string };

/** A child process that holds a store until released, or reports why it could not open it. */
class LockChild {
  #child: Deno.ChildProcess;
  #line: Promise<ChildLine | undefined>;
  #stdout: Promise<string>;
  #stderr: Promise<string>;
  #stdinClosed = false;

  /** Starts a child that opens `storeId` under `path` and appends `records` entries. */
  constructor(path: string, storeId: string, records: number) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        childScript,
        path,
        storeId,
        String(records),
      ],
      cwd: repoRoot,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    let resolveLine: (line: ChildLine | undefined) => void = () => {};
    this.#line = new Promise((resolve) => resolveLine = resolve);
    this.#stdout = (async () => {
      let text = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        const newline = text.indexOf("\n");
        if (newline >= 0) resolveLine(JSON.parse(text.slice(0, newline)));
      }
      resolveLine(undefined);
      return text;
    })();
    this.#stderr = new Response(child.stderr).text();
  }

  /** The child's line: `ready` once it holds the store, or the error it failed with. */
  async line(): Promise<ChildLine> {
    const line = await withTimeout(this.#line, "the lock child's line", LINE_TIMEOUT_MS).catch(
      (error: Error) => error.message,
    );
    if (typeof line === "string" || line === undefined) {
      await this.dispose();
      assert.fail(
        `lock child printed no line (${line ?? "exited"}); stderr: ${await this.#stderr}`,
      );
    }
    return line;
  }

  /** Closes the child's stdin, waits for it to exit and returns its exit code. */
  async release(): Promise<number> {
    await this.#closeStdin();
    const [{ code }] = await Promise.all([this.#child.status, this.#stdout, this.#stderr]);
    if (code !== 0 && code !== 1) assert.fail(`lock child failed: ${await this.#stderr}`);
    return code;
  }

  async #closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#child.stdin.close();
    } catch {
      // The child has exited already and its stdin is gone.
    }
  }

  /** Kills the child if it still runs and waits for everything it holds (for `finally`). */
  async dispose(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
    await this.#closeStdin();
    await Promise.allSettled([this.#child.status, this.#stdout, this.#stderr]);
  }
}

/** The lock segment's entries, checked to be 1..n with the children's and this test's payloads. */
async function lockEntries(store: Store): Promise<Entry[]> {
  const entries = await collect(store.consumeSegment({ space: LOCK_SPACE, segment: LOCK_SEGMENT }));
  entries.forEach((entry, i) => {
    assert.equal(entry.sequence, i + 1);
    assert.deepEqual(entry.payload, lockPayload(entry.sequence));
  });
  return entries;
}

async function append(store: Store, count: number): Promise<number> {
  const head = await store.getSegmentStatus(LOCK_SPACE, LOCK_SEGMENT);
  const from = (head?.lastSequence ?? 0) + 1;
  const records = Array.from(
    { length: count },
    (_, i) => ({ sequence: from + i, payload: lockPayload(from + i) }),
  );
  let last = 0;
  for await (const status of store.produce({ space: LOCK_SPACE, segment: LOCK_SEGMENT }, records)) {
    last = status.lastSequence;
  }
  assert.equal(last, from + count - 1);
  return last;
}

function assertStoreLocked(error: unknown, location: string): true {
  assert.ok(error instanceof StreamkitError, `expected a StreamkitError, got ${error}`);
  assert.equal(error.kind, "StoreLocked", error.message);
  assert.equal(error.transient, true);
  assert.ok(isTransient(error));
  assert.ok(
    error.message.includes(location),
    `message ${JSON.stringify(error.message)} should name ${location}`,
  );
  return true;
}

Deno.test("level: a store held by another process fails with StoreLocked naming its directory, and opens once released", async () => {
  const path = await Deno.makeTempDir({ prefix: "streamkit-level-lock-" });
  const storeId = crypto.randomUUID();
  const location = join(path, storeId);
  const holder = new LockChild(path, storeId, 3);
  const factory = new LevelStoreFactory({ path });
  try {
    const ready = await holder.line();
    assert.deepEqual(ready, { type: "ready", lastSequence: 3 });

    await assert.rejects(factory.newStore(storeId), (error) => assertStoreLocked(error, location));
    // Ids are compared case-insensitively: the upper-case id is the same, locked, directory.
    await assert.rejects(
      factory.newStore(storeId.toUpperCase()),
      (error) => assertStoreLocked(error, location),
    );
    // Still locked on a retry: a failed open leaves nothing half-open behind.
    await assert.rejects(factory.newStore(storeId), (error) => assertStoreLocked(error, location));

    assert.equal(await holder.release(), 0);

    // The same factory opens the store now, and sees what the other process wrote.
    const store = await factory.newStore(storeId);
    const entries = await lockEntries(store);
    assert.equal(entries.length, 3);
    assert.equal(await append(store, 2), 5);
    await store.close();
    await factory.close();

    // Reopened from scratch, everything written by both processes is there.
    const again = new LevelStoreFactory({ path });
    try {
      const reopened = await again.newStore(storeId);
      assert.equal((await lockEntries(reopened)).length, 5);
    } finally {
      await again.close();
    }
  } finally {
    await holder.dispose();
    await factory.close();
    await Deno.remove(path, { recursive: true });
  }
});

Deno.test("level: handles of one store in one process share it and lock other processes out until the last closes", async () => {
  const path = await Deno.makeTempDir({ prefix: "streamkit-level-lock-" });
  const storeId = crypto.randomUUID();
  const location = join(path, storeId);
  const factory = new LevelStoreFactory({ path });
  const children: LockChild[] = [];
  try {
    const first = await factory.newStore(storeId);
    const second = await factory.newStore(storeId.toUpperCase());

    // Written through one handle, read through the other, both ways.
    assert.equal(await append(first, 2), 2);
    assert.equal((await lockEntries(second)).length, 2);
    assert.equal(await append(second, 1), 3);
    assert.equal((await first.peek(LOCK_SPACE, LOCK_SEGMENT))?.sequence, 3);
    assert.deepEqual(await collect(first.getSpaces()), [LOCK_SPACE]);

    // A real second process cannot open the store while this one holds it.
    const locked = new LockChild(path, storeId, 1);
    children.push(locked);
    const line = await locked.line();
    if (line.type !== "error") assert.fail(`the second process opened a held store: ${line}`);
    assert.equal(line.kind, "StoreLocked", line.message);
    assert.equal(line.transient, true);
    assert.ok(line.message.includes(location), `message ${line.message} should name ${location}`);
    assert.equal(await locked.release(), 1);

    // Closing one handle keeps the other working, and still holding the lock.
    await first.close();
    await assert.rejects(
      first.getSegmentStatus(LOCK_SPACE, LOCK_SEGMENT),
      (error) => error instanceof StreamkitError && error.kind === "Closed",
    );
    assert.equal(await append(second, 2), 5);
    assert.equal((await lockEntries(second)).length, 5);
    const stillLocked = new LockChild(path, storeId, 1);
    children.push(stillLocked);
    assert.equal((await stillLocked.line()).type, "error");
    assert.equal(await stillLocked.release(), 1);

    // Once the last handle closes, another process opens the store and appends to it.
    await second.close();
    const next = new LockChild(path, storeId, 3);
    children.push(next);
    assert.deepEqual(await next.line(), { type: "ready", lastSequence: 8 });
    // ...and holds it: this process is locked out in turn.
    await assert.rejects(factory.newStore(storeId), (error) => assertStoreLocked(error, location));
    assert.equal(await next.release(), 0);

    const reopened = await factory.newStore(storeId);
    assert.equal((await lockEntries(reopened)).length, 8);
  } finally {
    for (const child of children) await child.dispose();
    await factory.close();
    await Deno.remove(path, { recursive: true });
  }
});
