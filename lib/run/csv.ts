/**
 * Tidy CSV files: one header row from a fixed column list, one row per observation, `undefined` written
 * as an empty cell and read back as `undefined`. Reading validates every row with a zod schema and names
 * the line of the first bad row.
 * @module
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { z } from "zod";
import { writeTextAtomic } from "./atomic.ts";

/** A value a CSV cell can hold. `undefined` and `null` become an empty cell. */
export type CsvValue = string | number | boolean | bigint | Date | null | undefined;
/** One row: column name -> value. */
export type CsvRow = Record<string, CsvValue>;

/** Options for {@link toCsv}. */
export interface ToCsvOptions {
  /** What to do with a row key that is not in the column list: "error" (default) or "ignore". */
  extra?: "error" | "ignore";
  /** Name used in error messages. Default "rows". */
  source?: string;
}

function cell(v: unknown, row: number, col: string, source: string): string {
  if (v === undefined || v === null) return "";
  switch (typeof v) {
    case "string":
      return v;
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "number":
      if (!Number.isFinite(v)) {
        throw new Error(
          `${source} row ${row} column '${col}' is ${v}; write undefined for a value that does not apply.`,
        );
      }
      return String(v);
    default:
      if (v instanceof Date) return v.toISOString();
      throw new Error(
        `${source} row ${row} column '${col}' holds a ${typeof v} (${
          JSON.stringify(v)?.slice(0, 40)
        }); CSV cells take strings, numbers, booleans or dates: flatten it into columns.`,
      );
  }
}

/**
 * Renders rows as CSV text with exactly `columns` as the header, in that order.
 *
 * @example
 * ```ts
 * toCsv([{ concurrency: 1, ttft_ms: 12.5, error_kind: undefined }], ["concurrency", "ttft_ms", "error_kind"]);
 * // "concurrency,ttft_ms,error_kind\n1,12.5,\n"
 * ```
 */
export function toCsv(
  rows: readonly CsvRow[],
  columns: readonly string[],
  options: ToCsvOptions = {},
): string {
  const { extra = "error", source = "rows" } = options;
  if (columns.length === 0) {
    throw new Error(`Cannot write ${source}: the column list is empty; pass the columns.`);
  }
  if (new Set(columns).size !== columns.length) {
    throw new Error(`Cannot write ${source}: the column list [${columns.join(", ")}] has duplicates.`);
  }
  const known = new Set(columns);
  const records = rows.map((r, i) => {
    if (extra === "error") {
      for (const k of Object.keys(r)) {
        if (!known.has(k)) {
          throw new Error(
            `${source} row ${i + 1} has column '${k}' that is not in the column list [${
              columns.join(", ")
            }]; add it to the columns or drop it from the row.`,
          );
        }
      }
    }
    return columns.map((c) => cell(r[c], i + 1, c, source));
  });
  return stringify([columns as string[], ...records]);
}

/**
 * Writes rows to `path` atomically as CSV with a fixed column list (see {@link toCsv}).
 *
 * @example
 * ```ts
 * await writeCsv("reports/x/ttft.csv", records, ["request_id", "ttft_ms"]);
 * ```
 */
export async function writeCsv(
  path: string,
  rows: readonly CsvRow[],
  columns: readonly string[],
  options: ToCsvOptions = {},
): Promise<void> {
  await writeTextAtomic(path, toCsv(rows, columns, { source: path, ...options }));
}

/** A CSV boolean cell: "true" or "false" (z.coerce.boolean would read "false" as true). */
export const csvBoolean = z.enum(["true", "false"]).transform((v) => v === "true");
/** A CSV number cell: a finite number. */
export const csvNumber = z.coerce.number().finite();

/**
 * The column list of a row schema: its keys, in order. A CSV's header is derived from its one row schema
 * this way, so the column list is never written twice.
 *
 * @example
 * ```ts
 * const Row = z.object({ concurrency: csvNumber, ttft_ms: csvNumber.optional() });
 * columnsOf(Row); // ["concurrency", "ttft_ms"]
 * ```
 */
export function columnsOf<S extends z.ZodObject>(schema: S): Extract<keyof S["shape"], string>[] {
  return Object.keys(schema.shape) as Extract<keyof S["shape"], string>[];
}

/** Options for {@link parseCsv}. */
export interface ParseCsvOptions {
  /** Name used in error messages (a file path). Default "CSV". */
  source?: string;
}

/**
 * Parses CSV text with a header row. Empty cells become `undefined`; each row is then validated by
 * `schema` (use `csvNumber`, `csvBoolean`, `.optional()` for cells that may be empty). Throws on the first
 * bad row with its line number and the schema's complaint.
 *
 * @example
 * ```ts
 * const Row = z.object({ concurrency: csvNumber, ttft_ms: csvNumber.optional() });
 * parseCsv("concurrency,ttft_ms\n1,\n", Row); // [{ concurrency: 1, ttft_ms: undefined }]
 * ```
 */
export function parseCsv<S extends z.ZodType>(
  text: string,
  schema: S,
  options: ParseCsvOptions = {},
): z.infer<S>[] {
  return validatedRows(text, schema, options, (_, data) => data);
}

/**
 * Like {@link parseCsv}, but returns each row's cells as text (empty cells `undefined`) once the row has
 * passed `schema`: for readers that keep the file's text (the write-up's facts re-derive from it) and want
 * the schema's check without parsing the file twice.
 *
 * @example
 * ```ts
 * parseCsvCells("concurrency,ttft_ms\n1,\n", z.object({ concurrency: csvNumber })); // [{ concurrency: "1", ttft_ms: undefined }]
 * ```
 */
export function parseCsvCells(
  text: string,
  schema: z.ZodType,
  options: ParseCsvOptions = {},
): Record<string, string | undefined>[] {
  return validatedRows(text, schema, options, (cells) => cells);
}

function validatedRows<S extends z.ZodType, T>(
  text: string,
  schema: S,
  options: ParseCsvOptions,
  keep: (cells: Record<string, string | undefined>, data: z.infer<S>) => T,
): T[] {
  const { source = "CSV" } = options;
  let parsed: { record: Record<string, string>; info: { lines: number } }[];
  try {
    parsed = parse(text, { columns: true, info: true, skip_empty_lines: true, bom: true });
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new Error(`Cannot read ${source}${e.lines ? ` line ${e.lines}` : ""}: ${e.message}.`);
  }
  const header = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0];
  if (schema instanceof z.ZodObject) {
    const have = new Set(header.split(",").map((h) => h.replace(/^"|"$/g, "")));
    const missing = Object.entries(schema.shape as Record<string, z.ZodType>)
      .filter(([k, s]) => !have.has(k) && !s.safeParse(undefined).success)
      .map(([k]) => k);
    if (missing.length) {
      throw new Error(
        `Cannot read ${source}: missing column(s) ${missing.join(", ")} in header '${header}'; ` +
          `the file was written by another version or is not this table.`,
      );
    }
  }
  return parsed.map(({ record, info }) => {
    const row: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(record)) row[k] = v === "" ? undefined : v;
    const r = schema.safeParse(row);
    if (!r.success) {
      const issues = r.error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ");
      throw new Error(`Cannot read ${source} line ${info.lines}: ${issues}.`);
    }
    return keep(row, r.data);
  });
}

/**
 * Reads and validates a CSV file (see {@link parseCsv}).
 *
 * @example
 * ```ts
 * const rows = await readCsv("reports/x/ttft.csv", z.object({ ttft_ms: csvNumber }));
 * ```
 */
export async function readCsv<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>[]> {
  return parseCsv(await Deno.readTextFile(path), schema, { source: path });
}
