import assert from "node:assert/strict";
import { parseServeConfig, type ServeConfigInput } from "./config.ts";
import { engineArgv, launch, type LaunchOptions, type ProcessEngine } from "./launch.ts";
import { groupMembers, pidAlive } from "./process_group.ts";
import { liveEngineCount } from "./registry.ts";

const FAKE = [Deno.execPath(), "run", "-A", new URL("./testdata/fake_vllm.ts", import.meta.url).pathname];
const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

function vllmCfg(env: Record<string, string>, extra: Partial<ServeConfigInput> = {}) {
  return parseServeConfig({ engine: "vllm", model: MODEL, max_model_len: 4096, env, ...extra });
}

function setup() {
  const dir = Deno.makeTempDirSync({ prefix: "servelab-launch-test-" });
  const pidFile = `${dir}/pids.json`;
  const opts: LaunchOptions = { vllm_command: FAKE, log_dir: dir, grace_ms: 2_000, health_poll_ms: 50 };
  const pids = (): { pid: number; grandchild: number } => JSON.parse(Deno.readTextFileSync(pidFile));
  return { dir, pidFile, opts, pids };
}

/** Waits until the fake has written its pid file (it does so before printing the log). */
async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      Deno.statSync(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`${path} never appeared`);
}

Deno.test("launch waits for /health, parses the log and stops the whole group on dispose", async () => {
  const { dir, pidFile, opts, pids } = setup();
  let leader: number;
  {
    await using engine = await launch(
      vllmCfg({ FAKE_VLLM_GRANDCHILD: "1", FAKE_VLLM_PID_FILE: pidFile, FAKE_VLLM_HEALTH_DELAY_MS: "300" }),
      opts,
    );
    leader = engine.pid!;
    assert.equal(engine.kind, "vllm");
    assert.equal(engine.model, MODEL);
    assert.match(engine.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(engine.config.port, 0, "port 0 is resolved to a free port");
    assert.ok(engine.ready_s! >= 0.3, `ready_s ${engine.ready_s} covers the fake's 300 ms health delay`);
    assert.equal(engine.startup?.version, "0.27.1");
    assert.equal(engine.startup?.kv_cache_tokens, 2392992);
    assert.equal(engine.startup?.max_concurrency, 584.23);
    assert.equal(engine.startup?.server_up, true);
    assert.equal((await fetch(`${engine.baseUrl}/health`)).status, 200);
    const { pid, grandchild } = pids();
    assert.equal(pid, leader);
    assert.ok(pidAlive(grandchild));
    assert.deepEqual(groupMembers(leader).sort(), [leader, grandchild].sort());
    assert.equal(liveEngineCount(), 1);
    const log = Deno.readTextFileSync(engine.logPath!);
    assert.match(log, /dev_mode=1/);
    assert.match(log, /"serve","Qwen\/Qwen2\.5-1\.5B-Instruct".*"--host","127\.0\.0\.1","--port","\d+"/);
    assert.match(log, /GPU KV cache size: 2,392,992 tokens/);
    assert.ok(engine.logPath!.startsWith(dir));
  }
  const { grandchild } = pids();
  assert.ok(!pidAlive(leader) && !pidAlive(grandchild), "leader and grandchild are gone after dispose");
  assert.deepEqual(groupMembers(leader), []);
  assert.equal(liveEngineCount(), 0);
});

Deno.test("a child that dies before ready gives a clear error with the fit error and log tail, and no survivors", async () => {
  const { pidFile, opts, pids } = setup();
  const err = await launch(
    vllmCfg({
      FAKE_VLLM_MODE: "exit_early",
      FAKE_VLLM_FIXTURE: "fit_error_old.log",
      FAKE_VLLM_GRANDCHILD: "1",
      FAKE_VLLM_PID_FILE: pidFile,
    }),
    opts,
  ).then(() => undefined, (e: Error) => e);
  assert.ok(err instanceof Error, "launch rejects");
  assert.match(
    err.message,
    /^Cannot start engine: process exited with code 1 before GET http:\/\/127\.0\.0\.1:\d+\/health answered 200 \(engine 'vllm'\)\./,
  );
  assert.match(err.message, /max_model_len 262144 needs 62 GiB of KV cache, but only 48\.66 GiB/);
  assert.match(err.message, /vLLM estimates max_model_len 205728 fits/);
  assert.match(err.message, /Log: \/.*\.log/);
  assert.match(err.message, /Engine core initialization failed/, "the log tail is included");
  const { pid, grandchild } = pids();
  assert.ok(!pidAlive(pid) && !pidAlive(grandchild), "the orphaned grandchild was stopped too");
  assert.deepEqual(groupMembers(pid), []);
  assert.equal(liveEngineCount(), 0);
});

Deno.test("a readiness timeout stops the group and says how long it waited", async () => {
  const { pidFile, opts, pids } = setup();
  await assert.rejects(
    launch(
      vllmCfg({ FAKE_VLLM_MODE: "never_healthy", FAKE_VLLM_GRANDCHILD: "1", FAKE_VLLM_PID_FILE: pidFile }),
      { ...opts, ready_timeout_ms: 1_500 },
    ),
    /Cannot start engine: not ready after 1500 ms .*\n(.|\n)*Log: /,
  );
  const { pid, grandchild } = pids();
  assert.ok(!pidAlive(pid) && !pidAlive(grandchild));
  assert.deepEqual(groupMembers(pid), []);
});

Deno.test("an engine that ignores SIGTERM is killed after the grace period, grandchild included", async () => {
  const { pidFile, opts, pids } = setup();
  const engine = await launch(
    vllmCfg({ FAKE_VLLM_MODE: "ignore_term", FAKE_VLLM_GRANDCHILD: "1", FAKE_VLLM_PID_FILE: pidFile }),
    { ...opts, grace_ms: 400 },
  ) as ProcessEngine;
  const a = engine.stop();
  const b = engine.stop();
  assert.equal(a, b, "concurrent stops share one shutdown");
  await a;
  await engine.stop(); // idempotent
  assert.equal(engine.stopResult?.killed, true);
  assert.equal(engine.exitStatus?.signal, "SIGKILL");
  const { grandchild } = pids();
  assert.ok(!pidAlive(grandchild), "the TERM-ignoring grandchild got SIGKILL with the group");
  assert.deepEqual(groupMembers(engine.pid), []);
});

Deno.test("the API key reaches the engine and headers(), never the log, callbacks or errors", async () => {
  const { opts } = setup();
  const key = `sk-servelab-${crypto.randomUUID()}`;
  Deno.env.set("SERVELAB_TEST_API_KEY", key);
  const lines: string[] = [];
  try {
    const cfg = vllmCfg({ FAKE_VLLM_ECHO_KEY: "1" }, { api_key_env: "SERVELAB_TEST_API_KEY" });
    {
      await using engine = await launch(cfg, { ...opts, on_log_line: (l) => lines.push(l) });
      assert.deepEqual(engine.headers(), { Authorization: `Bearer ${key}` });
      const ok = await fetch(`${engine.baseUrl}/v1/models`, { headers: engine.headers() });
      assert.equal(ok.status, 200, "the engine got VLLM_API_KEY");
      await ok.body?.cancel();
      const denied = await fetch(`${engine.baseUrl}/v1/models`);
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
      const log = Deno.readTextFileSync(engine.logPath!);
      assert.ok(!log.includes(key), "log file has no key");
      assert.match(log, /'api_key': \['\[REDACTED\]'\]/);
    }
    assert.ok(lines.length > 10 && !lines.some((l) => l.includes(key)), "callback lines have no key");
    const err = await launch(
      vllmCfg({ FAKE_VLLM_ECHO_KEY: "1", FAKE_VLLM_MODE: "exit_early" }, {
        api_key_env: "SERVELAB_TEST_API_KEY",
      }),
      opts,
    ).then(() => undefined, (e: Error) => e);
    assert.ok(err && !err.message.includes(key), "error message has no key");
    assert.match(err.message, /\[REDACTED\]/, "the echoed line is in the tail, redacted");
  } finally {
    Deno.env.delete("SERVELAB_TEST_API_KEY");
  }
  await assert.rejects(
    launch(vllmCfg({}, { api_key_env: "SERVELAB_TEST_API_KEY" }), opts),
    /api_key_env names SERVELAB_TEST_API_KEY, but that environment variable is not set/,
  );
});

Deno.test("aborting the signal stops a running engine and cancels a launch in progress", async () => {
  const { pidFile, opts, pids } = setup();
  const ac = new AbortController();
  const engine = await launch(vllmCfg({}), { ...opts, signal: ac.signal }) as ProcessEngine;
  ac.abort();
  const status = await engine.exited;
  assert.equal(status.signal, "SIGTERM");
  await engine.stop();
  assert.equal(liveEngineCount(), 0);

  const ac2 = new AbortController();
  const pending = launch(
    vllmCfg({ FAKE_VLLM_MODE: "never_healthy", FAKE_VLLM_GRANDCHILD: "1", FAKE_VLLM_PID_FILE: pidFile }),
    { ...opts, signal: ac2.signal },
  );
  await waitFor(pidFile);
  ac2.abort();
  await assert.rejects(pending, (e: Error) => e.name === "AbortError");
  const { pid, grandchild } = pids();
  assert.ok(!pidAlive(pid) && !pidAlive(grandchild));
});

Deno.test("a port already in use is refused before spawning, and a missing vllm binary is named", async () => {
  const { opts } = setup();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  try {
    await assert.rejects(
      launch(vllmCfg({}, { port }), opts),
      new RegExp(`Cannot start engine: port ${port} on 127\\.0\\.0\\.1 is already in use .*port to 0`),
    );
  } finally {
    l.close();
  }
  await assert.rejects(
    launch(vllmCfg({}), { ...opts, vllm_command: ["/nonexistent/servelab-no-vllm"] }),
    /Cannot start engine: cannot run '\/nonexistent\/servelab-no-vllm' .*SERVELAB_VLLM_BIN/,
  );
  assert.equal(liveEngineCount(), 0);
});

Deno.test("engineArgv: vllm from SERVELAB_VLLM_BIN or vllm_command; sim runs lib/sim/main.ts", () => {
  const cfg = parseServeConfig({ engine: "vllm", model: "m", port: 8123 });
  Deno.env.set("SERVELAB_VLLM_BIN", "/opt/vllm/bin/vllm");
  try {
    assert.deepEqual(engineArgv(cfg).slice(0, 3), ["/opt/vllm/bin/vllm", "serve", "m"]);
  } finally {
    Deno.env.delete("SERVELAB_VLLM_BIN");
  }
  assert.deepEqual(engineArgv(cfg).slice(0, 2), ["vllm", "serve"]);
  assert.deepEqual(engineArgv(cfg, { vllm_command: ["python", "-m", "vllm"] }).slice(0, 4), [
    "python",
    "-m",
    "vllm",
    "serve",
  ]);
  const sim = parseServeConfig({ engine: "sim", model: "m", port: 8123 });
  if (simMainExists()) {
    const argv = engineArgv(sim);
    assert.equal(argv[0], Deno.execPath());
    assert.ok(argv.some((a) => a.endsWith("/lib/sim/main.ts")));
    assert.ok(argv.includes("--sim-startup-time-scale"));
  } else {
    assert.throws(() => engineArgv(sim), /lib\/sim\/main\.ts does not exist/);
  }
});

function simMainExists(): boolean {
  try {
    return Deno.statSync(new URL("../sim/main.ts", import.meta.url)).isFile;
  } catch {
    return false;
  }
}

Deno.test({
  name: "the sim engine plugs into launch(): ready, simulated startup report, group stopped",
  ignore: !simMainExists(), // lib/sim/main.ts is written in the sim area; skipped until it exists
  async fn() {
    const { dir } = setup();
    let leader: number;
    {
      await using engine = await launch(
        parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096 }),
        { log_dir: dir },
      );
      leader = engine.pid!;
      assert.equal(engine.kind, "sim");
      assert.equal((await fetch(`${engine.baseUrl}/health`)).status, 200);
      assert.equal(engine.startup?.simulated, true);
      assert.ok(engine.startup?.startup_time_scale !== undefined);
      assert.ok(engine.startup?.kv_cache_tokens !== undefined);
    }
    assert.deepEqual(groupMembers(leader), []);
  },
});

Deno.test("the embedded engine's process gets its own V8 flags, not the lab's young generation", async () => {
  const { simV8Flags, SIM_V8_DEFAULT } = await import("./launch.ts");
  const env = (v?: string) => ({ get: (n: string) => (n === "SERVELAB_SIM_V8_FLAGS" ? v : undefined) });
  assert.equal(simV8Flags(env()), SIM_V8_DEFAULT);
  assert.equal(simV8Flags(env("")), SIM_V8_DEFAULT);
  assert.equal(simV8Flags(env("--max-semi-space-size=64")), "--max-semi-space-size=64");
  // The engine launched under the lab's DENO_V8_FLAGS runs with the engine's, as its environment shows.
  const prev = Deno.env.get("DENO_V8_FLAGS");
  Deno.env.set("DENO_V8_FLAGS", "--min-semi-space-size=256,--max-semi-space-size=256");
  try {
    await using engine = await launch(
      parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 2048 }),
      { log_dir: Deno.makeTempDirSync() },
    );
    const environ = Deno.readTextFileSync(`/proc/${engine.pid}/environ`).split("\0");
    assert.ok(
      environ.includes(`DENO_V8_FLAGS=${SIM_V8_DEFAULT}`),
      environ.filter((e) => e.startsWith("DENO")).join(),
    );
  } finally {
    if (prev === undefined) Deno.env.delete("DENO_V8_FLAGS");
    else Deno.env.set("DENO_V8_FLAGS", prev);
  }
});
