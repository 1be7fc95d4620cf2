import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { $display } from "./bundle.ts";
import { displaySafe, headerText, table } from "./table.ts";
import { toBundle } from "./display.ts";

Deno.test("UInt64 columns are cast so the table shows numbers, not BigInt", () => {
  const df = pl.DataFrame({ n: [1n, 2n, 3n], name: ["a", "b", "c"] });
  assert.equal(String(df.dtypes[0]), "DataType(UInt64)");
  assert.equal(typeof df.toRecords()[0].n, "bigint");
  const safe = displaySafe(df);
  assert.equal(String(safe.dtypes[0]), "DataType(Int64)");
  const t = table(df);
  assert.deepEqual(t.rows[0], { n: 1, name: "a" });
  const b = t[$display]();
  assert.doesNotThrow(() => JSON.stringify(b));
  assert.match(
    String(b["text/html"]),
    /<td style="text-align:right">3<\/td><td style="text-align:left;white-space:nowrap">c<\/td>/,
  );
  assert.match(
    String(b["text/html"]),
    /<th style="text-align:right">n<\/th><th style="text-align:left;white-space:nowrap">name<\/th>/,
  );
  // show() routes DataFrames through table()
  assert.deepEqual(toBundle(df), b);
});

Deno.test("row tables escape cells, cap rows and render text", () => {
  const rows = Array.from(
    { length: 60 },
    (_, i) => ({ i, text: i === 0 ? "<script>x</script>" : "ok", big: 2n }),
  );
  const t = table(rows, { caption: "a & b" });
  const html = String(t[$display]()["text/html"]);
  assert.ok(!html.includes("<script>"));
  assert.ok(html.includes("&lt;script&gt;x&lt;/script&gt;"));
  assert.ok(html.includes("<caption>a &amp; b</caption>"));
  assert.equal(t.rows.length, 50);
  assert.equal(t.total_rows, 60);
  assert.ok(html.includes("10 more rows not shown (60 in all)"));
  const plain = String(t[$display]()["text/plain"]).split("\n");
  assert.equal(plain[1], "i   text                big");
  assert.equal(plain[3], "0   <script>x</script>  2");
  assert.throws(() => table("x" as never), /needs a polars DataFrame or an array/);
});

Deno.test("tables fit the page: a subset of columns with the CSV linked, units in headers, long text cut with hover", () => {
  const long = "x".repeat(100);
  const rows = [Object.fromEntries([
    ["point_id", "p1"],
    ["ttft_p50_ms", 12.5],
    ["client_reason", long],
    ...Array.from({ length: 12 }, (_, i) => [`extra_${i}`, i]),
  ])];
  const t = table(rows, { csv: "kv cache.csv" });
  const html = String(t[$display]()["text/html"]);
  assert.equal(t.columns.length, 10, "the first 10 of 15 columns");
  assert.match(
    html,
    /5 more columns not shown: extra_7, extra_8, extra_9, extra_10, extra_11; the full table: <a href="kv%20cache.csv">kv cache.csv<\/a>/,
  );
  assert.match(html, /<th style="text-align:right" title="ttft_p50_ms">ttft_p50 \(ms\)<\/th>/);
  assert.match(html, /<td style="text-align:right">12.5<\/td>/, "numbers right-aligned");
  assert.match(
    html,
    new RegExp(`<td style="[^"]*" title="${long}">${"x".repeat(47)}…</td>`),
    "cut, whole on hover",
  );
  const chosen = table(rows, { columns: ["point_id", ...Object.keys(rows[0]).slice(3)] });
  assert.equal(chosen.columns.length, 13, "columns the caller chose are all shown");
  assert.doesNotMatch(String(chosen[$display]()["text/html"]), /more column/);
  assert.equal(headerText("output_tok_s"), "output (tok/s)");
  assert.equal(headerText("concurrency"), "concurrency");
});
