import assert from "node:assert/strict";
import { main } from "./sim.ts";

Deno.test("servelab sim: usage without arguments (exit 2), help on --help (exit 0), bad flags exit 2", async () => {
  const log = console.log, err = console.error;
  const out: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void out.push(a.join(" "));
  try {
    assert.equal(await main([]), 2);
    assert.equal(await main(["--help"]), 0);
    assert.match(out.join("\n"), /Usage: servelab sim serve MODEL/);
    assert.match(out.join("\n"), /Qwen\/Qwen2\.5-1\.5B-Instruct/);
    assert.equal(await main(["serve", "Qwen/Qwen2.5-1.5B-Instruct", "--port", "x"]), 2);
    assert.match(out.at(-1)!, /--port needs an integer, got 'x'/);
  } finally {
    console.log = log;
    console.error = err;
  }
});
