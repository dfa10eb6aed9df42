// Runs one kill-test child (_kill_child.ts) and SIGKILLs it as planned: at a random moment, or
// aimed at a line of its output, so that the kill lands while a produce is cut into chunks, a
// chunk is written, or its status is on its way.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Ack, type ChildOrders, type Intent, type Line, readLines } from "./_kill_protocol.ts";
import { trackKey } from "./_kill_tracks.ts";

const childScript = fileURLToPath(new URL("./_kill_child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * What a kill aims at. `anytime`: the planned moment itself. `after-intent` and `after-ack`:
 * from the planned moment on, the first announced produce, or the first acknowledged chunk,
 * that the driver's AimedWait accepts; the kill then comes after the wait it gives.
 */
export type KillAim = "anytime" | "after-intent" | "after-ack";

export interface KillPlan {
  aim: KillAim;
  /** Time from the child's first line to the kill, or to when the kill starts aiming. */
  delayMs: number;
  /** This kill's draw (0..1) of how much of its AimedWait's window to wait. */
  fraction: number;
}

/**
 * How long a kill aimed at `line` waits before it kills: a `fraction` of the time the child
 * needs for what is ahead of it; `undefined` if the kill does not aim at this line. `left` is
 * how many records of the line's produce are still to be committed after it.
 */
export type AimedWait = (line: Intent | Ack, left: number, fraction: number) => number | undefined;

/** How to start a child. */
export interface ChildLaunch {
  orders: ChildOrders;
  /** The `deno run` permission flags its driver needs. */
  permissions: readonly string[];
  env?: Record<string, string>;
}

export interface ChildRun {
  lines: Line[];
  /** An aimed kill found nothing to aim at and killed at its deadline. */
  fellBack: boolean;
}

/**
 * Runs one child and SIGKILLs it as `plan` says; an aimed kill that finds nothing to aim at
 * within `fallbackMs` kills anyway.
 */
export async function runChild(
  launch: ChildLaunch,
  plan: KillPlan,
  aimedWait: AimedWait,
  fallbackMs: number,
): Promise<ChildRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...launch.permissions, childScript, JSON.stringify(launch.orders)],
    cwd: repoRoot,
    env: launch.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  let killSent = false;
  let fellBack = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const kill = () => {
    if (killSent || exited) return;
    killSent = true;
    child.kill("SIGKILL");
  };

  const lines: Line[] = [];
  /** Per segment, the last sequence of its current produce. */
  const produceEnds = new Map<string, number>();
  let aiming = false;
  let firstLine: () => void = () => {};
  const started = new Promise<void>((resolve) => firstLine = resolve);
  const stdout = readLines(child.stdout, (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    firstLine();
    if (line.type === "ready") return;
    const segment = trackKey(line.space, line.segment);
    if (line.type === "intent") produceEnds.set(segment, line.from + line.count - 1);
    if (!aiming || line.type !== (plan.aim === "after-intent" ? "intent" : "ack")) return;
    const left = line.type === "intent"
      ? line.count
      : produceEnds.get(segment)! - line.lastSequence;
    const waitMs = aimedWait(line, left, plan.fraction);
    if (waitMs !== undefined) {
      aiming = false;
      timers.push(setTimeout(kill, waitMs));
    }
  });
  const stderr = new Response(child.stderr).text();
  const status = child.status.then((status) => {
    exited = true;
    firstLine();
    return status;
  });

  await started;
  await new Promise((resolve) => timers.push(setTimeout(resolve, plan.delayMs)));
  if (plan.aim === "anytime") {
    kill();
  } else {
    aiming = true;
    timers.push(setTimeout(() => {
      fellBack = !killSent;
      kill();
    }, fallbackMs));
  }
  const [{ code, signal }, rest, errors] = await Promise.all([status, stdout, stderr]);
  for (const timer of timers) clearTimeout(timer);
  if (signal !== "SIGKILL" || !killSent) {
    assert.fail(`child exited by itself (code ${code}, signal ${signal}): ${errors}`);
  }
  // Every line is written whole with one synchronous write; a torn line would be a test bug.
  assert.equal(rest, "", `child left a partial line on stdout: ${JSON.stringify(rest)}`);
  return { lines, fellBack };
}
