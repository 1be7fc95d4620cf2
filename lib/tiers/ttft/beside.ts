/**
 * What the embedded engine predicts for a kept run's Tier 1 points (the Tier contract's `beside`).
 * @module
 */
import { join } from "node:path";
import {
  besideConfig,
  besideMedian,
  type BesideOptions,
  besideRequests,
  type BesideRow,
  besideRow,
  besideRows,
  simulate,
} from "../../sim/mod.ts";
import { TTFT_FILES } from "./tables.ts";

/**
 * Tier 1 beside the embedded engine: cold (each launch's first request, on a cold engine), warm, and each prompt length,
 * replayed one request at a time as the tier sends them. The idle and chat series are not replayed.
 */
export function ttftBeside(dir: string, o: BesideOptions): BesideRow[] {
  const rows = besideRows(join(dir, TTFT_FILES.requests)).filter((r) =>
    r.ok === "true" && r.endpoint === "completions"
  );
  const cfg = besideConfig(o, true);
  const out: BesideRow[] = [];
  const groups = new Map<string, Record<string, string>[]>();
  for (const r of rows) {
    if (r.series === "idle") continue;
    const key = r.series === "length" ? `length-${r.prompt_tokens_target}` : r.series;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, g] of groups) {
    const lengths = g.map((r) => ({ prompt: Number(r.prompt_tokens), output: Number(r.completion_tokens) }));
    let ttft: number[], tpot: number[];
    if (key === "cold") {
      // One fresh engine per launch: the first request pays the warm-up penalty.
      const rs = lengths.map((l, i) =>
        simulate(cfg, { requests: besideRequests([l], 100 + i), load: { kind: "concurrency", n: 1 } }, {
          cold: true,
        })
          .records[0]
      );
      ttft = rs.map((r) => r.ttft_ms);
      tpot = rs.map((r) => r.tpot_ms ?? NaN);
    } else {
      const r = simulate(
        cfg,
        { requests: besideRequests(lengths, 200), load: { kind: "concurrency", n: 1 } },
        {
          cold: false,
        },
      );
      ttft = r.records.map((x) => x.ttft_ms);
      tpot = r.records.map((x) => x.tpot_ms ?? NaN);
    }
    out.push(
      ...besideRow(
        "ttft",
        key,
        "ttft_ms",
        g.length,
        besideMedian(g.map((r) => Number(r.ttft_ms))),
        besideMedian(ttft),
      ),
    );
    out.push(
      ...besideRow(
        "ttft",
        key,
        "tpot_ms",
        g.length,
        besideMedian(g.map((r) => Number(r.tpot_ms || NaN))),
        besideMedian(tpot),
      ),
    );
  }
  return out;
}
