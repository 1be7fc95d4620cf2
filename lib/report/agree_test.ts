import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { $display } from "./bundle.ts";
import { assertAgrees } from "./agree.ts";

const CSV = "series,ttft_ms\ncold,100\ncold,120\nwarm,10\nwarm,12\nwarm,14\n";
const p50 = (csv: string) =>
  pl.readCSV(csv).groupBy("series").agg(
    pl.len().alias("n"),
    pl.col("ttft_ms").quantile(0.5, "linear").alias("p50_ms"),
  ).sort("series");
const LIB = [{ series: "cold", n: 2, p50_ms: 110 }, { series: "warm", n: 3, p50_ms: 12 }];

Deno.test("assertAgrees: a polars table equal to lib's rows passes and says what it compared", () => {
  const a = assertAgrees(p50(CSV), LIB, { key: "series", tolerance: 1e-9, what: "cold/warm table" });
  assert.equal(a.values, 4);
  assert.equal(a.rows, 2);
  assert.equal(a.text, "Agrees with lib: 4 values in 2 rows within 1e-7%.");
  assert.match(String(a[$display]()["text/html"]), /Agrees with lib/);
});

Deno.test("assertAgrees: a perturbed CSV makes the table disagree, and the error names row, column and both values", () => {
  const perturbed = CSV.replace("warm,14", "warm,9");
  assert.throws(
    () => assertAgrees(p50(perturbed), LIB, { key: "series", tolerance: 1e-6, what: "cold/warm table" }),
    (e: Error) => {
      assert.match(e.message, /^cold\/warm table and lib disagree \(1 problem\)/);
      assert.match(e.message, /series="warm" p50_ms: cold\/warm table 10, lib 12 \(16\.7% apart/);
      return true;
    },
  );
  // A dropped row changes the count too.
  const dropped = CSV.replace("cold,120\n", "");
  assert.throws(
    () => assertAgrees(p50(dropped), LIB, { key: "series" }),
    /series="cold" n: the table 1, lib 2/,
  );
});

Deno.test("assertAgrees: tolerance, missing rows and columns, empty values, unmeasured lib values", () => {
  const t = [{ c: 1, x: 100.0004, s: "a" }, { c: 2, x: null, s: "b" }, { c: 4, x: 5, s: "d" }];
  assert.equal(assertAgrees(t, [{ c: 1, x: 100 }], { key: "c", absolute: 0.001 }).values, 1);
  assert.throws(
    () => assertAgrees(t, [{ c: 1, x: 100 }], { key: "c" }),
    /c=1 x: the table 100\.0004, lib 100/,
  );
  assert.throws(
    () => assertAgrees(t, [{ c: 3, x: 1 }], { key: "c" }),
    /c=3: lib has this row, the table has none/,
  );
  assert.throws(() => assertAgrees(t, [{ c: 1, y: 1 }], { key: "c" }), /has no column 'y'/);
  assert.throws(() => assertAgrees(t, [{ c: 2, x: 7 }], { key: "c" }), /c=2 x: the table empty, lib 7/);
  assert.throws(() => assertAgrees(t, [{ c: 1, s: "z" }], { key: "c" }), /c=1 s: the table "a", lib "z"/);
  // lib's "not measured" must be empty in the table too.
  const a = assertAgrees(t, [{ c: 1, x: 100 }, { c: 2, x: undefined }, { c: 9, x: undefined }], {
    key: "c",
    tolerance: 1e-3,
  });
  assert.equal(a.not_measured, 2);
  assert.equal(a.unchecked_rows, 1);
  assert.match(a.text, /2 not measured on either side; 1 row lib has no number for/);
  assert.throws(
    () => assertAgrees(t, [{ c: 4, x: undefined }], { key: "c" }),
    /c=4 x: the table 5, lib not measured/,
  );
  // Nothing measured on either side is said, not passed silently; no lib rows at all is an error.
  const none = assertAgrees(t, [{ c: 2, x: undefined }], { key: "c" });
  assert.equal(none.values, 0);
  assert.match(none.text, /^Nothing measured on either side/);
  assert.match(String(none[$display]()["text/html"]), /⚠/);
  assert.throws(() => assertAgrees(t, [], { key: "c" }), /Nothing to compare: lib gave no rows/);
});
