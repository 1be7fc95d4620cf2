/**
 * The health check's text output: a header line, one table row per check, then notes.
 * @module
 */
import type { CheckResult, HealthResult } from "./check.ts";

/** Colour codes for a terminal; omit for plain text (cron, CI, pipes). */
export interface HealthColours {
  ok: (s: string) => string;
  breach: (s: string) => string;
  na: (s: string) => string;
}

const fmt = (v: number | undefined) =>
  v === undefined
    ? "-"
    : Math.abs(v) >= 100
    ? v.toFixed(0)
    : Math.abs(v) >= 1
    ? String(Number(v.toFixed(2)))
    : String(Number(v.toFixed(4)));

function statusText(c: CheckResult): string {
  return c.status === "breach" ? "BREACH" : c.status;
}

/**
 * The health table: check, measured, op, threshold, unit, status, note (n/a reason or source).
 *
 * @example
 * ```ts
 * for (const line of formatHealth(await runHealth(url, defaultThresholds()))) console.log(line);
 * ```
 */
export function formatHealth(r: HealthResult, colours?: HealthColours): string[] {
  if (r.kind === "failed") return [`servelab health: ${r.error}`];
  const engine = r.simulated ? "embedded engine (SIMULATED numbers)" : "server";
  const lines = [
    `${r.url}: ${engine} ${r.server_version ?? "(no /version)"}, model ${r.model}`,
    `canary: ${r.canary.sent}/${r.canary.requests} requests sent, ${r.canary.succeeded} succeeded, ` +
    `concurrency ${r.canary.concurrency}, ${r.canary.prompt_tokens} prompt tokens (${r.canary.prompt}), ` +
    `${r.canary.max_tokens} max tokens, ${(r.canary.wall_ms / 1000).toFixed(2)} s`,
    "",
  ];
  const head = ["check", "measured", "op", "threshold", "unit", "status", "note"];
  const rows = r.checks.map((c) => [
    c.id,
    fmt(c.measured),
    c.op,
    fmt(c.threshold),
    c.unit,
    statusText(c),
    c.reason ?? c.source ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const paint = (c: CheckResult | undefined, cell: string) => {
    if (!colours || !c) return cell;
    return c.status === "ok"
      ? colours.ok(cell)
      : c.status === "breach"
      ? colours.breach(cell)
      : colours.na(cell);
  };
  [head, ...rows].forEach((cols, i) => {
    const check = i === 0 ? undefined : r.checks[i - 1];
    lines.push(
      cols.map((cell, j) => {
        const padded = j === cols.length - 1 ? cell : cell.padEnd(widths[j]);
        return j === 5 ? paint(check, padded) : padded;
      }).join("  ").trimEnd(),
    );
  });
  lines.push("");
  const breaches = r.checks.filter((c) => c.status === "breach").length;
  const na = r.checks.filter((c) => c.status === "n/a").length;
  lines.push(
    breaches
      ? `BREACH: ${breaches} of ${r.checks.length} checks (exit 1)`
      : `OK: ${r.checks.length - na} checks ok, ${na} n/a (exit 0)`,
  );
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines;
}
