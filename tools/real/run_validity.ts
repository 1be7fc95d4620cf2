/**
 * How many of a run's points are valid, per tier: the numbers an example's README states ("no tier with
 * more than 10 % invalid points"). A point is invalid when the lab's own checks say so:
 * - ttft: a point (`point_id` of its request file) whose client self-check failed (`client_ok` false);
 * - prefix: a run of its runs file whose client self-check failed or whose cache reset failed;
 * - kv: a sweep/probe point that failed outside the fit check (`points/kv/*.failed.json`), and a load step
 *   (its load-confirmation file) whose client self-check failed;
 * - batching: a concurrency or rate point-repeat with `valid` false.
 * Failed points (`points/<tier>/*.failed.json`) count as invalid in every tier.
 *
 *   deno run -A tools/real/run_validity.ts reports/RUN_ID
 * @module
 */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { TIERS } from "../../lib/mod.ts";

/** The tier's CSV files (through TIERS, never by name) that have every one of `columns`. */
function filesWith(tier: string, ...columns: string[]): string[] {
  const t = TIERS.find((x) => x.key === tier);
  if (!t) throw new Error(`No tier '${tier}' in TIERS.`);
  return t.files.filter((f) => columns.every((c) => f.columns.includes(c))).map((f) => f.name);
}

function rows(dir: string, files: string[]): Record<string, string>[] {
  return files.flatMap((file) => {
    try {
      return parse(Deno.readTextFileSync(join(dir, file)), { columns: true }) as Record<string, string>[];
    } catch {
      return [];
    }
  });
}

function failed(dir: string, tier: string): number {
  try {
    return [...Deno.readDirSync(join(dir, "points", tier))].filter((e) => e.name.endsWith(".failed.json"))
      .length;
  } catch {
    return 0;
  }
}

/** Per tier: points counted and invalid ones, with what made them invalid. */
export function runValidity(dir: string): { tier: string; points: number; invalid: number; why: string }[] {
  const out: { tier: string; points: number; invalid: number; why: string }[] = [];
  const ttft = new Map<string, boolean>();
  for (const r of rows(dir, filesWith("ttft", "point_id", "client_ok", "request_id"))) {
    ttft.set(r.point_id, (ttft.get(r.point_id) ?? true) && r.client_ok === "true");
  }
  const tf = failed(dir, "ttft");
  const tBad = [...ttft.values()].filter((ok) => !ok).length;
  out.push({
    tier: "ttft",
    points: ttft.size + tf,
    invalid: tBad + tf,
    why: `${tBad} client self-check, ${tf} failed`,
  });
  const pr = rows(dir, filesWith("prefix", "reset_ok", "client_ok"));
  const lag = pr.filter((r) => r.client_ok !== "true").length;
  const reset = pr.filter((r) => r.client_ok === "true" && r.reset_ok !== "true").length;
  const pf = failed(dir, "prefix");
  out.push({
    tier: "prefix",
    points: pr.length + pf,
    invalid: lag + reset + pf,
    why: `${lag} client self-check, ${reset} cache reset, ${pf} failed`,
  });
  const kv = rows(dir, filesWith("kv", "started", "kv_cache_tokens"));
  const load = rows(dir, filesWith("kv", "requests_ok", "client_ok"));
  const kf = failed(dir, "kv"), lf = failed(dir, "kv_load");
  const lBad = load.filter((r) => r.client_ok !== "true").length;
  out.push({
    tier: "kv",
    points: kv.length + kf + load.length + lf,
    invalid: kf + lf + lBad,
    why: `${kf + lf} failed, ${lBad} load steps with client self-check failed`,
  });
  const b = rows(dir, filesWith("batching", "valid", "invalid_reason"));
  const bf = failed(dir, "batching");
  const bBad = b.filter((r) => r.valid !== "true").length;
  out.push({
    tier: "batching",
    points: b.length + bf,
    invalid: bBad + bf,
    why: `${bBad} invalid, ${bf} failed`,
  });
  return out;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("Usage: deno run -A tools/real/run_validity.ts RUN_DIR");
    Deno.exit(2);
  }
  console.log("| tier | points | invalid | invalid % | what |\n|---|---:|---:|---:|---|");
  for (const t of runValidity(dir)) {
    const pct = t.points ? (100 * t.invalid / t.points).toFixed(1) : "n/a";
    console.log(`| ${t.tier} | ${t.points} | ${t.invalid} | ${pct} | ${t.why} |`);
  }
}
