// Runs a Deno program in a process of its own, as a user would, for the tests of the demo and
// the README's examples.

import assert from "node:assert/strict";

/**
 * Runs `deno run ...args` in `cwd` and resolves to its stdout; the test fails, with both outputs,
 * unless it exits 0. `what` names the program in that failure.
 */
export async function denoRun(args: string[], cwd: string, what: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout);
  assert.equal(code, 0, `${what} failed:\n${output}\n${new TextDecoder().decode(stderr)}`);
  return output;
}
