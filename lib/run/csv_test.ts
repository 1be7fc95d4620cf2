import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import {
  columnsOf,
  csvBoolean,
  csvNumber,
  parseCsv,
  parseCsvCells,
  readCsv,
  toCsv,
  writeCsv,
} from "./csv.ts";

const Row = z.object({
  request_id: z.string(),
  concurrency: csvNumber.pipe(z.number().int()),
  ttft_ms: csvNumber.optional(),
  ok: csvBoolean,
  error_message: z.string().optional(),
});

Deno.test("rows round-trip through CSV with undefined as empty cells and quoted text", async () => {
  const rows = [
    { request_id: "r1", concurrency: 4, ttft_ms: 12.25, ok: true, error_message: undefined },
    { request_id: "r2", concurrency: 4, ttft_ms: undefined, ok: false, error_message: 'bad, "quoted"\nline' },
  ];
  const columns = ["request_id", "concurrency", "ttft_ms", "ok", "error_message"];
  const text = toCsv(rows, columns);
  assert.equal(text.split("\n")[0], columns.join(","));
  assert.equal(text.split("\n")[1], "r1,4,12.25,true,");
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "t.csv");
    await writeCsv(p, rows, columns);
    assert.deepEqual(await readCsv(p, Row), rows);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toCsv rejects keys outside the column list, non-finite numbers and objects", () => {
  assert.throws(() => toCsv([{ a: 1, typo: 2 }], ["a"]), /row 1 has column 'typo'.*add it to the columns/);
  assert.equal(toCsv([{ a: 1, typo: 2 }], ["a"], { extra: "ignore" }), "a\n1\n");
  assert.throws(() => toCsv([{ a: 1 }, { a: NaN }], ["a"]), /row 2 column 'a' is NaN; write undefined/);
  assert.throws(
    () => toCsv([{ a: {} as unknown as string }], ["a"]),
    /holds a object.*flatten it/,
  );
  assert.throws(() => toCsv([], []), /column list is empty/);
});

Deno.test("parseCsv names the line of a bad row and a missing column", () => {
  const text = "request_id,concurrency,ttft_ms,ok\nr1,1,3,true\nr2,two,4,true\n";
  assert.throws(() => parseCsv(text, Row, { source: "x.csv" }), /x\.csv line 3: concurrency: /);
  assert.throws(
    () => parseCsv("request_id,ok\nr1,true\n", Row, { source: "y.csv" }),
    /y\.csv: missing column\(s\) concurrency/,
  );
  assert.throws(() => parseCsv("a,b\n1,2,3\n", z.object({}), { source: "z.csv" }), /z\.csv line 2/);
});

Deno.test("csvBoolean reads 'false' as false, unlike z.coerce.boolean", () => {
  assert.equal(csvBoolean.parse("false"), false);
  assert.equal(csvBoolean.parse("true"), true);
  assert.equal(csvBoolean.safeParse("1").success, false);
});

Deno.test("columnsOf lists an object schema's keys in order, extended and omitted keys included", () => {
  assert.deepEqual(columnsOf(Row), ["request_id", "concurrency", "ttft_ms", "ok", "error_message"]);
  const Wider = z.object({ point_id: z.string(), ...Row.omit({ ok: true }).shape, itl_gaps_ms: z.string() });
  const cols: ("point_id" | "request_id" | "concurrency" | "ttft_ms" | "error_message" | "itl_gaps_ms")[] =
    columnsOf(Wider);
  assert.deepEqual(cols, [
    "point_id",
    "request_id",
    "concurrency",
    "ttft_ms",
    "error_message",
    "itl_gaps_ms",
  ]);
  // Overriding a key keeps its place.
  assert.deepEqual(columnsOf(Row.extend({ concurrency: z.string() })), columnsOf(Row));
});

Deno.test("parseCsvCells keeps a row's text once it passed the schema, and names the line that did not", () => {
  const Row = z.object({ concurrency: csvNumber, ttft_ms: csvNumber.optional() });
  assert.deepEqual(parseCsvCells("concurrency,ttft_ms,note\n1,,a\n2,3.5,b\n", Row), [
    { concurrency: "1", ttft_ms: undefined, note: "a" },
    { concurrency: "2", ttft_ms: "3.5", note: "b" },
  ]);
  assert.throws(
    () => parseCsvCells("concurrency,ttft_ms\n1,\nx,2\n", Row, { source: "t.csv" }),
    /Cannot read t\.csv line 3: concurrency: /,
  );
});
