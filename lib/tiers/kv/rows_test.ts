import assert from "node:assert/strict";
import { parseStartupLog } from "../../engine/startup_log.ts";
import { parseCsv, toCsv } from "../../run/csv.ts";
import { KV_COLUMNS, kvFailureRow, KvRow, kvRowFromStartup } from "./rows.ts";

const fixture = (name: string) =>
  parseStartupLog(Deno.readTextFileSync(new URL(`../../engine/testdata/${name}`, import.meta.url)));
const point = { id: "L4096", role: "sweep" as const, max_model_len: 4096 };

Deno.test("a fit error in the startup report becomes a kv_fit row with vLLM's numbers", () => {
  const row = kvFailureRow(
    { id: "fit", role: "fit_probe", max_model_len: 1048576, gpu_memory_utilization: 0.5 },
    { report: fixture("fit_error_new.log"), message: "Cannot start engine: process exited with code 1" },
    { engine: "vllm", kv_bytes_per_token_computed: 28672 },
  );
  assert.equal(row.started, false);
  assert.equal(row.fit_error_kind, "kv_fit");
  assert.equal(row.fit_error_needed_gib, 44.25);
  assert.equal(row.fit_error_available_gib, 8.42);
  assert.equal(row.fit_error_estimated_max_model_len, 199552);
  assert.match(row.fit_error_message!, /^To serve at least one request/);
  assert.equal(row.gpu_memory_utilization, 0.5);
});

Deno.test("vLLM's other refusals are recognised: no KV memory, a length above the model's limit, anything else", () => {
  const noKv = kvFailureRow(point, { report: fixture("no_kv_memory.log"), message: "Cannot start engine" }, {
    engine: "vllm",
  });
  assert.equal(noKv.fit_error_kind, "no_kv_memory");
  const empty = parseStartupLog("");
  const tooLong = kvFailureRow(point, {
    report: empty,
    message: "Cannot start engine: process exited with code 1",
    log_tail: [
      "servelab-sim: error: Cannot start the embedded engine: User-specified max_model_len (65536) is greater " +
      "than the derived max_model_len (max_position_embeddings=32768 or model_max_length=None in model's config.json).",
    ],
  }, { engine: "sim" });
  assert.equal(tooLong.fit_error_kind, "max_len_exceeds_model");
  assert.match(tooLong.fit_error_message!, /^User-specified max_model_len \(65536\)/);
  const other = kvFailureRow(point, {
    report: empty,
    message: "Cannot start engine: not ready after 10 ms\nLog: x",
  }, {
    engine: "sim",
  });
  assert.equal(other.fit_error_kind, "start_failed");
  assert.equal(other.fit_error_message, "Cannot start engine: not ready after 10 ms");
});

Deno.test("a started engine's row: blocks from cache_config_info, pool tokens, bytes per token and memory by source", () => {
  const report = fixture("v0_27_one_line_kv.log");
  const row = kvRowFromStartup(point, report, {
    engine: "vllm",
    startup_s: 41.2,
    cache_config: {
      num_gpu_blocks: 1000,
      block_size: 16,
      gpu_memory_utilization: 0.9,
      engines: 1,
      labels: {},
    },
    device_total_gib: 79.19,
  });
  assert.equal(row.started, true);
  assert.equal(row.capacity_source, "metrics");
  assert.equal(row.num_gpu_blocks, 1000);
  assert.equal(row.pool_tokens, 16000);
  assert.equal(row.gpu_memory_utilization_used, 0.9);
  assert.equal(
    row.kv_bytes_per_token_measured,
    Number((report.available_kv_gib! * 2 ** 30 / 16000).toFixed(2)),
  );
  assert.equal(row.gpu_mem_source, "engine_log", "no nvidia-smi reading: memory from the log, labelled");
  assert.equal(row.non_kv_gib, Number((79.19 * 0.9 - report.available_kv_gib!).toFixed(4)));
  const withGpu = kvRowFromStartup(point, report, { engine: "vllm", gpu_mem_used_gib: 70 });
  assert.equal(withGpu.gpu_mem_source, "nvidia-smi");
  assert.equal(withGpu.gpu_mem_used_gib, 70);
  assert.equal(withGpu.capacity_source, "log");
  assert.equal(withGpu.non_kv_gib, undefined, "no device total: not measured");
});

Deno.test("rows survive the CSV round trip through the zod schema", () => {
  const row = kvFailureRow(point, { report: fixture("fit_error_old.log"), message: "x" }, { engine: "vllm" });
  const back = parseCsv(toCsv([row], KV_COLUMNS), KvRow);
  assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify([row])));
});

Deno.test("without blocks in metrics the log's block count and size give the pool; memory from the log adds weights, KV and graphs", () => {
  const report = fixture("v0_27_one_line_kv.log");
  const row = kvRowFromStartup(point, report, { engine: "vllm" });
  assert.equal(row.capacity_source, "log");
  assert.equal(row.num_gpu_blocks, report.num_gpu_blocks);
  assert.equal(row.pool_tokens, report.num_gpu_blocks! * report.block_size!);
  assert.equal(
    row.gpu_mem_used_gib,
    Number((report.weights_gib! + report.available_kv_gib! + report.graph_gib!).toFixed(4)),
  );
});
