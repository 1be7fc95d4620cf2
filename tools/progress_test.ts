import assert from "node:assert/strict";
import { sweepProgress, writeProgress } from "../lib/run/mod.ts";
import { liveProgress, stripAnsi, wantsTerminal } from "./_progress.ts";

// deno-lint-ignore no-control-regex
const ESC = /\x1b/;

Deno.test("wantsTerminal: in place only on a terminal without NO_COLOR", () => {
  assert.equal(wantsTerminal(true, () => undefined), true);
  assert.equal(wantsTerminal(false, () => undefined), false);
  assert.equal(wantsTerminal(true, (k) => (k === "NO_COLOR" ? "1" : undefined)), false);
  assert.equal(wantsTerminal(true, (k) => (k === "NO_COLOR" ? "" : undefined)), true);
});

Deno.test("stripAnsi removes colour and cursor codes", () => {
  assert.equal(stripAnsi("\x1b[0m\x1b[33mWarning\x1b[0m x\x1b[2K"), "Warning x");
});

async function withProgress(terminal: boolean) {
  const dir = await Deno.makeTempDir();
  const out: string[] = [];
  const live = liveProgress({
    runDir: dir,
    notebooks: ["notebooks/01_ttft.ipynb", "notebooks/02_prefix_caching.ipynb"],
    terminal,
    write: (t) => out.push(t),
    pollMs: 60_000,
    columns: () => 200,
  });
  const sp = sweepProgress("ttft", 3);
  await writeProgress(dir, sp.start(1, { id: "launch-0", launch: 0 }));
  await live.tick();
  await live.tick(); // the same point again: no second plain line
  live.line('\x1b[33mWarning\x1b[0m "deno jupyter" is unstable and might change in the future.');
  live.line("/x/notebooks/01_ttft.ipynb: ok (9.7 s) -> /x/01_ttft.html");
  sp.finish("ran", 1);
  await writeProgress(dir, sp.start(2, { id: "launch-1", launch: 1 }));
  await live.tick();
  await live.stop();
  await Deno.remove(dir, { recursive: true });
  return out.join("");
}

Deno.test("liveProgress, plain: a line per point with i/n and the notebook, no escape codes, no Deno warning", async () => {
  const text = await withProgress(false);
  assert.doesNotMatch(text, ESC);
  assert.doesNotMatch(text, /unstable/);
  const lines = text.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.replace(/ · .*/, "")), [
    "  progress: notebook 1/2 01_ttft | ttft: point 1/3 launch=0",
    "/x/notebooks/01_ttft.ipynb: ok (9.7 s) -> /x/01_ttft.html",
    "  progress: notebook 2/2 02_prefix_caching | ttft: point 2/3 launch=1",
  ]);
  assert.match(lines[2], /elapsed, ~\d+ s left$/);
});

Deno.test("liveProgress, terminal: one status line redrawn in place, cleared for the runner's lines", async () => {
  const text = await withProgress(true);
  const CLEAR = "\r\x1b[2K";
  assert.ok(text.includes(`${CLEAR}notebook 1/2 01_ttft | ttft: point 1/3 launch=0`), JSON.stringify(text));
  assert.ok(text.includes(`${CLEAR}/x/notebooks/01_ttft.ipynb: ok`), JSON.stringify(text));
  assert.ok(text.endsWith("\r\x1b[2K"), "the status line is cleared at the end");
});
