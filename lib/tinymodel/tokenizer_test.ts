import assert from "node:assert/strict";
import { tinyModelSpec } from "./spec.ts";
import {
  byteToUnicode,
  TINY_SPECIAL_TOKENS,
  tinyDecode,
  tinyEncode,
  tinyTokenizer,
  tokenizerConfigJson,
  tokenizerJson,
} from "./tokenizer.ts";
import { seededText } from "../probe/prompts.ts";

const spec = tinyModelSpec();
const tok = tinyTokenizer(spec);

Deno.test("tokenizer: vocab is 256 bytes, learned merges, then the special tokens, filling vocab_size", () => {
  assert.equal(tok.tokens.length, spec.vocab_size);
  assert.deepEqual(tok.tokens.slice(0, 256), byteToUnicode());
  assert.equal(new Set(tok.tokens).size, tok.tokens.length);
  assert.deepEqual(tok.tokens.slice(-3), [...TINY_SPECIAL_TOKENS]);
  assert.equal(tok.special.eos_id, spec.vocab_size - 1);
  // Every merge joins two tokens that exist, into a token that exists.
  const known = new Set(tok.tokens);
  for (const m of tok.merges) {
    const [l, r] = m.split(" ");
    assert.ok(known.has(l) && known.has(r) && known.has(l + r), m);
  }
});

Deno.test("tokenizer: unseen text round-trips, and merges shorten it well below its byte count", () => {
  const text = seededText(424242, 200) + " ünïcödé 123 \t tabs";
  const ids = tinyEncode(tok, text);
  assert.equal(tinyDecode(tok, ids), text);
  assert.ok(ids.length < new TextEncoder().encode(text).length / 2.5, `${ids.length} tokens`);
  assert.ok(ids.every((i) => i < spec.vocab_size - TINY_SPECIAL_TOKENS.length));
});

Deno.test("tokenizer: tokenizer.json is HF BPE with byte-level pieces and the special tokens as added tokens", () => {
  const j = tokenizerJson(tok) as {
    model: { type: string; vocab: Record<string, number>; merges: string[] };
    added_tokens: { id: number; content: string; special: boolean }[];
    pre_tokenizer: { type: string };
    decoder: { type: string };
  };
  assert.equal(j.model.type, "BPE");
  assert.equal(j.pre_tokenizer.type, "ByteLevel");
  assert.equal(j.decoder.type, "ByteLevel");
  assert.equal(Object.keys(j.model.vocab).length + j.added_tokens.length, spec.vocab_size);
  assert.deepEqual(j.added_tokens.map((t) => [t.content, t.id, t.special]), [
    ["<|endoftext|>", 509, true],
    ["<|im_start|>", 510, true],
    ["<|im_end|>", 511, true],
  ]);
  assert.equal(j.model.merges.length, tok.merges.length);
  const cfg = tokenizerConfigJson(tok, spec);
  assert.equal(cfg.eos_token, "<|im_end|>");
  assert.match(String(cfg.chat_template), /<\|im_start\|>assistant/);
});

Deno.test("tokenizer: the same spec gives the same tokenizer", () => {
  assert.deepEqual(tinyTokenizer(tinyModelSpec({ seed: 9 })), tok);
});
