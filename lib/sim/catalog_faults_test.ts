// One broken catalog file is named and skipped; the other models stay usable.
import assert from "node:assert/strict";
import { catalogProblems, ModelSpec, readCatalogDir } from "./catalog.ts";

Deno.test("a truncated catalog file is named and skipped, not fatal to the other models", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = new URL("../../data/models/", import.meta.url);
    const good = Deno.readTextFileSync(new URL("Qwen--Qwen2.5-1.5B-Instruct.json", src));
    const other = Deno.readTextFileSync(new URL("Qwen--Qwen2.5-0.5B-Instruct.json", src));
    Deno.writeTextFileSync(`${dir}/Qwen--Qwen2.5-1.5B-Instruct.json`, good);
    Deno.writeTextFileSync(`${dir}/Qwen--Qwen2.5-0.5B-Instruct.json`, other.slice(0, other.length / 2));
    Deno.writeTextFileSync(`${dir}/zz-bad-shape.json`, JSON.stringify({ id: "x" }));
    const c = readCatalogDir(new URL(`file://${dir}/`), ModelSpec);
    assert.deepEqual(c.items.map((m) => m.id), ["Qwen/Qwen2.5-1.5B-Instruct"]);
    assert.equal(c.problems.length, 2);
    assert.match(
      c.problems[0].error,
      /Cannot read catalog file .*Qwen--Qwen2\.5-0\.5B-Instruct\.json: .*Fix or remove/,
    );
    assert.match(c.problems[1].error, /Invalid catalog file .*zz-bad-shape\.json: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(catalogProblems(), [], "the repository's own catalog is clean");
});
