// Every shell command a page shows survives a hostile model name: `sh -n` parses it, and the name reaches
// the program as one argument, unchanged.
import assert from "node:assert/strict";
import { engineCommand } from "../writeup/sections.ts";
import { labEnv, serveConfigFor } from "../tiers/lab_env.ts";
import { ttftCommands } from "../tiers/ttft/writeup.ts";
import { kvParams } from "../tiers/kv/params.ts";
import { kvNotesMarkdown } from "../tiers/kv/writeup.ts";
import { shellEnv, shellLine, shellQuote } from "./shell.ts";

const HOSTILE = `m'; touch /tmp/pwned #$(id) "x\` & y`;

/** `sh -n` (parse only, nothing runs) on a command; returns its exit code and stderr. */
function shN(cmd: string): { code: number; err: string } {
  const out = new Deno.Command("sh", { args: ["-n", "-c", cmd], stdout: "null", stderr: "piped" })
    .outputSync();
  return { code: out.code, err: new TextDecoder().decode(out.stderr) };
}

/** The words a shell makes of `words` (printf each on its own line, run through sh). */
function wordsOf(cmdTail: string): string[] {
  const out = new Deno.Command("sh", { args: ["-c", `printf '%s\\n' ${cmdTail}`], stdout: "piped" })
    .outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").slice(0, -1);
}

Deno.test("shellQuote keeps safe words and single-quotes the rest, so a hostile name stays one inert word", () => {
  assert.equal(shellQuote("Qwen/Qwen2.5-1.5B-Instruct"), "Qwen/Qwen2.5-1.5B-Instruct");
  assert.equal(shellQuote(""), "''");
  assert.deepEqual(wordsOf(shellLine(["--model", HOSTILE, "it's"])), ["--model", HOSTILE, "it's"]);
  assert.deepEqual(wordsOf(shellEnv({ A: HOSTILE })), [`A=${HOSTILE}`]);
  assert.notEqual(shN(`./servelab run --model ${HOSTILE}`).code, 0, "the unquoted form does not even parse");
});

Deno.test("every command written to a page parses in sh -n with a hostile model name", () => {
  const cmds: string[] = [];
  for (const engine of ["sim", "vllm", "external"] as const) {
    const lab = labEnv({
      SERVELAB_ENGINE: engine,
      SERVELAB_MODEL: HOSTILE,
      SERVELAB_URL: "http://127.0.0.1:8000",
      SERVELAB_ENGINE_ARGS: "--served-model-name a$b",
    });
    const cfg = serveConfigFor(lab, { port: 8000 });
    cmds.push(...ttftCommands(lab, cfg));
    cmds.push(engineCommand({ label: "x", kind: engine, config: cfg as unknown as Record<string, unknown> }));
  }
  for (const cmd of cmds) {
    const r = shN(cmd.replace("<free port>", "0"));
    assert.equal(r.code, 0, `sh -n failed on: ${cmd}\n${r.err}`);
  }
  const run = ttftCommands(
    labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_MODEL: HOSTILE }),
    serveConfigFor(
      labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_MODEL: HOSTILE }),
    ),
  )[0];
  assert.deepEqual(wordsOf(run.replace(/^\.\/servelab /, "")).slice(-2), ["--model", HOSTILE]);
});

Deno.test("the KV notes' rerun commands parse in sh -n and pass a hostile model name as one word", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test", SERVELAB_MODEL: HOSTILE });
  const text = kvNotesMarkdown({
    lab,
    params: kvParams(lab, {}),
    measurement: {
      run_id: "r1",
      engine_label: "SIMULATED: embedded engine",
      scaling_csv: "/x.csv",
      rows: [],
      load_rows: [],
      notes: [],
    },
    capacity: [],
  });
  const blocks = [...text.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]);
  const cmds = blocks.flatMap((b) => b.split("\n")).filter((l) =>
    l.includes("servelab run") || l.includes("run_notebooks")
  );
  assert.ok(cmds.length >= 2, text);
  for (const cmd of cmds) assert.equal(shN(cmd).code, 0, `sh -n failed on: ${cmd}`);
  for (const cmd of cmds) {
    const words = wordsOf(cmd);
    assert.equal(words[words.indexOf("--model") + 1], HOSTILE, words.join(" | "));
  }
});
