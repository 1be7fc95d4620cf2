import assert from "node:assert/strict";
import {
  parsePrometheusText,
  type PromFamilies,
  type PromHistogramFamily,
  type PromScalarFamily,
} from "./prom_text.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));

function scalar(families: PromFamilies, name: string): PromScalarFamily {
  const fam = families.get(name);
  assert.ok(fam, `family ${name} is missing`);
  assert.ok(fam.kind !== "histogram" && fam.kind !== "summary", `${name} is a ${fam.kind}`);
  return fam;
}

function histogram(families: PromFamilies, name: string): PromHistogramFamily {
  const fam = families.get(name);
  assert.equal(fam?.kind, "histogram", `${name} should be a histogram`);
  return fam as PromHistogramFamily;
}

Deno.test("a labelled histogram keeps one series per label set with its own buckets, sum and count", () => {
  // The case parse-prometheus-text-format gets wrong (docs/adr/0004-prometheus-parser.md).
  const families = parsePrometheusText(
    `# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} 1.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 3.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 3.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 1.5
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.1",model_name="m"} 5.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="+Inf",model_name="m"} 7.0
vllm:time_to_first_token_seconds_count{engine="1",model_name="m"} 7.0
vllm:time_to_first_token_seconds_sum{engine="1",model_name="m"} 2.5
`,
  );
  const h = histogram(families, "vllm:time_to_first_token_seconds");
  assert.equal(h.help, "Histogram of time to first token in seconds.");
  assert.deepEqual(h.series, [
    {
      labels: { engine: "0", model_name: "m" },
      buckets: [{ le: 0.1, count: 1 }, { le: Infinity, count: 3 }],
      count: 3,
      sum: 1.5,
    },
    {
      labels: { engine: "1", model_name: "m" },
      buckets: [{ le: 0.1, count: 5 }, { le: Infinity, count: 7 }],
      count: 7,
      sum: 2.5,
    },
  ]);
});

Deno.test("label values unescape quotes, backslashes and newlines; HELP unescapes too", () => {
  const families = parsePrometheusText(
    "# HELP odd A help with a \\\\ backslash\\nand a second line\n# TYPE odd gauge\n" +
      'odd{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\"",}  1.458255915e9\n',
  );
  const fam = scalar(families, "odd");
  assert.equal(fam.help, "A help with a \\ backslash\nand a second line");
  assert.deepEqual(fam.samples[0].labels, {
    path: "C:\\DIR\\FILE.TXT",
    error: 'Cannot find file:\n"FILE.TXT"',
  });
  assert.equal(fam.samples[0].value, 1458255915);
});

Deno.test("values parse NaN, infinities, exponents and an optional timestamp", () => {
  const families = parsePrometheusText(
    "a NaN\nb +Inf\nc -Inf\nd 1.7537953269352946e+09\ne 4.0351260672e+010\nf 12.47 1395066363000\ng -3.5E-3\n",
  );
  const v = (name: string) => scalar(families, name).samples[0];
  assert.ok(Number.isNaN(v("a").value));
  assert.equal(v("b").value, Infinity);
  assert.equal(v("c").value, -Infinity);
  assert.equal(v("d").value, 1753795326.9352946);
  assert.equal(v("e").value, 40351260672);
  assert.equal(v("f").value, 12.47);
  assert.equal(v("f").timestamp_ms, 1395066363000);
  assert.equal(v("g").value, -0.0035);
  assert.equal(scalar(families, "a").kind, "untyped");
});

Deno.test("prometheus_client _created lines stay separate gauges and do not disturb their counter", () => {
  const families = parsePrometheusText(fixture("vllm_v0_10_metrics.txt"));
  const hits = scalar(families, "vllm:prefix_cache_hits_total");
  assert.equal(hits.kind, "counter");
  assert.equal(hits.samples.length, 1);
  const created = scalar(families, "vllm:prefix_cache_hits_created");
  assert.equal(created.kind, "gauge");
  assert.ok(created.samples[0].value > 1.7e9);
});

Deno.test("an OpenMetrics-style counter (TYPE without _total) is keyed by its _total samples; _created dropped", () => {
  const families = parsePrometheusText(
    "# TYPE vllm:prompt_tokens counter\n" +
      'vllm:prompt_tokens_total{engine="0"} 42\nvllm:prompt_tokens_created{engine="0"} 1.7e9\n# EOF\n',
  );
  assert.deepEqual([...families.keys()], ["vllm:prompt_tokens_total"]);
  const fam = scalar(families, "vllm:prompt_tokens_total");
  assert.equal(fam.kind, "counter");
  assert.deepEqual(fam.samples.map((s) => s.value), [42]);
});

Deno.test("both vLLM fixtures parse into typed families with complete, monotone histograms", () => {
  for (const name of ["vllm_v0_10_metrics.txt", "vllm_v0_22_metrics.txt", "llamacpp_metrics.txt"]) {
    const families = parsePrometheusText(fixture(name));
    assert.ok(families.size > 10, `${name}: only ${families.size} families`);
    for (const fam of families.values()) {
      if (fam.kind !== "histogram") continue;
      for (const s of fam.series) {
        assert.equal(s.buckets.at(-1)?.le, Infinity, `${name} ${fam.name}: no +Inf bucket`);
        assert.equal(s.buckets.at(-1)?.count, s.count, `${name} ${fam.name}: +Inf bucket != _count`);
        assert.ok(s.sum !== undefined, `${name} ${fam.name}: no _sum`);
        for (let i = 1; i < s.buckets.length; i++) {
          assert.ok(s.buckets[i].le > s.buckets[i - 1].le && s.buckets[i].count >= s.buckets[i - 1].count);
        }
      }
    }
  }
  const v22 = parsePrometheusText(fixture("vllm_v0_22_metrics.txt"));
  assert.equal(histogram(v22, "vllm:inter_token_latency_seconds").series.length, 2);
  assert.equal(scalar(v22, "process_max_fds").samples[0].value, 1048576);
  assert.equal(scalar(v22, "vllm:request_success_total").samples.length, 8);
});

Deno.test("families keep the order the server wrote them in", () => {
  const families = parsePrometheusText(fixture("vllm_v0_10_metrics.txt"));
  const names = [...families.keys()];
  assert.equal(names[0], "python_gc_objects_collected_total");
  assert.ok(names.indexOf("vllm:num_requests_running") < names.indexOf("vllm:time_to_first_token_seconds"));
  assert.ok(names.indexOf("vllm:time_to_first_token_seconds") < names.indexOf("vllm:cache_config_info"));
});

Deno.test("samples before their TYPE line, CRLF endings and declared-but-empty families are handled", () => {
  const families = parsePrometheusText(
    'x_bucket{le="1"} 2\r\nx_bucket{le="+Inf"} 3\r\nx_count 3\r\nx_sum 2.5\r\n# TYPE x histogram\r\n' +
      "# TYPE vllm:num_preemptions_total counter\r\n",
  );
  assert.deepEqual(histogram(families, "x").series[0].buckets, [{ le: 1, count: 2 }, {
    le: Infinity,
    count: 3,
  }]);
  assert.deepEqual(scalar(families, "vllm:num_preemptions_total").samples, []);
});

Deno.test("a summary keeps its quantiles, sum and count", () => {
  const families = parsePrometheusText(
    '# TYPE rpc summary\nrpc{quantile="0.99"} 76656\nrpc{quantile="0.5"} 4773\nrpc_sum 1.7560473e+07\nrpc_count 2693\n',
  );
  const fam = families.get("rpc");
  assert.equal(fam?.kind, "summary");
  if (fam?.kind !== "summary") return;
  assert.deepEqual(fam.series[0].quantiles, [{ quantile: 0.5, value: 4773 }, {
    quantile: 0.99,
    value: 76656,
  }]);
  assert.equal(fam.series[0].sum, 17560473);
  assert.equal(fam.series[0].count, 2693);
});

Deno.test("a malformed line throws an error naming the line number and the problem", () => {
  assert.throws(() => parsePrometheusText('ok 1\nbroken{a="1"} twelve\n'), /line 2 .*expected a number/);
  assert.throws(
    () => parsePrometheusText('x{a="unterminated} 1\n'),
    /line 1 .*unterminated value for label a/,
  );
  assert.throws(() => parsePrometheusText("<html><body>Not Found</body></html>\n"), /line 1 .*metric name/);
  assert.throws(() => parsePrometheusText("# TYPE x sparkline\n"), /unknown metric type "sparkline"/);
  assert.throws(
    () => parsePrometheusText('# TYPE h histogram\nh_bucket{le="soon"} 1\n'),
    /numeric "le" label/,
  );
});
