import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import { MIN_TREND_R2, ttftLengthSummary, ttftSummary } from "./analyze.ts";
import type { TtftRequestRow } from "./tables.ts";
import { ttftObservations } from "./writeup.ts";

let id = 0;
const len = (prompt_tokens_target: number, ttft_ms: number): TtftRequestRow => ({
  point_id: "attach-0",
  launch: 0,
  request_index: 0,
  series_index: 0,
  ...requestCells({ request_id: `t${id++}` }),
  series: "length",
  prompt_tokens_target,
  ttft_ms,
});

Deno.test("a flat, noisy TTFT-vs-length fit is 'no clear trend': no prefill rate is drawn from it", () => {
  // A flat line with noise: a tiny slope would read as millions of prompt tokens/s.
  const rows = [len(128, 20.1), len(512, 19.7), len(1024, 20.3), len(2048, 19.9)];
  const l = ttftLengthSummary(rows);
  assert.ok(l.fit && (l.fit.r2 ?? 0) < MIN_TREND_R2);
  assert.equal(l.clear_trend, false);
  assert.equal(l.prefill_tokens_per_s, undefined);
  const s = ttftSummary({ requests: rows, startup: [], server: [] });
  const text = ttftObservations(s, {
    config: { engine: "external", model: "m", url: "http://127.0.0.1:1" } as never,
  }).join("\n");
  assert.match(text, /no clear trend with the prompt/);
  assert.doesNotMatch(text, /tokens\/s|ms per 1,000 prompt tokens/);
});

Deno.test("a clean linear TTFT-vs-length fit gives the prefill rate", () => {
  const rows = [len(128, 11.28), len(512, 15.12), len(1024, 20.24), len(2048, 30.48)];
  const l = ttftLengthSummary(rows);
  assert.equal(l.clear_trend, true);
  assert.ok(Math.abs(l.prefill_tokens_per_s! - 100_000) < 1);
});
