import assert from "node:assert/strict";
import { assertRendersAndMatches } from "../../report/_snapshot.ts";
import { plot } from "../../report/plot.ts";
import type { PrefixArmSummary, PrefixCliffCurve, PrefixRunRow } from "./analyze.ts";
import {
  prefixAgreementChart,
  prefixCliffChart,
  prefixKvChart,
  prefixShareChart,
  prefixThroughputChart,
  prefixTtftChart,
} from "./charts.ts";

// Synthetic summaries (not a measurement): a length sweep at concurrency 1 and 4, caching off and on, a share
// sweep, an eviction cliff with a capacity of 3 prefixes, and four runs for the agreement chart.
const LENGTHS = [128, 512, 2048];
function arm(p: Partial<PrefixArmSummary> & Pick<PrefixArmSummary, "sweep" | "arm">): PrefixArmSummary {
  return {
    point_id: `${p.sweep}-${p.prefix_tokens}-c${p.concurrency}`,
    concurrency: 1,
    prefix_tokens: 512,
    n: 8,
    n_ok: 8,
    ...p,
  };
}
const length: PrefixArmSummary[] = [1, 4].flatMap((concurrency) =>
  LENGTHS.flatMap((prefix_tokens) =>
    (["off", "on"] as const).map((a) =>
      arm({
        sweep: "length",
        arm: a,
        concurrency,
        prefix_tokens,
        ttft_p50_ms: a === "off" ? 20 + prefix_tokens / 32 * concurrency : 20 + concurrency,
        output_tok_s: a === "off" ? 4000 / (prefix_tokens / 128 + concurrency) : 300,
        // the one (c=4, 2048, on) run without KV samples is left out of the KV chart
        kv_usage_max: concurrency === 4 && prefix_tokens === 2048 && a === "on"
          ? undefined
          : prefix_tokens * concurrency / 8192 / (a === "on" ? 2 : 1),
      })
    )
  )
);
const share: PrefixArmSummary[] = [0, 50, 100].flatMap((share_pct) =>
  (["off", "on"] as const).map((a) =>
    arm({
      sweep: "share",
      arm: a,
      concurrency: 4,
      share_pct,
      ttft_p50_ms: a === "off" ? 40 : 40 - 0.3 * share_pct,
    })
  )
);
const summary = [...length, ...share];

const cliff: PrefixCliffCurve = {
  points: [1, 2, 3, 4, 5, 6].map((w) => ({
    point_id: `cliff-w${w}`,
    working_set: w,
    capacity_prefixes: 3,
    usage_hit_rate: w <= 3 ? 0.8 : 0.05,
    // the counters were not scraped at w=6: that cross is missing, the other two measures are drawn
    metric_hit_rate: w === 6 ? undefined : w <= 3 ? 0.8 : 0.05,
    expected_hit_rate: 0.8,
  })),
  capacity_prefixes: 3,
  pool_tokens: 2048,
  num_gpu_blocks: 17,
  prefix_tokens: 512,
  last_warm_working_set: 3,
  cliff_working_set: 4,
};

/** A run row; the cells the agreement chart does not read are fixed. */
function run(i: number, p: Partial<PrefixRunRow>): PrefixRunRow {
  return {
    sweep: "length",
    point_id: `len-${i}`,
    arm: "on",
    repeat: 0,
    order: i,
    concurrency: 1,
    prefix_tokens: 512,
    block_size: 16,
    block_size_source: "metrics",
    engine_label: "test fixture",
    reset_ok: true,
    n_prime: 1,
    n_measure: 4,
    n_ok: 4,
    expected_cached_tokens: 2048,
    tolerance_tokens: 16,
    kv_samples: 3,
    output_tokens: 32,
    client_ok: true,
    ...p,
  };
}
const runs: PrefixRunRow[] = [
  run(0, { usage_cached_tokens: 2048, metric_hits_tokens: 2048, measures_agree: true }),
  run(1, { usage_cached_tokens: 1024, metric_hits_tokens: 1040, measures_agree: true }),
  run(2, { usage_cached_tokens: 2048, metric_hits_tokens: 512, measures_agree: false }),
  // no counters scraped: not drawn
  run(3, { usage_cached_tokens: 2048 }),
];

/** The `<TAG ` marks inside every group `<g ... aria-label="NAME">`, nested panel groups included. */
function marks(svg: string, name: string, tag: string): number {
  let n = 0;
  for (const open of svg.matchAll(new RegExp(`<g [^>]*aria-label="${name}"[^>]*>`, "g"))) {
    // the group's body: up to the </g> that closes it
    const tags = /<g[ >]|<\/g>/g;
    tags.lastIndex = open.index + open[0].length;
    let depth = 1;
    let end = svg.length;
    for (let t = tags.exec(svg); t; t = tags.exec(svg)) {
      depth += t[0] === "</g>" ? -1 : 1;
      if (depth === 0) {
        end = t.index;
        break;
      }
    }
    n += (svg.slice(open.index, end).match(new RegExp(`<${tag} `, "g")) ?? []).length;
  }
  return n;
}

Deno.test("prefixTtftChart: a panel per concurrency, a line per arm in each, every length a dot (snapshot)", async () => {
  const chart = plot(prefixTtftChart(summary));
  assert.equal(chart.title, "TTFT p50 vs shared-prefix length");
  const svg = await assertRendersAndMatches(chart, import.meta.url, "prefix_ttft");
  assert.equal(marks(svg, "line", "path"), 4, "2 panels x 2 arms");
  assert.equal(marks(svg, "dot", "circle"), 12, "the 12 length points; the share sweep is left out");
  assert.equal(chart.legends.length, 1, "the arms' colour legend");
  for (const a of ["off", "on"]) assert.match(chart.legends[0], new RegExp(`>${a}<`));
});

Deno.test("prefixThroughputChart: output tok/s of every length point, by arm and concurrency (snapshot)", async () => {
  const chart = plot(prefixThroughputChart(summary));
  const svg = await assertRendersAndMatches(chart, import.meta.url, "prefix_throughput");
  assert.equal(marks(svg, "line", "path"), 4);
  assert.equal(marks(svg, "dot", "circle"), 12);
  assert.match(svg, />↑ output tok\/s</);
});

Deno.test("prefixKvChart: KV usage in percent, a point without samples left out (snapshot)", async () => {
  const chart = plot(prefixKvChart(summary));
  const svg = await assertRendersAndMatches(chart, import.meta.url, "prefix_kv");
  assert.equal(marks(svg, "dot", "circle"), 11, "12 length points less the one without KV samples");
  assert.match(svg, />↑ KV usage max \(%\)</);
});

Deno.test("prefixShareChart: the share sweep's point named in the subtitle, one line per arm (snapshot)", async () => {
  const chart = plot(prefixShareChart(summary));
  assert.equal(
    chart.subtitle,
    "512-token prefix, concurrency 4; the rest carry prefixes of their own",
  );
  const svg = await assertRendersAndMatches(chart, import.meta.url, "prefix_share");
  assert.equal(marks(svg, "line", "path"), 2);
  assert.equal(marks(svg, "dot", "circle"), 6);
  assert.equal(
    plot(prefixShareChart(length)).subtitle,
    undefined,
    "no share sweep: no subtitle, never undefined",
  );
});

Deno.test("prefixCliffChart: both measures and the expectation, the capacity rule dashed (snapshot)", async () => {
  const chart = plot(prefixCliffChart(cliff));
  assert.equal(
    chart.subtitle,
    "pool 2048 KV tokens, 512-token prefixes, round-robin traffic; dashed: computed capacity 3 prefixes",
  );
  const svg = await assertRendersAndMatches(chart, import.meta.url, "prefix_cliff");
  assert.equal(marks(svg, "rule", "line"), 1, "the capacity rule");
  assert.match(svg, /stroke-dasharray="4,3"[^>]*aria-label="rule"/);
  assert.equal(marks(svg, "line", "path"), 3, "usage, counters, expected");
  assert.equal(marks(svg, "dot", "circle"), 6, "a ring per working set for usage");
  assert.equal(marks(svg, "dot", "path"), 11, "crosses: 5 counter points and 6 expected");
  const none = plot(prefixCliffChart({ points: [] }));
  assert.equal(
    none.subtitle,
    "pool ? KV tokens, ?-token prefixes, round-robin traffic; dashed: computed capacity ? prefixes",
  );
  assert.doesNotMatch(none.svg, /aria-label="rule"/, "no capacity: no rule");
});

Deno.test("prefixAgreementChart: a dot per run with both measures, disagreement in red, y = x dashed (snapshot)", async () => {
  const chart = plot(prefixAgreementChart(runs));
  const svg = await assertRendersAndMatches(chart, import.meta.url, "prefix_agreement");
  assert.equal(marks(svg, "dot", "circle"), 3, "the run without counters is left out");
  assert.equal(
    (svg.match(/<circle [^>]*stroke="#d62728"/g) ?? []).length,
    1,
    "the one run whose measures disagree",
  );
  assert.equal(marks(svg, "line", "path"), 1, "y = x");
  assert.match(svg, /stroke-dasharray="4,3"[^>]*aria-label="line"/);
});
