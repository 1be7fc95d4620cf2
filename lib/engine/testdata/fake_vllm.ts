/**
 * A fake `vllm` for launcher tests, used as `vllm_command: [Deno.execPath(), "run", "-A", <this file>]`.
 * Accepts `serve MODEL ...flags`, prints a fixture log, serves GET /health and GET /v1/models on
 * 127.0.0.1:<--port> after a delay. Behaviour comes from environment variables:
 *
 * - FAKE_VLLM_FIXTURE: fixture file in this directory to print (default v0_27_one_line_kv.log);
 * - FAKE_VLLM_MODE: "ok" (default) | "exit_early" (print, exit with FAKE_VLLM_EXIT_CODE, default 1)
 *   | "never_healthy" (print, never listen) | "ignore_term" (SIGTERM is ignored; only SIGKILL stops it);
 * - FAKE_VLLM_HEALTH_DELAY_MS: delay before the port opens (default 100);
 * - FAKE_VLLM_GRANDCHILD=1: fork a long-running grandchild (it ignores SIGTERM in ignore_term mode);
 * - FAKE_VLLM_PID_FILE: write {"pid", "grandchild"} there once started;
 * - FAKE_VLLM_ECHO_KEY=1: print VLLM_API_KEY in a log line, as vLLM's `non-default args` would;
 * - FAKE_VLLM_HEALTH_REDIRECT: answer GET /health with 307 to this URL.
 *
 * It also prints `fake_vllm: argv=<json> dev_mode=<VLLM_SERVER_DEV_MODE>` to stdout.
 * @module
 */
const env = (k: string) => Deno.env.get(k);
const args = Deno.args;
if (args[0] !== "serve" || !args[1]) {
  console.error(`fake_vllm: usage: serve MODEL [flags], got ${JSON.stringify(args)}`);
  Deno.exit(2);
}
const portIdx = args.indexOf("--port");
const port = portIdx > 0 ? Number(args[portIdx + 1]) : 8000;
const servedIdx = args.indexOf("--served-model-name");
const served = servedIdx > 0 ? args[servedIdx + 1] : args[1];
const mode = env("FAKE_VLLM_MODE") ?? "ok";

if (mode === "ignore_term") Deno.addSignalListener("SIGTERM", () => {});

let grandchild: number | undefined;
if (env("FAKE_VLLM_GRANDCHILD") === "1") {
  const script = mode === "ignore_term" ? "trap '' TERM; while :; do sleep 1; done" : "exec sleep 300";
  const gc = new Deno.Command("sh", { args: ["-c", script], stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  gc.unref();
  grandchild = gc.pid;
}
const pidFile = env("FAKE_VLLM_PID_FILE");
if (pidFile) Deno.writeTextFileSync(pidFile, JSON.stringify({ pid: Deno.pid, grandchild }));

console.log(`fake_vllm: argv=${JSON.stringify(args)} dev_mode=${env("VLLM_SERVER_DEV_MODE")}`);
const key = env("VLLM_API_KEY");
if (env("FAKE_VLLM_ECHO_KEY") === "1") {
  console.error(`(APIServer pid=${Deno.pid}) INFO non-default args: {'api_key': ['${key}']}`);
}
const fixture = env("FAKE_VLLM_FIXTURE") ?? "v0_27_one_line_kv.log";
const text = Deno.readTextFileSync(new URL(`./${fixture}`, import.meta.url));
for (const line of text.split("\n")) if (line && !line.startsWith("# ")) console.error(line);

if (mode === "exit_early") Deno.exit(Number(env("FAKE_VLLM_EXIT_CODE") ?? "1"));
if (mode !== "never_healthy") {
  await new Promise((r) => setTimeout(r, Number(env("FAKE_VLLM_HEALTH_DELAY_MS") ?? "100")));
  Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    const redirect = env("FAKE_VLLM_HEALTH_REDIRECT");
    if (path === "/health" && redirect) {
      return new Response(null, { status: 307, headers: { location: redirect } });
    }
    if (path === "/health") return new Response(null, { status: 200 });
    if (key && path.startsWith("/v1") && req.headers.get("authorization") !== `Bearer ${key}`) {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    if (path === "/v1/models") {
      return Response.json({ object: "list", data: [{ id: served, object: "model" }] });
    }
    return new Response("not found", { status: 404 });
  });
}
// Stay alive until signalled (the server, or this timer, keeps the event loop busy).
setInterval(() => {}, 60_000);
