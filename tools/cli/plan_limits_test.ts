import assert from "node:assert/strict";
import { main } from "./plan.ts";

async function plan(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("plan: an unknown GPU names plan's own flag, --gpu", async () => {
  const r = await plan(["--model", "qwen2.5-1.5b", "--gpu", "B9000"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /Unknown GPU profile 'B9000'.*--gpu H100-80GB/);
  assert.doesNotMatch(r.err, /--sim-gpu/);
});

Deno.test("plan: --max-num-batched-tokens sets the activation estimate's batch", async () => {
  const small = await plan(["--model", "qwen2.5-1.5b", "--gpu", "L4", "--max-num-batched-tokens", "1024"]);
  const big = await plan(["--model", "qwen2.5-1.5b", "--gpu", "L4", "--max-num-batched-tokens", "16K"]);
  assert.equal(small.code, 0, small.err);
  assert.match(small.out, /estimate for 1,024 batched tokens/);
  assert.match(big.out, /estimate for 16,384 batched tokens/);
  const tokens = (s: string) => Number(/KV tokens +([\d,]+)/.exec(s)![1].replaceAll(",", ""));
  assert.ok(tokens(small.out) > tokens(big.out), "a larger batch leaves a smaller KV pool");
  assert.equal((await plan(["--model", "qwen2.5-1.5b", "--max-num-batched-tokens", "0"])).code, 2);
});

Deno.test("plan: a 'fits' within a few percent of the limit says so and names the estimates it rests on", async () => {
  const near = await plan([
    "--model",
    "qwen2.5-1.5b",
    "--gpu",
    "L4",
    "--concurrent",
    "146",
    "--tokens",
    "4K",
  ]);
  assert.equal(near.code, 0);
  assert.match(near.out, /FITS/);
  assert.match(near.out, /NEAR THE LIMIT: 3\.0% headroom/);
  assert.match(near.out, /activation peak \(0\.\d\d GiB, estimated for/);
  assert.match(near.out, /non-torch memory \(0\.\d\d GiB/);
  assert.match(
    near.out,
    /if they are 0\.\d\d GiB \(\d+% of their sum\) larger on the real engine, it does not fit/,
  );
  const far = await plan(["--model", "qwen2.5-1.5b", "--gpu", "L4", "--concurrent", "8", "--tokens", "4K"]);
  assert.doesNotMatch(far.out, /NEAR THE LIMIT/);
  const json = await plan([
    "--model",
    "qwen2.5-1.5b",
    "--gpu",
    "L4",
    "--concurrent",
    "146",
    "--tokens",
    "4K",
    "--json",
  ]);
  const nl = JSON.parse(json.out).answer.near_limit;
  assert.ok(nl.headroom_fraction < 0.05 && nl.activation_bytes > 0 && nl.non_torch_bytes > 0);
  assert.ok(
    Math.abs(nl.flips_at_fraction - nl.headroom_bytes / (nl.activation_bytes + nl.non_torch_bytes)) < 1e-9,
  );
});
