// The embedded engine as launch() starts it: where it listens, and what a start that never becomes
// ready looks like (its --sim-slow-start-s fault).
import assert from "node:assert/strict";
import { parseServeConfig } from "./config.ts";
import { EngineStartError, launch } from "./launch.ts";
import { pidAlive } from "./process_group.ts";
import { liveEngineCount } from "./registry.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

/** Local addresses (hex, as the kernel writes them) of the sockets listening on `port`. */
function listeners(port: number): { file: string; local: string }[] {
  const out: { file: string; local: string }[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue; // no IPv6
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [addr, hexPort] = local.split(":");
      if (state === "0A" && parseInt(hexPort, 16) === port) out.push({ file, local: addr });
    }
  }
  return out;
}

/** Pids whose command line holds `args` in a row (read from /proc). */
function processesWith(args: string[]): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      const i = argv.indexOf(args[0]);
      if (i >= 0 && args.every((a, k) => argv[i + k] === a) && pidAlive(Number(e.name))) {
        out.push(Number(e.name));
      }
    } catch { /* gone */ }
  }
  return out;
}

Deno.test({
  name: "a launched engine listens on 127.0.0.1 only",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using engine = await launch(parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 2048 }));
    const port = Number(new URL(engine.baseUrl).port);
    const socks = listeners(port);
    assert.deepEqual(socks, [{ file: "/proc/net/tcp", local: "0100007F" }], "one IPv4 socket on 127.0.0.1");
  },
});

Deno.test({
  name: "an engine that never becomes ready times out with its log tail in the message, and is stopped",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "servelab-never-ready-" });
    const cfg = parseServeConfig({
      engine: "sim",
      model: MODEL,
      max_model_len: 2048,
      sim: { faults: { slow_start_s: 600 } },
    });
    const err = await launch(cfg, {
      log_dir: dir,
      log_name: "slow",
      ready_timeout_ms: 2_500,
      health_poll_ms: 50,
    })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof EngineStartError, String(err));
    assert.equal(err.reason, "timeout");
    assert.match(err.message, /^Cannot start engine: not ready after 2500 ms \(engine 'sim'/);
    assert.match(err.message, /Raise LaunchOptions\.ready_timeout_ms/);
    const log = Deno.readTextFileSync(`${dir}/slow.log`).trim().split("\n");
    assert.ok(log.length > 3 && log.at(-1) !== "", "the engine printed its startup lines");
    assert.match(err.message, new RegExp(`Last ${err.logTail.length} log lines:`));
    assert.ok(err.message.includes(log.at(-1)!), "the message ends with the log's last line");
    assert.equal(liveEngineCount(), 0, "the slow engine was stopped");
    assert.deepEqual(processesWith(["--sim-slow-start-s", "600"]), [], "no slow engine process is left");
  },
});
