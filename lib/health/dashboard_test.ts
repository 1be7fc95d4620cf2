import assert from "node:assert/strict";
import { COUNTER_ALIASES, GAUGE_ALIASES, HISTOGRAM_ALIASES } from "../scrape/vllm_metrics.ts";
import { CHECK_PANELS, grafanaDashboard } from "./dashboard.ts";
import { defaultThresholds, type Thresholds } from "./thresholds.ts";

/** Every vLLM metric name lib/scrape reads, as exposed (histograms also as _bucket/_sum/_count). */
const KNOWN = new Set<string>([
  ...Object.values(GAUGE_ALIASES).flatMap((g) => g.names),
  ...Object.values(COUNTER_ALIASES).flat(),
  ...Object.values(HISTOGRAM_ALIASES).flat().flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
].filter((n) => n.startsWith("vllm:")));

type Panel = {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
  fieldConfig?: {
    defaults: { unit: string; thresholds: { steps: { color: string; value: number | null }[] } };
  };
  options?: { content?: string };
};

function derived(): Thresholds {
  const t = defaultThresholds();
  t.derived_from = { run_id: "r1", engine_label: "sim", simulated: true, model: "m" };
  t.checks = t.checks.map((c) => ({ ...c, value: c.value * 1.37 + 0.11 }));
  return t;
}

Deno.test("the dashboard is JSON with the datasource and model_name variables, schemaVersion 39", () => {
  const dash = JSON.parse(JSON.stringify(grafanaDashboard(derived())));
  assert.equal(dash.schemaVersion, 39);
  const vars = dash.templating.list.map((v: { name: string; type: string }) => `${v.name}:${v.type}`);
  assert.deepEqual(vars, ["DS_PROMETHEUS:datasource", "model_name:query"]);
  assert.match(dash.description, /r1.*SIMULATED/);
  for (const p of dash.panels as Panel[]) {
    if (p.type === "timeseries") assert.equal(p.datasource?.uid, "${DS_PROMETHEUS}");
  }
});

Deno.test("every expr names only vLLM metrics lib/scrape knows, filtered by model_name", () => {
  const dash = grafanaDashboard(derived()) as { panels: Panel[] };
  const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
  assert.ok(exprs.length >= 8);
  for (const e of exprs) {
    if (e.includes("DCGM_FI_DEV_")) {
      // GPU utilisation and VRAM headroom: NVIDIA's DCGM exporter, which has no model_name label.
      assert.match(e, /DCGM_FI_DEV_(GPU_UTIL|FB_FREE)/);
      continue;
    }
    const names = e.match(/vllm:[a-z0-9_]+/g) ?? [];
    assert.ok(names.length > 0, e);
    for (const n of names) assert.ok(KNOWN.has(n), `${n} in ${e} is not a name lib/scrape reads`);
    assert.match(e, /model_name=~"\$model_name"/);
    assert.ok(!e.includes("$M") && !e.includes("$W"), e);
  }
  assert.ok(
    exprs.some((e) => e.includes("vllm:kv_cache_usage_perc") && e.includes("vllm:gpu_cache_usage_perc")),
  );
});

Deno.test("GPU utilisation and VRAM headroom are real panels on DCGM's metrics, with their thresholds", () => {
  const t = derived();
  const dash = grafanaDashboard(t) as { panels: Panel[] };
  for (
    const [id, metric] of [["gpu_util_max", "DCGM_FI_DEV_GPU_UTIL"], [
      "gpu_memory_headroom_gib",
      "DCGM_FI_DEV_FB_FREE",
    ]]
  ) {
    const check = t.checks.find((c) => c.id === id)!;
    const panel = dash.panels.find((p) =>
      p.type === "timeseries" && p.targets?.some((x) => x.expr.includes(metric))
    );
    assert.ok(panel, `a time-series panel for ${id}`);
    const line = panel.fieldConfig!.defaults.thresholds.steps.find((s) => s.value !== null)!;
    assert.equal(line.value, check.value * CHECK_PANELS[id as keyof typeof CHECK_PANELS]!.scale);
  }
  assert.ok(!dash.panels.some((p) => p.type === "text"), "no check is left to a text panel");
});

Deno.test("each check with a Prometheus equivalent has a panel whose threshold is the file's value", () => {
  const t = derived();
  const dash = grafanaDashboard(t) as { panels: Panel[] };
  for (const check of t.checks) {
    const spec = CHECK_PANELS[check.id];
    if (!spec) {
      const text = dash.panels.find((p) => p.type === "text");
      assert.ok(text?.options?.content?.includes(`**${check.id}** ${check.op} ${check.value}`), check.id);
      continue;
    }
    const panel = dash.panels.find((p) => p.title.startsWith(`${spec.title} (`));
    assert.ok(panel, `no panel for ${check.id}`);
    const steps = panel.fieldConfig!.defaults.thresholds.steps;
    const line = steps.find((s) => s.value !== null)!;
    const inFileUnits = line.value! / spec.scale;
    assert.ok(Math.abs(inFileUnits - check.value) < 1e-9 * Math.max(1, check.value), check.id);
    // <= goes red above the line, >= below it.
    assert.equal(line.color, check.op === "<=" ? "red" : "green", check.id);
    if (check.unit === "ms") assert.equal(panel.fieldConfig!.defaults.unit, "s");
  }
});
