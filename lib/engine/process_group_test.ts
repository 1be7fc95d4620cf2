import assert from "node:assert/strict";
import { groupMembers, spawnGroup, stopGroup } from "./process_group.ts";

Deno.test({
  name: "spawnGroup starts a group leader with closed stdin and piped output; stopGroup ends the whole group",
  ignore: Deno.build.os !== "linux", // group membership is read from /proc
  fn: async () => {
    // The child prints a line, then forks a grandchild that sleeps; both must share the child's group.
    const code = `console.log("up");
      new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
      await new Promise((r) => setTimeout(r, 30_000));`;
    const child = spawnGroup(Deno.execPath(), { args: ["eval", code], env: { NO_COLOR: "1" } });
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.equal(first.value?.trim(), "up", "stdout is piped to the caller");
    let members: number[] = [];
    for (let i = 0; i < 100 && members.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      members = groupMembers(child.pid);
    }
    assert.ok(members.includes(child.pid), "the child leads its own group (pgid = pid)");
    assert.equal(members.length, 2, `the grandchild is in the group too: ${members}`);
    await stopGroup(child.pid, { grace_ms: 2_000, leaderExited: child.status });
    assert.deepEqual(groupMembers(child.pid), [], "nothing of the group survives");
    await reader.cancel();
    await child.stderr.cancel();
    await child.status;
  },
});
