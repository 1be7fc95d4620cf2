import assert from "node:assert/strict";
import { main } from "./plan.ts";

async function run(args: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("plan prints the capacity labelled as computed, with the KV bytes per token formula", async () => {
  const r = await run(["--model", "qwen2.5-1.5b", "--gpu", "H100-80GB", "--max-model-len", "4K"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /computed from the model .* not measured/);
  assert.match(
    r.out,
    /KV bytes per token\s+28,672 B = 2 \(K, V\) x 28 layers x 2 KV heads x 128 head_dim x 2 B/,
  );
  assert.match(r.out, /max concurrency\s+[\d.]+x at max_model_len 4,096/);
  assert.doesNotMatch(r.out, /concurrent requests of/);
});

Deno.test("plan answers the concurrency question with the fit and the headroom", async () => {
  const base = ["--model", "qwen2.5-1.5b", "--kv-cache-memory-bytes", "1G", "--max-model-len", "8K"];
  const yes = await run([...base, "--concurrent", "8", "--tokens", "4K"]);
  assert.equal(yes.code, 0, yes.err);
  assert.match(yes.out, /8 concurrent requests of 4,096 tokens: FITS/);
  assert.match(yes.out, /headroom\s+4,656 tokens/);
  const no = await run([...base, "--concurrent", "10", "--tokens", "4096"]);
  assert.equal(no.code, 0, "a no-fit is an answer, not a failure");
  assert.match(no.out, /DOES NOT FIT/);
});

Deno.test("plan --json gives the plan and the answer as data", async () => {
  const r = await run([
    "--model",
    "qwen2.5-1.5b",
    "--gpu",
    "L4",
    "--concurrent",
    "4",
    "--tokens",
    "2048",
    "--json",
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.source, "model");
  assert.equal(j.plan.kv_bytes_per_token, 28_672);
  assert.equal(j.answer.fits, true);
  assert.equal(j.answer.kv_tokens_needed, 4 * 2048);
});

Deno.test("plan exits 2 on bad arguments and 1 when planning fails, naming the problem", async () => {
  const missing = await run(["--gpu", "T4"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--model is required \(known: .*Qwen\/Qwen2.5-1.5B-Instruct/);
  assert.equal((await run(["--model", "qwen2.5-1.5b", "--concurrent", "8"])).code, 2);
  assert.equal((await run(["--model", "qwen2.5-1.5b", "--util", "1.5"])).code, 2);
  const unknown = await run(["--model", "acme/Nope"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /Unknown model 'acme\/Nope'/);
  const long = await run(["--model", "phi-3-mini", "--max-model-len", "8K"]);
  assert.equal(long.code, 1);
  assert.match(long.err, /User-specified max_model_len \(8192\)/);
});
