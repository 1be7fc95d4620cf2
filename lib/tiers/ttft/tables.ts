/**
 * The tier's three CSV files and how they read back:
 * - `ttft.csv`: one row per request, the tier's columns, its point's client self-check (the same cells on
 *   every row of a point: `client_ok` false marks the point invalid, with `client_reason`), then
 *   the per-request cells of {@link RequestRowSchema} (`queue_delay_ms` is the request's own send lag);
 * - `startup.csv`: one row per startup phase per launch (log phases, and the launcher's ready time);
 * - `ttft_server.csv`: the server's TTFT histogram over the warm series of each launch, one row per bucket.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { RequestRowSchema } from "../../analysis/request_row.ts";
import { SelfCheckRow } from "../../probe/self_check.ts";
import { columnsOf, csvBoolean, csvNumber, readCsv } from "../../run/csv.ts";

/** What a request measured: its series. */
export const TtftSeries = z.enum(["cold", "warmup", "warm", "length", "chat", "idle"]);
export type TtftSeries = z.infer<typeof TtftSeries>;

const optNumber = csvNumber.optional();

/** The tier's cells of a `ttft.csv` row, before the self-check and the per-request cells. */
export const TtftTierCells = z.object({
  series: TtftSeries,
  launch: csvNumber,
  /** Completion requests sent on this engine before this one (0 = the first after ready). */
  request_index: csvNumber,
  /** Position within its series. */
  series_index: csvNumber,
  /** Exact prompt length asked for (undefined for chat prompts, which are text). */
  prompt_tokens_target: optNumber,
  prompt_seed: optNumber,
  /** Client time from the previous request's end (or from ready) to this send, ms. */
  gap_before_ms: optNumber,
});

/** The tier's columns of `ttft.csv`, before the per-request columns. */
export const TTFT_TIER_COLUMNS = columnsOf(TtftTierCells);

/**
 * A row of a point's CSV: the tier's cells, the point's client self-check (false when the client was too
 * slow for the point: invalid, kept, drawn, left out of the findings; every self-check cell is empty in a
 * run measured before the tier had the check), then the per-request cells.
 */
export const TtftPointRow = z.object({
  ...TtftTierCells.shape,
  ...SelfCheckRow.partial().shape,
  ...RequestRowSchema.shape,
});

/** Columns of a point's CSV; `ttft.csv` adds `point_id` first. */
export const TTFT_POINT_COLUMNS = columnsOf(TtftPointRow);

/** A `ttft.csv` row, read back: `point_id`, then a point's row. */
export const TtftRequestRow = z.object({ point_id: z.string(), ...TtftPointRow.shape });
export type TtftRequestRow = z.infer<typeof TtftRequestRow>;

/** The `ttft.csv` columns, in order. */
export const TTFT_CSV_COLUMNS = columnsOf(TtftRequestRow);

/**
 * Which clock a startup duration is on: `simulated` (the embedded engine's log: what a real GPU would
 * take), `engine_log` (a real engine's own log), `wall` (the launcher, real engine), `wall_compressed`
 * (the launcher, embedded engine whose startup waits are scaled by its time scale).
 */
export const TtftStartupClock = z.enum(["simulated", "engine_log", "wall", "wall_compressed", "none"]);
export type TtftStartupClock = z.infer<typeof TtftStartupClock>;

/** One startup phase of one launch. `seconds` is empty when not measured (external engines). */
export const TtftStartupRow = z.object({
  point_id: z.string(),
  launch: csvNumber,
  engine: z.enum(["vllm", "sim", "external", "llamacpp"]),
  version: z.string().optional(),
  phase: z.string(),
  seconds: optNumber,
  /** "log": the engine's startup log; "launcher": spawn to /health 200; "not_measured": external. */
  source: z.enum(["log", "launcher", "not_measured"]),
  simulated: csvBoolean,
  time_scale: optNumber,
  clock: TtftStartupClock,
});
export type TtftStartupRow = z.infer<typeof TtftStartupRow>;

/** The `startup.csv` columns, in order. */
export const TTFT_STARTUP_COLUMNS = columnsOf(TtftStartupRow);

/** One bucket of the server's TTFT histogram, observed between the scrapes around a launch's warm series. */
export const TtftServerRow = z.object({
  point_id: z.string(),
  launch: csvNumber,
  /** The series between the two scrapes. */
  window: TtftSeries,
  /** The exposed metric name, e.g. vllm:time_to_first_token_seconds. */
  metric: z.string(),
  /** Bucket upper bound in seconds, or "+Inf". */
  le_s: z.string().regex(/^(\+Inf|\d+(\.\d+)?(e-?\d+)?)$/, "expected a number or +Inf"),
  cumulative_count: csvNumber,
  sum_s: optNumber,
  count: csvNumber,
  /** Client requests sent in the window (the server's count should match). */
  client_requests: csvNumber,
});
export type TtftServerRow = z.infer<typeof TtftServerRow>;

/** The `ttft_server.csv` columns, in order. */
export const TTFT_SERVER_COLUMNS = columnsOf(TtftServerRow);

/** The tier's file names in the run folder. */
export const TTFT_FILES = {
  requests: "ttft.csv",
  startup: "startup.csv",
  server: "ttft_server.csv",
  writeup: "first_token_latency.md",
} as const;

/** The three tables of a run. */
export interface TtftTables {
  requests: TtftRequestRow[];
  startup: TtftStartupRow[];
  server: TtftServerRow[];
}

/**
 * Reads the tier's CSVs from a run folder, validated; a missing `ttft_server.csv` reads as no rows.
 *
 * @example
 * ```ts
 * const tables = await readTtftTables(run.dir);
 * tables.requests.filter((r) => r.series === "warm").length;
 * ```
 */
export async function readTtftTables(dir: string): Promise<TtftTables> {
  const server = await readCsv(join(dir, TTFT_FILES.server), TtftServerRow).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  });
  return {
    requests: await readCsv(join(dir, TTFT_FILES.requests), TtftRequestRow),
    startup: await readCsv(join(dir, TTFT_FILES.startup), TtftStartupRow),
    server,
  };
}
