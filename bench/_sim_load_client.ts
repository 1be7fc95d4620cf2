/**
 * Load for bench/sim_realtime.ts, run as a separate process so the server keeps its own core: a closed
 * loop of N streaming completions against URL for S seconds (token-id prompts, ignore_eos), then prints
 * `{"requests": n, "chunks": m}` as JSON.
 *
 *   deno run -A bench/_sim_load_client.ts URL N SECONDS PROMPT_TOKENS MAX_TOKENS
 * @module
 */
const [url, nArg, sArg, pArg, mArg] = Deno.args;
const n = Number(nArg), seconds = Number(sArg), promptTokens = Number(pArg), maxTokens = Number(mArg);
if (!url || !(n > 0) || !(seconds > 0) || !(promptTokens > 0) || !(maxTokens > 0)) {
  console.error("Usage: _sim_load_client.ts URL N SECONDS PROMPT_TOKENS MAX_TOKENS (all positive)");
  Deno.exit(2);
}
const until = performance.now() + seconds * 1000;
let requests = 0, chunks = 0, k = 0;

async function one(): Promise<void> {
  // A distinct prompt per request (no prefix-cache hits), ids inside the tokenizer's vocabulary.
  const base = (k++ * 7919) % 5000;
  const prompt = Array.from({ length: promptTokens }, (_, i) => 100 + ((base + i * 31) % 5000));
  const r = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, ignore_eos: true, stream: true }),
  });
  const reader = r.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks += value.length > 0 ? 1 : 0;
  }
  requests++;
}

await Promise.all(Array.from({ length: n }, async () => {
  while (performance.now() < until) await one();
}));
console.log(JSON.stringify({ requests, chunks }));
