/**
 * Real-engine tests: the lab against llama.cpp's server serving the tiny model as GGUF. Not part of the
 * default gate's `test` step (they install llama.cpp and start a server): `./servelab test --real` runs
 * them (tools/ok.ts's `real` step), or `deno test -A tools/real/llamacpp_real_test.ts`.
 *
 * One server for the whole file (steps share it), stopped in `finally`; the last step checks that its
 * process group is gone.
 */
import assert from "node:assert/strict";
import {
  createClock,
  createRun,
  finishRun,
  parsePrometheusText,
  probe,
  promptOfTokens,
  runLoad,
  serverMetrics,
  tinyModelSpec,
} from "../../lib/mod.ts";
import { groupMembers } from "../../lib/engine/mod.ts";
import { tinyEncode, tinyTokenizer } from "../../lib/tinymodel/mod.ts";
import { ROOT, runNotebooks } from "../_jupyter.ts";
import { installLlamaServer, prepareTinyGguf, startLlamaServer } from "./llamacpp_serve.ts";

async function metrics(baseUrl: string) {
  const res = await fetch(`${baseUrl}/metrics`);
  assert.equal(res.status, 200, "llama-server was started with --metrics");
  return serverMetrics(parsePrometheusText(await res.text()));
}

Deno.test("llama.cpp's server: the lab's probe, load, metrics and Tier 1 work against it", async (t) => {
  const command = await installLlamaServer();
  const gguf = await prepareTinyGguf();
  const logDir = await Deno.makeTempDir({ prefix: "servelab-llamacpp-real-" });
  const server = await startLlamaServer({
    model_path: gguf,
    command,
    parallel: 4,
    log_path: `${logDir}/llama-server.log`,
  });
  const clock = createClock();
  const model = server.model;
  try {
    await t.step("startup: /health answers 200 and /v1/models serves the alias", async () => {
      assert.ok(server.ready_s! > 0 && server.ready_s! < 60);
      const models = await (await fetch(`${server.baseUrl}/v1/models`)).json();
      assert.ok(models.data.some((m: { id: string }) => m.id === model), JSON.stringify(models.data));
      assert.ok(groupMembers(server.pid!).length >= 1);
    });

    await t.step(
      "tokenizer: llama.cpp tokenizes the GGUF vocabulary exactly as the lab's encoder",
      async () => {
        const tok = tinyTokenizer(tinyModelSpec());
        for (
          const text of ["the cache is warm", " Prefix caching, 1234 tokens!\n\nhello  world", "ünïcode → ok"]
        ) {
          const res = await fetch(`${server.baseUrl}/tokenize`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ content: text }),
          });
          const { tokens } = await res.json();
          assert.deepEqual(tokens, tinyEncode(tok, text), `tokens of ${JSON.stringify(text)}`);
        }
        // The lab's own exact-length prompt builder goes through the same endpoint.
        assert.equal((await promptOfTokens(server.baseUrl, model, 300, { seed: 4 })).length, 300);
      },
    );

    await t.step("probe: one streamed completion with usage, greedy and repeatable", async () => {
      const prompt = await promptOfTokens(server.baseUrl, model, 64, { seed: 1 });
      const req = { endpoint: "completions" as const, model, prompt, max_tokens: 12, ignore_eos: true };
      const a = await probe(server.baseUrl, req, { clock, timeout_ms: 30_000 });
      assert.ok(a.ok, a.error_message);
      assert.equal(a.http_status, 200);
      assert.equal(a.completion_tokens, 12);
      assert.equal(a.prompt_tokens, 64);
      assert.equal(a.finish_reason, "length");
      assert.equal(a.chunk_ms.length, 12, "one content chunk per generated token");
      assert.ok(a.t_first_content_ms! >= a.t_send_ms && a.t_end_ms! >= a.t_first_content_ms!);
      const b = await probe(server.baseUrl, req, { clock, timeout_ms: 30_000 });
      assert.ok(b.ok, b.error_message);
      assert.equal(b.output_chars, a.output_chars, "temperature 0 gives the same text twice");
      assert.ok((b.cached_tokens ?? 0) > 0, "the same prompt again reuses the slot's cached prefix");
    });

    await t.step("chat: the GGUF's ChatML template serves /v1/chat/completions", async () => {
      const rec = await probe(server.baseUrl, {
        endpoint: "chat",
        model,
        prompt: "What is a KV cache?",
        max_tokens: 6,
        ignore_eos: true,
      }, { clock, timeout_ms: 30_000 });
      assert.ok(rec.ok, rec.error_message);
      assert.equal(rec.completion_tokens, 6);
    });

    await t.step("load + metrics: counters move by exactly what the records say", async () => {
      const before = await metrics(server.baseUrl);
      assert.equal(before.server, "llamacpp");
      const prompts = await Promise.all(
        [0, 1, 2, 3].map((i) => promptOfTokens(server.baseUrl, model, 96, { seed: 100 + i })),
      );
      const { records, self_check } = await runLoad(
        server.baseUrl,
        (i) => ({ endpoint: "completions", model, prompt: prompts[i % 4], max_tokens: 16, ignore_eos: true }),
        { kind: "concurrency", n: 4 },
        { count: 12, clock, timeout_ms: 60_000 },
      );
      assert.equal(records.length, 12);
      assert.ok(records.every((r) => r.ok), records.find((r) => !r.ok)?.error_message);
      assert.ok(self_check.max_in_flight >= 2);
      // llama.cpp updates its counters and frees the slot as a request ends: wait (2 s at most) until settled.
      let after = await metrics(server.baseUrl);
      for (
        let i = 0;
        i < 20 &&
        (after.gauges.running !== 0 ||
          after.counters.generation_tokens! - before.counters.generation_tokens! < 12 * 16);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 100));
        after = await metrics(server.baseUrl);
      }
      const sum = (f: (r: typeof records[number]) => number | undefined) =>
        records.reduce((n, r) => n + (f(r) ?? 0), 0);
      assert.equal(after.counters.generation_tokens! - before.counters.generation_tokens!, 12 * 16);
      assert.equal(
        after.counters.prompt_tokens! - before.counters.prompt_tokens!,
        sum((r) => r.prompt_tokens),
      );
      assert.equal(
        after.counters.prefix_cache_hits! - before.counters.prefix_cache_hits!,
        sum((r) => r.cached_tokens),
        "Δ cached-prompt counter = Σ usage.prompt_tokens_details.cached_tokens",
      );
      assert.ok(sum((r) => r.cached_tokens) > 0, "12 requests over 4 prompts reuse cached prefixes");
      assert.equal(after.gauges.running, 0);
      assert.equal(after.gauges.waiting, 0);
    });

    await t.step("Tier 1 notebook at test size runs against it as an external engine", async () => {
      const root = await Deno.makeTempDir({ prefix: "servelab-llamacpp-tier1-" });
      const run = await createRun({ engine: "external", root, params: { size: "test" } });
      const out = run.dir;
      const r = await runNotebooks([`${ROOT}/notebooks/01_ttft.ipynb`], {
        out,
        env: {
          SERVELAB_SIZE: "test",
          SERVELAB_ENGINE: "external",
          SERVELAB_URL: server.baseUrl,
          SERVELAB_MODEL: model,
          SERVELAB_RUN_DIR: out,
          SERVELAB_TTFT_LENGTHS: "128,1024",
        },
      });
      assert.equal(r.code, 0, `the notebook failed; see ${out}`);
      const csv = await Deno.readTextFile(`${out}/ttft.csv`);
      const header = csv.split("\n")[0].split(",");
      const rows = csv.trim().split("\n").slice(1).map((l) => l.split(","));
      const col = (name: string) => header.indexOf(name);
      const warm = rows.filter((r) => r[col("series")] === "warm");
      assert.ok(warm.length >= 4, `warm rows: ${warm.length}`);
      assert.ok(warm.every((r) => r[col("ok")] === "true"), "every warm request succeeded");
      assert.ok(warm.every((r) => Number(r[col("ttft_ms")]) > 0));
      const md = await Deno.readTextFile(`${out}/first_token_latency.md`);
      assert.match(md, /external server at http:\/\/127\.0\.0\.1:\d+/);
      await finishRun(run, "complete");
      await Deno.remove(root, { recursive: true });
    });
  } finally {
    await server.stop();
  }
  assert.deepEqual(groupMembers(server.pid!), [], "no process of llama-server's group is left");
  await Deno.remove(logDir, { recursive: true });
});
