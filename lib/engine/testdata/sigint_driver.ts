/**
 * Driver for the SIGINT test: launches the fake vLLM (with a grandchild) through launch(), writes the
 * pids to Deno.args[0] as JSON ({driver, leader, grandchild}), then waits forever. The test sends this
 * process SIGINT and expects exit code 130 with no process of the engine's group left.
 * @module
 */
import { parseServeConfig } from "../config.ts";
import { launch } from "../launch.ts";

const out = Deno.args[0];
const pidFile = `${out}.fake`;
const engine = await launch(
  parseServeConfig({
    engine: "vllm",
    model: "Qwen/Qwen2.5-1.5B-Instruct",
    env: { FAKE_VLLM_GRANDCHILD: "1", FAKE_VLLM_PID_FILE: pidFile },
  }),
  {
    vllm_command: [Deno.execPath(), "run", "-A", new URL("./fake_vllm.ts", import.meta.url).pathname],
    grace_ms: 2_000,
    health_poll_ms: 50,
  },
);
const { grandchild } = JSON.parse(Deno.readTextFileSync(pidFile));
Deno.writeTextFileSync(out, JSON.stringify({ driver: Deno.pid, leader: engine.pid, grandchild }));
setInterval(() => {}, 60_000);
