import assert from "node:assert/strict";
import { join } from "node:path";
import { loadLocalTokenizer, localTokenizerFor, TOKENIZER_ENV } from "./local_tokenizer.ts";
import { promptOfTokens, tokenize } from "./prompts.ts";
import { dialServer } from "./testing/dial_server.ts";

/** A small Hugging Face tokenizer.json (word level) written into a model-like folder. */
async function modelFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tok-" });
  const words = "the of and to in is that for it as was with be by on not".split(" ");
  const vocab: Record<string, number> = { "[UNK]": 0, ".": 1 };
  words.forEach((w, i) => vocab[w] = i + 2);
  await Deno.writeTextFile(
    join(dir, "tokenizer.json"),
    JSON.stringify({
      version: "1.0",
      added_tokens: [],
      normalizer: { type: "Lowercase" },
      pre_tokenizer: { type: "Whitespace" },
      post_processor: null,
      decoder: null,
      model: { type: "WordLevel", vocab, unk_token: "[UNK]" },
    }),
  );
  return dir;
}

Deno.test("a tokenizer.json (file or model folder) is read with the model's own vocabulary", async () => {
  const dir = await modelFolder();
  try {
    assert.deepEqual((await loadLocalTokenizer(dir)).encode("the of and"), [2, 3, 4]);
    assert.deepEqual((await loadLocalTokenizer(join(dir, "tokenizer.json"))).encode("to in"), [5, 6]);
    assert.equal((await localTokenizerFor(dir, {}))?.source, join(dir, "tokenizer.json"));
    assert.equal(await localTokenizerFor("Qwen/Qwen2.5-1.5B-Instruct", {}), undefined);
    await assert.rejects(
      loadLocalTokenizer(join(dir, "nope")),
      /SERVELAB_TOKENIZER: '.*nope' does not exist/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server without /tokenize gets prompts of exact length from the local tokenizer, else a clear error", async () => {
  await using srv = await dialServer({ tokens: 1 });
  const dir = await modelFolder();
  const before = Deno.env.get(TOKENIZER_ENV);
  try {
    Deno.env.delete(TOKENIZER_ENV);
    await assert.rejects(
      tokenize(srv.baseUrl, "some/model", "the of"),
      /no \/tokenize \(.*HTTP 404\) and the lab has no local tokenizer for model 'some\/model'. Set SERVELAB_TOKENIZER=/,
    );
    Deno.env.set(TOKENIZER_ENV, dir);
    assert.deepEqual(await tokenize(srv.baseUrl, "some/model", "the of"), [2, 3]);
    const ids = await promptOfTokens(srv.baseUrl, "some/model", 100, { seed: 3 });
    assert.equal(ids.length, 100);
    // /tokenize is asked once per server, then remembered as missing.
    assert.equal(
      srv.truths().filter((t) => t.path === "/tokenize").length,
      0,
      "the dial server records generation only",
    );
  } finally {
    if (before === undefined) Deno.env.delete(TOKENIZER_ENV);
    else Deno.env.set(TOKENIZER_ENV, before);
    await Deno.remove(dir, { recursive: true });
  }
});
