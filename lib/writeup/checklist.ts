/**
 * new_node_checklist.md: the seed's "Re-usable Checklist (New Node / New SLM)", each box ticked with the
 * evidence from this run (file and number, as facts) or left open with the reason. The seed's file names
 * are taken from the tiers (their `writeup` and `artifacts`), never spelled here. A blank copy to reuse is
 * docs/new_node_checklist.md.
 * @module
 */
import { codeText, fileLink, h, type Html, raw } from "../report/html.ts";
import type { FactBook, RunData } from "../report/fact_book.ts";
import type { AnyTier } from "../tiers/tier.ts";
import { jsonPath } from "./run_data.ts";
import { isSimulated, type RunFacts } from "./sections.ts";

/** One checklist item: the seed's text, done or not, and the evidence or the reason. */
export interface ChecklistItem {
  /** The seed's wording (its file names taken from the tiers). */
  text: string;
  done: boolean;
  why: Html;
}

const str = (v: unknown): string | undefined => typeof v === "string" && v ? v : undefined;

function fileOf(tiers: readonly AnyTier[], key: string, i = 0): string {
  const t = tiers.find((x) => x.key === key);
  return (t?.artifacts ?? [t?.writeup ?? t?.files[0].name ?? `${key} files`])[i] ??
    t?.writeup ?? t?.files[0].name ?? key;
}

/** Why a tier left no data, in the checklist's words. */
function notRun(data: RunData, t: AnyTier | undefined): string {
  const s = t ? data.status[t.key] ?? "not_run" : "not_run";
  return s === "no_data"
    ? "its notebook ran but left no valid rows (it failed, or was skipped on this engine)"
    : "its notebook did not run in this run";
}

/**
 * The checklist's six items for a run.
 *
 * @example
 * ```ts
 * checklistItems(book, facts, TIERS).filter((i) => i.done).length;
 * ```
 */
export function checklistItems(b: FactBook, f: RunFacts, tiers: readonly AnyTier[]): ChecklistItem[] {
  const data = b.data;
  const m = data.manifest;
  const tier = (k: string) => tiers.find((t) => t.key === k);
  const { ttft: t, prefix: p, kv: k, batching: bt } = f;
  const kind = str(jsonPath(m, "engine.kind"));
  const envParts = {
    os: str(jsonPath(m, "host.os")),
    kernel: str(jsonPath(m, "host.kernel")),
    version: str(jsonPath(m, "engine.version")),
    model: str(jsonPath(m, "model")),
  };
  const envMissing = Object.entries(envParts).filter(([, v]) => !v).map(([n]) => n);
  const gpu = str(jsonPath(m, "gpu.name")) ?? str(jsonPath(m, "gpu.model"));
  const items: ChecklistItem[] = [];
  items.push({
    text: "Record environment (GPU, OS/kernel, vLLM version, model).",
    done: envMissing.length === 0,
    why: envMissing.length === 0
      ? h`${fileLink("manifest.json")} and day_writeup.md "Environment": ${codeText(envParts.os!)} / ${
        codeText(envParts.kernel!)
      }, engine ${codeText(envParts.version!)}, model ${codeText(envParts.model!)}, GPU ${
        gpu ?? (isSimulated(data)
          ? `none (SIMULATED ${str(jsonPath(m, "sim_profile")) ?? "?"} profile)`
          : "none visible")
      }.`
      : h`manifest.json lacks ${envMissing.join(", ")}${
        kind === "external" ? " (an external engine reports no version or model to the lab)" : ""
      }.`,
  });
  const ttftFile = fileOf(tiers, "ttft");
  items.push({
    text: `Capture cold vs warm TTFT with a tiny probe (${ttftFile}).`,
    done: !!(t.cold_p50 && t.warm_p50),
    why: t.cold_p50 && t.warm_p50
      ? h`${
        fileLink(ttftFile)
      }: cold ${t.cold_p50} (p50 of ${t.cold_n} launches), warm ${t.warm_p50} (p50 of ${t.warm_n}), ${t.cold_warm}.`
      : t.warm_p50
      ? h`Warm TTFT measured (${t.warm_p50}), cold not: ${
        kind === "external"
          ? "an external engine is not launched by the lab, so there is no first request after a start"
          : "no valid cold request (every launch failed or failed its client self-check)"
      }.`
      : h`Not measured: the TTFT tier ${notRun(data, tier("ttft"))}.`,
  });
  const prefixFile = fileOf(tiers, "prefix");
  items.push({
    text: `Run a minimal prefix caching experiment with a big shared prefix + variants (${prefixFile}).`,
    done: !!p.long?.speedup,
    why: p.long?.speedup
      ? h`${
        fileLink(prefixFile)
      }: at ${p.long_tokens} shared, TTFT p50 ${p.long.off} off, ${p.long.on} on (${p.long.speedup}), hit rate ${p.long_hit_rate}${
        p.runs_client_bad?.value
          ? h`; ${p.runs_client_bad} of ${p.runs} runs failed the client self-check, so the numbers are indicative`
          : ""
      }.`
      : h`Not measured: the prefix tier ${notRun(data, tier("prefix"))}.`,
  });
  const kvCsv = fileOf(tiers, "kv", 0);
  const kvNotes = fileOf(tiers, "kv", 1);
  const kvDone = k.rows.length >= 2 && !!(k.bytes_computed || k.bytes_measured);
  items.push({
    text:
      `Run KV scaling for a few max-model-len values and compute an approximate bytes-per-token slope (${kvCsv} + notes).`,
    done: kvDone,
    why: kvDone
      ? h`${fileLink(kvCsv)} and ${fileLink(kvNotes)}: max-model-len from ${k.rows[0].max_model_len} to ${
        k.rows.at(-1)!.max_model_len
      }; bytes per token ${k.bytes_computed} computed, ${k.bytes_measured} measured.`
      : k.rows.length
      ? h`Only one max-model-len started (${k.rows[0].max_model_len}): no slope to read.`
      : h`Not measured: the KV tier ${notRun(data, tier("kv"))}${
        kind === "external" ? " (an external engine cannot be restarted at other lengths)" : ""
      }.`,
  });
  const batchFile = fileOf(tiers, "batching");
  const sweet = !!(bt.target.concurrency && bt.range_lo && bt.range_hi);
  items.push({
    text:
      `Run a small micro-batching / concurrency sweep and identify a sweet-spot concurrency range (${batchFile}).`,
    done: sweet,
    why: sweet
      ? h`${
        fileLink(batchFile)
      }: sweet spot ${bt.target.concurrency} (range ${bt.range_lo} to ${bt.range_hi}), throughput there ${bt.target.throughput_rps}, TTFT p95 ${bt.target.ttft_p95_ms}.`
      : bt.rows
      ? bt.one.concurrency
        ? h`Swept, but no valid concurrency met the SLO (TTFT p95 at most ${bt.slo_ttft}): no sweet spot to name (${
          fileLink(batchFile)
        }).`
        : h`Swept, but all ${bt.rows} point repeats were invalid (${bt.invalid_points} failed the validity checks, e.g. the client lagging; ${
          fileLink(batchFile)
        } lists why): no range can be identified from them.`
      : h`Not measured: the batching tier ${notRun(data, tier("batching"))}.`,
  });
  items.push({
    text: "Write down 3–5 rules of thumb you’d reuse for this GPU + SLM in production.",
    done: true,
    why: h`day_writeup.md, "Rules of thumb", each quoting this run's facts${
      isSimulated(data) ? " (SIMULATED: they describe the behaviour, not this hardware's speed)" : ""
    }.`,
  });
  return items;
}

/**
 * The checklist page: the seed's items as Markdown task boxes (ticked with evidence, or open with the reason).
 *
 * @example
 * ```ts
 * htmlToMarkdown(checklistHtml(book, facts, TIERS).html);
 * ```
 */
export function checklistHtml(b: FactBook, f: RunFacts, tiers: readonly AnyTier[]): Html {
  const items = checklistItems(b, f, tiers);
  const run = str(jsonPath(b.data.manifest, "run_id")) ?? "?";
  return h`<h1>Re-usable Checklist (New Node / New SLM)</h1><p>Run ${codeText(run)}${
    isSimulated(b.data) ? h`, SIMULATED (embedded engine)` : ""
  }. Each box is ticked with this run's evidence, or left open with the reason. A blank copy to reuse: ${
    codeText("docs/new_node_checklist.md")
  }.</p><ul class="tasks">${
    items.map((i) =>
      h`<li class="${raw(i.done ? "done" : "open")}"><span class="seed">${i.text}</span><br><em>${
        i.done ? "Evidence" : "Open"
      }:</em> ${i.why}</li>`
    )
  }</ul>`;
}
