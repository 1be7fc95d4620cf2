// Faults injected by the embedded engine itself (its --sim-* fault flags), measured through runLoad:
// every request is a record, failures are counted by kind, nothing is dropped or hangs.
import assert from "node:assert/strict";
import { requestRow } from "../analysis/request_row.ts";
import { summarizeRecords } from "../analysis/summary.ts";
import { parseServeConfig, type SimOptions } from "../engine/config.ts";
import { launch } from "../engine/launch.ts";
import { runLoad } from "./load.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

function sim(faults: SimOptions["faults"]) {
  return launch(parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 2048, sim: { faults } }));
}

Deno.test("HTTP 500s and dropped connections from the engine are counted by kind, none dropped from the records", async () => {
  await using engine = await sim({ http_500_rate: 0.25, drop_connection_rate: 0.25 });
  const count = 40;
  const { records } = await runLoad(
    engine.baseUrl,
    (i) => ({ endpoint: "completions", model: engine.model, prompt: `request ${i}`, max_tokens: 8 }),
    { kind: "concurrency", n: 4 },
    { count, warmup: 2, timeout_ms: 10_000 },
  );
  assert.equal(records.length, count + 2, "one record per request sent, failures included");
  assert.deepEqual(records.map((r) => r.index), [...Array(count + 2).keys()]);
  const measured = records.filter((r) => r.phase === "measure");
  const kinds = (k: string) => measured.filter((r) => r.error_kind === k).length;
  const http = kinds("http_status");
  const dropped = kinds("connection");
  assert.ok(http > 0 && dropped > 0, `both faults happened: ${http} x 500, ${dropped} dropped`);
  assert.ok(measured.filter((r) => r.error_kind === "http_status").every((r) => r.http_status === 500));
  assert.ok(
    measured.filter((r) => r.error_kind === "connection").every((r) => /mid-stream/.test(r.error_message!)),
    "drops happen inside the stream",
  );
  assert.equal(measured.filter((r) => !r.ok).length, http + dropped, "no other kind of failure");

  const summary = summarizeRecords(records);
  const stat = (metric: string, s: string) => summary.find((r) => r.metric === metric && r.stat === s)?.value;
  assert.equal(stat("requests", "total"), count);
  assert.equal(stat("requests", "failed"), http + dropped);
  assert.equal(stat("errors", "http_status"), http);
  assert.equal(stat("errors", "connection"), dropped);
});

Deno.test("a stream the engine stalls ends at the abort timeout as a row with error_kind timeout", async () => {
  await using engine = await sim({ stall_after_tokens: 2 });
  const { records } = await runLoad(
    engine.baseUrl,
    () => ({ endpoint: "completions", model: engine.model, prompt: "stall", max_tokens: 16 }),
    { kind: "concurrency", n: 2 },
    { count: 2, timeout_ms: 600 },
  );
  assert.equal(records.length, 2);
  for (const r of records) {
    const row = requestRow(r);
    assert.equal(row.ok, false);
    assert.equal(row.error_kind, "timeout");
    assert.match(String(row.error_message), /within 600 ms/);
    assert.equal(r.chunk_ms.length, 2, "the two tokens before the stall were read");
    // From the intended start: the abort timer starts before the send is stamped (at the write), and on a
    // loaded machine the two can be more than 10 ms apart.
    assert.ok(r.t_end_ms - r.t_intended_ms >= 590, "it waited for the timeout, no longer hung");
  }
});
