// How `streamkit` ends and what it tells on stderr, run as a user runs it: `read --follow` ended
// by SIGINT or SIGTERM sent to its whole process group (as a terminal's Ctrl-C is) exits 130 under
// `deno task streamkit`, `deno run` and `npx deno task streamkit`, after printing what it read; a
// signal delivered twice ends it once; long work shows no progress lines when stderr is no
// terminal, only its summary; the README's exit codes are the --help's.

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readLines, sleep, waitFor, withTimeout } from "../core/_test_util.ts";
import { CLI_MAIN, inTempDir, LAYOUT, linesOf, ok, runEnvironment, seededDb } from "./_test_cli.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STORE = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_STORE = "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10";
const ORDERS = Object.values(LAYOUT.orders).reduce((sum, count) => sum + count, 0);
const WAIT_MS = 30_000;

/** Whether an executable `name` is on PATH. */
function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((folder) => {
    try {
      return Deno.statSync(join(folder, name)).isFile;
    } catch {
      return false;
    }
  });
}

/** What a run left when it exited. */
interface Exit {
  status: Deno.CommandStatus;
  /** Every line of stdout, those read before the exit included. */
  stdout: string[];
  stderr: string;
}

/**
 * A command started in a process group of its own, as a shell starts a job: a terminal's
 * Ctrl-C reaches every process of the group (`deno task` and the command it runs). Disposing
 * it kills the group if it is still there.
 */
class GroupRun implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #stdout: Promise<string>;
  readonly #stderr: Promise<string>;
  readonly #lines: string[] = [];
  #exited = false;

  constructor(command: string, args: string[]) {
    this.#child = new Deno.Command(command, {
      args,
      cwd: ROOT,
      env: runEnvironment(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // A new session, so a process group of its own, whose id is the child's pid.
      detached: true,
    }).spawn();
    this.#status = this.#child.status.then((status) => {
      this.#exited = true;
      return status;
    });
    this.#stdout = readLines(this.#child.stdout, (line) => this.#lines.push(line));
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /** Waits until stdout has `count` lines; fails, with stderr, if it exits first. */
  async waitForLines(count: number): Promise<void> {
    await waitFor(`${count} lines of stdout`, () => this.#lines.length >= count || this.#exited, {
      timeoutMs: WAIT_MS,
    });
    if (this.#lines.length < count) {
      const { status, stderr } = await this.exit();
      throw new Error(`exited with ${status.code} after ${this.#lines.length} lines:\n${stderr}`);
    }
  }

  /** Sends `signal` to every process of the group. */
  signalGroup(signal: Deno.Signal): void {
    Deno.kill(-this.#child.pid, signal);
  }

  /** Sends `signal` to the command's process only, unless it has exited. */
  async signal(signal: Deno.Signal): Promise<void> {
    try {
      this.#child.kill(signal);
    } catch (error) {
      // Deno may know of the exit before the status promise has settled.
      const exited = await withTimeout(this.#status, "the exit", 1000).then(
        () => true,
        () => false,
      );
      if (!exited) throw error;
    }
  }

  /** Awaits the exit: its status, stdout's lines and stderr. */
  async exit(): Promise<Exit> {
    const [status, rest, stderr] = await withTimeout(
      Promise.all([this.#status, this.#stdout, this.#stderr]),
      "the exit",
      WAIT_MS,
    );
    return { status, stdout: rest === "" ? this.#lines : [...this.#lines, rest], stderr };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) {
      try {
        Deno.kill(-this.#child.pid, "SIGKILL");
      } catch {
        // The group is gone already.
      }
    }
    await Promise.allSettled([this.#status, this.#stdout, this.#stderr]);
  }
}

/** The ways the README and the docs run the command, each as a command and its first arguments. */
const LAUNCHERS: { name: string; command: string; args: string[] }[] = [
  { name: "deno task streamkit", command: Deno.execPath(), args: ["task", "streamkit"] },
  { name: "deno run", command: Deno.execPath(), args: ["run", "--allow-all", CLI_MAIN] },
];

/** stderr without the line `deno task` starts with (`Task streamkit <its command line>`). */
function ownStderr(stderr: string): string[] {
  return linesOf(stderr).filter((line) => !/^Task streamkit /.test(line));
}

/**
 * Follows space "orders" of a seeded store, waits until its history is printed, sends `signal`
 * to the process group and returns the exit.
 */
async function followThenSignal(
  command: string,
  args: string[],
  signal: Deno.Signal,
): Promise<Exit> {
  let exit: Exit | undefined;
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    await using run = new GroupRun(command, [
      ...args,
      "read",
      "orders",
      "--follow",
      "--format",
      "jsonl",
      "--db",
      db,
    ]);
    // History comes out once the follow has caught up: then it waits for new entries.
    await run.waitForLines(ORDERS);
    run.signalGroup(signal);
    exit = await run.exit();
  });
  return exit!;
}

/** The follow printed the space's whole history, ended cleanly by `signal`, and exited 130. */
function assertInterrupted(exit: Exit, signal: Deno.Signal): void {
  assert.equal(exit.status.code, 130, exit.stderr);
  assert.deepEqual(
    exit.stdout.map((line) => JSON.parse(line).space),
    Array(ORDERS).fill("orders"),
  );
  assert.deepEqual(ownStderr(exit.stderr), [`streamkit read: interrupted by ${signal}`]);
}

for (const launcher of LAUNCHERS) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.test(`cli read --follow under ${launcher.name}: ${signal} to its process group ends it with exit 130 after the entries it read`, async () => {
      const exit = await followThenSignal(launcher.command, launcher.args, signal);
      // Ended by its exit code (the command's 130), not killed by the signal.
      assert.equal(exit.status.signal, null);
      assertInterrupted(exit, signal);
    });
  }
}

Deno.test({
  name:
    "cli read --follow as the README runs it (npx deno task streamkit): Ctrl-C ends it with 130",
  ignore: !onPath("npx"),
  fn: async () => {
    // npm ends npx by the signal it got, whatever its child's exit code: the shell shows 130.
    const exit = await followThenSignal("npx", ["--no", "deno", "task", "streamkit"], "SIGINT");
    assertInterrupted(exit, "SIGINT");
  },
});

Deno.test("cli read --follow: the same signal twice within a second (the terminal's and the one deno task forwards) ends it once, cleanly, with 130", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    // Gaps around the time the command takes to end: a repeat lands before, while and after
    // it closes the store (without care, one after it would kill the process by the signal).
    for (const gapMs of [0, 2, 5, 10, 15, 25, 50]) {
      await using run = new GroupRun(Deno.execPath(), [
        "run",
        "--allow-all",
        CLI_MAIN,
        "read",
        "orders",
        "--follow",
        "--db",
        db,
      ]);
      await run.waitForLines(ORDERS);
      await run.signal("SIGINT");
      await sleep(gapMs);
      await run.signal("SIGINT");
      const exit = await run.exit();
      // Not cut short by process.exit (no message) nor killed by the repeat.
      assert.equal(exit.status.signal, null, `gap ${gapMs} ms`);
      assert.equal(exit.status.code, 130, `gap ${gapMs} ms: ${exit.stderr}`);
      assert.deepEqual(ownStderr(exit.stderr), ["streamkit read: interrupted by SIGINT"]);
      assert.equal(exit.stdout.length, ORDERS);
    }
  });
});

/**
 * `import` of the export `file` into OTHER_STORE at `<dir>/copy`, through a shell whose input
 * arrives after a second: long enough for progress to be redrawn a few times on a terminal.
 */
function slowImport(dir: string, file: string): string {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  return `(sleep 1; cat ${quote(file)}) | ` +
    [Deno.execPath(), "run", "--allow-all", CLI_MAIN, "import", "--db", `level:${dir}/copy`]
      .concat(["--store", OTHER_STORE]).map(quote).join(" ");
}

/** What starts each redraw of the progress line: a carriage return and erase-line. */
const REDRAW = "\r\x1b[K";

/** The summary import ends with. */
const IMPORT_SUMMARY = /^import: \d[\d,]* entries, .* from stdin into store /;

Deno.test("cli import with stderr to a pipe: the one-line summary on stderr, no progress line", async () => {
  await inTempDir(async (dir) => {
    const db = await seededDb(dir, STORE);
    const file = join(dir, "backup.ndjson");
    await ok(["export", "--db", db, "--out", file]);
    const { code, stdout, stderr } = await new Deno.Command("sh", {
      args: ["-c", slowImport(dir, file)],
      env: runEnvironment(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const errors = new TextDecoder().decode(stderr);
    assert.equal(code, 0, errors);
    assert.equal(stdout.length, 0);
    assert.ok(!errors.includes("\r") && !errors.includes(REDRAW), JSON.stringify(errors));
    assert.equal(linesOf(errors).length, 1, errors);
    assert.match(errors, IMPORT_SUMMARY);
  });
});

Deno.test({
  name: "cli import with stderr on a terminal: progress redrawn in place, then the summary",
  // util-linux `script` runs the command on a pseudo-terminal.
  ignore: Deno.build.os !== "linux" || !onPath("script"),
  fn: async () => {
    await inTempDir(async (dir) => {
      const db = await seededDb(dir, STORE);
      const file = join(dir, "backup.ndjson");
      await ok(["export", "--db", db, "--out", file]);
      const { code, stdout } = await new Deno.Command("script", {
        args: ["--quiet", "--return", "--command", slowImport(dir, file), "/dev/null"],
        env: runEnvironment(),
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const terminal = new TextDecoder().decode(stdout);
      assert.equal(code, 0, terminal);
      const drawn = terminal.split(REDRAW);
      // At least one progress line before the summary, which comes last.
      assert.ok(drawn.slice(1, -1).some((line) => /^\d[\d,]* entr(y|ies), /.test(line)), terminal);
      assert.match(drawn.at(-1)!, IMPORT_SUMMARY);
    });
  },
});

Deno.test("cli exit codes: the README lists them as --help does, word for word", async () => {
  const exitCodes = (text: string, where: string) => {
    const list = /Exit codes:[\s\S]*?when\s+run\s+again\)\./.exec(text)?.[0];
    assert.ok(list !== undefined, `${where} lists no exit codes`);
    return list.replace(/\s+/g, " ");
  };
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const operating = readme.slice(readme.indexOf("## Operating a store"));
  assert.equal(
    exitCodes(operating, "README.md"),
    exitCodes((await ok(["--help"])).stdout, "--help"),
  );
});
