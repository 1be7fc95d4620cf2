import assert from "node:assert/strict";
import {
  applyChatTemplate,
  decode,
  encode,
  EOS_TOKEN_ID,
  IM_START_TOKEN_ID,
  requestSeed,
  syntheticText,
  syntheticTokenIds,
  tokenFor,
  VOCAB_SIZE,
} from "./tokenizer.ts";

const PROSE =
  "Prefix caching lets the engine skip recomputing the keys and values of a shared prompt prefix. " +
  "When many chat requests begin with the same long system prompt, the first request pays for the whole " +
  "prefill and the following ones only compute their own question, so their time to first token drops. " +
  "The cache lives in the same memory as running requests, and under pressure the least recently used " +
  "blocks are evicted first. Operators should size the working set of prefixes against the pool.";

Deno.test("encode gives about four characters per token on English prose", () => {
  const ratio = PROSE.length / encode(PROSE).length;
  assert.ok(ratio > 3.5 && ratio < 4.8, `chars/token ${ratio.toFixed(2)}`);
});

Deno.test("encode is deterministic and ids stay in the vocabulary", () => {
  const a = encode(PROSE);
  const b = encode(PROSE.slice(0, 50) + PROSE.slice(50));
  assert.deepEqual(a, b);
  assert.ok(a.every((id) => Number.isInteger(id) && id >= 0 && id < VOCAB_SIZE));
  assert.deepEqual(encode("Hello world"), encode("Hello").concat(encode(" world")));
});

Deno.test("a shared text prefix ending on a word boundary gives a shared token prefix", () => {
  const prefix = PROSE + "\n\n";
  const x = encode(prefix + "What is a block?");
  const y = encode(prefix + "How big is the pool?");
  const p = encode(prefix);
  assert.deepEqual(x.slice(0, p.length), p);
  assert.deepEqual(y.slice(0, p.length), p);
});

Deno.test("decode inverts encode for text made of the vocabulary", () => {
  for (const text of [" kavo relu. tema, zi!", "kavo\n\n12 (be) ka...\n\nthe end.", syntheticText(300, 5)]) {
    assert.equal(decode(encode(text)), text);
  }
  const chat = applyChatTemplate([{ role: "user", content: " kavo relu" }], { default_system: false });
  assert.equal(decode(encode(chat)), chat);
});

Deno.test("special tokens are single ids and can be skipped when decoding", () => {
  const ids = encode("<|im_start|>user\n kavo<|im_end|>");
  assert.equal(ids[0], IM_START_TOKEN_ID);
  assert.equal(ids.at(-1), EOS_TOKEN_ID);
  assert.equal(decode(ids, { skip_special_tokens: true }), "user\n kavo");
});

Deno.test("decode names a bad id", () => {
  assert.throws(() => decode([VOCAB_SIZE]), /token id \d+/);
  assert.throws(() => decode([-1]), /token id -1/);
});

Deno.test("syntheticText has exactly the asked number of tokens", () => {
  for (const n of [1, 16, 2000]) {
    assert.equal(encode(syntheticText(n, n)).length, n);
    assert.deepEqual(encode(syntheticText(n, 9)), syntheticTokenIds(n, 9));
  }
  assert.notDeepEqual(syntheticTokenIds(64, 1), syntheticTokenIds(64, 2));
});

Deno.test("generated tokens are deterministic, readable and depend on both seeds", () => {
  const gen = (seed: number, id: string) =>
    Array.from({ length: 200 }, (_, i) => tokenFor(seed, requestSeed(id), i, { allow_eos: false }));
  assert.deepEqual(gen(0, "a"), gen(0, "a"));
  assert.notDeepEqual(gen(0, "a"), gen(1, "a"));
  assert.notDeepEqual(gen(0, "a"), gen(0, "b"));
  const text = decode(gen(0, "a"));
  assert.match(text, /^( [a-z]+[.,!?:;]?)+$/);
  assert.equal(decode(encode(text)), text);
  assert.ok(!gen(0, "a").includes(EOS_TOKEN_ID));
});

Deno.test("EOS comes at a plausible rate and never as the first token", () => {
  let eos = 0;
  let first = 0;
  for (let r = 0; r < 2000; r++) {
    if (tokenFor(3, r, 0) === EOS_TOKEN_ID) first++;
    for (let i = 1; i < 50; i++) if (tokenFor(3, r, i) === EOS_TOKEN_ID) eos++;
  }
  assert.equal(first, 0);
  const rate = eos / (2000 * 49);
  assert.ok(rate > 1 / 400 && rate < 1 / 180, `EOS rate ${rate}`);
});

Deno.test("chat template adds Qwen's role markers and default system prompt", () => {
  const text = applyChatTemplate([{ role: "user", content: "Hi" }]);
  assert.equal(
    text,
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
  );
  const own = applyChatTemplate([{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], {
    add_generation_prompt: false,
  });
  assert.ok(!own.includes("Qwen") && !own.endsWith("assistant\n"));
  assert.ok(encode(text).length > encode("Hi").length + 20);
});
