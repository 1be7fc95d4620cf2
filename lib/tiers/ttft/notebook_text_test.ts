/**
 * Statements in notebooks/01_ttft.ipynb's text that were wrong once, pinned: FlashAttention makes
 * attention's memory linear in the prompt and cuts its memory traffic; its compute stays quadratic.
 * @module
 */
import assert from "node:assert/strict";

const NOTEBOOK = new URL("../../../notebooks/01_ttft.ipynb", import.meta.url);

Deno.test("01_ttft never says FlashAttention keeps attention's cost close to linear; it says the compute stays quadratic", async () => {
  const nb = JSON.parse(await Deno.readTextFile(NOTEBOOK)) as {
    cells: { cell_type: string; source: string[] }[];
  };
  const text = nb.cells.filter((c) => c.cell_type === "markdown").map((c) => c.source.join("")).join("\n")
    .replace(/\s+/g, " ");
  assert.doesNotMatch(text, /FlashAttention[^.]*(cost|compute)[^.]*(close to )?linear/i);
  assert.match(
    text,
    /Attention's compute stays quadratic in the prompt; FlashAttention\(-2\) makes its memory linear/,
  );
});
