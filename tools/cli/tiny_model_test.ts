import assert from "node:assert/strict";
import { main } from "./tiny_model.ts";

Deno.test("tiny-model CLI: writes a model folder; a missing DIR or a bad number exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await main([dir, "--seed", "5", "--layers", "1"]), 0);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assert.equal(config.num_hidden_layers, 1);
    assert.ok((await Deno.stat(`${dir}/model.safetensors`)).size > 1_000_000);
    assert.equal(await main(["--seed", "5"]), 2);
    assert.equal(await main([dir, "--seed", "x"]), 2);
    assert.equal(await main([dir, "--layers", "0"]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
