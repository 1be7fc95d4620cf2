import assert from "node:assert/strict";
import { groupMembers, pidAlive } from "./process_group.ts";

async function runDriverAndSignal(
  signal: Deno.Signal,
): Promise<{ code: number; signal: Deno.Signal | null; pids: Record<string, number> }> {
  const dir = Deno.makeTempDirSync({ prefix: "servelab-sigint-test-" });
  const out = `${dir}/pids.json`;
  const driver = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/sigint_driver.ts", import.meta.url).pathname, out],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let pids: Record<string, number> | undefined;
  for (let i = 0; i < 400 && !pids; i++) {
    try {
      pids = JSON.parse(Deno.readTextFileSync(out));
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  if (!pids) {
    driver.kill("SIGKILL");
    const { stderr } = await driver.output();
    throw new Error(`driver never wrote ${out}: ${new TextDecoder().decode(stderr)}`);
  }
  assert.ok(
    pidAlive(pids.leader) && pidAlive(pids.grandchild),
    "engine and grandchild run before the signal",
  );
  driver.kill(signal);
  const { code, signal: by } = await driver.output();
  return { code, signal: by, pids };
}

Deno.test("SIGINT to the lab stops every engine process group, then exits 130", async () => {
  const { code, signal, pids } = await runDriverAndSignal("SIGINT");
  assert.equal(signal, null, "the lab exited by itself (Deno.exit), not by the signal's default action");
  assert.equal(code, 130);
  assert.ok(!pidAlive(pids.leader), "engine leader is gone");
  assert.ok(!pidAlive(pids.grandchild), "engine grandchild is gone");
  assert.deepEqual(groupMembers(pids.leader), []);
});

Deno.test("SIGTERM to the lab stops every engine process group, then exits 143", async () => {
  const { code, signal, pids } = await runDriverAndSignal("SIGTERM");
  assert.equal(signal, null);
  assert.equal(code, 143);
  assert.ok(!pidAlive(pids.leader) && !pidAlive(pids.grandchild));
  assert.deepEqual(groupMembers(pids.leader), []);
});
