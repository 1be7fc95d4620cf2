/**
 * The provenance check: every fact in a run's facts.json recomputed from its source file, independently of
 * the code that made it, and every number a reader sees in index.html, 05_writeup.html, day_writeup.md and
 * new_node_checklist.md inside a fact span whose text is that fact's value.
 *
 * The rule for "a number a reader sees": the page's visible text (body text nodes) is split on whitespace,
 * each token stripped of surrounding punctuation; a token is a number when it is digits (with thousands
 * commas and a decimal part), optionally signed or prefixed by ~ or x, optionally followed by %, x, a unit
 * of up to four letters, or a hyphenated word ("4096-token"). Tokens such as `p95`, `H100-80GB`,
 * `Qwen2.5-1.5B`, `0.11.0+servelab`, `01_ttft.html` and run ids are identifiers, not numbers. Exempt: text
 * inside `code`, `pre`, `time`, `script`, `style`, `svg` and `title`, nbconvert's input/output prompts, and
 * text quoted word for word from the seed document (class `seed`: its questions and template headings).
 * @module
 */
import { join } from "node:path";
import { parseHTML } from "linkedom";
import { z } from "zod";
import { mean, quantile } from "../base/stats.ts";
import { readCsv } from "../run/csv.ts";
import { type Fact, type FilterValue, formatFact } from "../report/fact.ts";
import { markdownAsCheckedHtml } from "./markdown_page.ts";

/** One thing the trace found wrong. */
export interface TraceProblem {
  kind: "missing_file" | "value_mismatch" | "not_recomputable" | "unknown_fact" | "span_text" | "bare_number";
  file: string;
  detail: string;
}

const NUMBER = /^[~≈x×+\-−]?\d[\d,]*(?:\.\d+)?(?:%|x|×|[a-zA-Z]{1,4}|-[a-zA-Z]+)?$/;
const STRIP = /^[\s"'“”‘’([{<:;,.!?]+|[\s"'“”‘’)\]}>:;,.!?]+$/g;
const EXEMPT = new Set(["CODE", "PRE", "TIME", "SCRIPT", "STYLE", "SVG", "TITLE", "TEXTAREA"]);
// "seed": text quoted word for word from the seed document (its questions, its template), not a measurement.
const PROMPT_CLASSES = ["jp-InputPrompt", "jp-OutputPrompt", "fact", "seed"];

/** True when a token of visible text is a number under the rule above. */
export function isNumberToken(token: string): boolean {
  return NUMBER.test(token.replace(STRIP, ""));
}

function exempt(el: Element | null): boolean {
  for (let e = el; e; e = e.parentElement) {
    if (EXEMPT.has(e.tagName.toUpperCase())) return true;
    const cls = e.getAttribute?.("class") ?? "";
    if (PROMPT_CLASSES.some((c) => cls.split(/\s+/).includes(c))) return true;
  }
  return false;
}

/**
 * The numbers in a Markdown file's visible text that are not facts (nor seed quotes, nor code).
 *
 * @example
 * ```ts
 * markdownNumbersOutsideFacts("- TTFT 12 ms"); // ["12 (in: TTFT 12 ms)"]
 * ```
 */
export function markdownNumbersOutsideFacts(text: string): string[] {
  return numbersOutsideFacts(markdownAsCheckedHtml(text));
}

/**
 * The numbers in an HTML page's visible text that are not inside a fact span (nor exempt), with context.
 *
 * @example
 * ```ts
 * numbersOutsideFacts("<p>TTFT 12 ms</p>"); // ["12 (in: TTFT 12 ms)"]
 * ```
 */
export function numbersOutsideFacts(html: string): string[] {
  const { document } = parseHTML(
    html.includes("<html") ? html : `<!doctype html><html><body>${html}</body></html>`,
  );
  const out: string[] = [];
  const walk = (node: Node) => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === 1) {
        if (!exempt(child as Element)) walk(child);
      } else if (child.nodeType === 3) {
        const text = child.textContent ?? "";
        for (const tok of text.split(/\s+/)) {
          if (tok && isNumberToken(tok)) out.push(`${tok} (in: ${text.trim().slice(0, 120)})`);
        }
      }
    }
  };
  if (document.body) walk(document.body);
  return out;
}

const AnyRow = z.record(z.string(), z.string().optional());

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function keep(row: Record<string, string | undefined>, filter: Record<string, FilterValue>): boolean {
  return Object.entries(filter).every(([col, want]) => {
    const cell = row[col];
    if (typeof want === "object") {
      const n = num(cell);
      return n !== undefined && !(want.min !== undefined && n < want.min) &&
        !(want.max !== undefined && n > want.max);
    }
    const a = num(cell), b = num(want);
    return a !== undefined && b !== undefined ? a === b : (cell ?? "") === String(want);
  });
}

/**
 * Checks a run folder: facts.json against its sources, then index.html, 05_writeup.html, day_writeup.md and
 * new_node_checklist.md (each when present; a Markdown file is read with code, link targets and list markers
 * set aside, its facts and seed quotes being inline spans) against facts.json. Returns the problems found (none: every number traces).
 *
 * @example
 * ```ts
 * const problems = await traceRunDir("reports/20261128-055714-sim-1e89");
 * ```
 */
export async function traceRunDir(
  dir: string,
  pages = ["index.html", "05_writeup.html", "day_writeup.md", "new_node_checklist.md"],
): Promise<TraceProblem[]> {
  const problems: TraceProblem[] = [];
  let facts: Fact[];
  try {
    facts = JSON.parse(await Deno.readTextFile(join(dir, "facts.json"))).facts;
  } catch (e) {
    return [{ kind: "missing_file", file: "facts.json", detail: (e as Error).message }];
  }
  const byId = new Map(facts.map((f) => [f.id, f]));
  const files = new Map<string, Record<string, string | undefined>[] | unknown>();
  const load = async (file: string) => {
    if (!files.has(file)) {
      const path = join(dir, file);
      files.set(
        file,
        file.endsWith(".json") ? JSON.parse(await Deno.readTextFile(path)) : await readCsv(path, AnyRow),
      );
    }
    return files.get(file);
  };
  const memo = new Map<string, number | undefined>();
  const recompute = async (f: Fact): Promise<number | undefined> => {
    if (memo.has(f.id)) return memo.get(f.id);
    const s = f.source;
    let v: number | undefined;
    const rnd = (x: number | undefined) =>
      x === undefined
        ? undefined
        : s.round === "ceil"
        ? Math.ceil(x)
        : s.round === "floor"
        ? Math.floor(x)
        : s.round === "round"
        ? Math.round(x)
        : x;
    if (s.of) {
      const ins: (number | undefined)[] = [];
      for (const id of s.of) ins.push(byId.has(id) ? await recompute(byId.get(id)!) : undefined);
      const [a, b] = ins;
      if (a !== undefined && (b !== undefined || s.stat === "scaled")) {
        v = s.stat === "ratio"
          ? (b ? a / b! : undefined)
          : s.stat === "difference"
          ? a - b!
          : a * (s.factor ?? 1);
      }
    } else if (s.file.endsWith(".json")) {
      v = num(
        s.column.split(".").reduce<unknown>(
          (o, k) => (o as Record<string, unknown> | undefined)?.[k],
          await load(s.file),
        ),
      );
    } else {
      const rows = (await load(s.file) as Record<string, string | undefined>[]).filter((r) =>
        keep(r, s.filter ?? {})
      );
      if (s.stat === "count") v = rows.length;
      else if (s.stat === "argmax" || s.stat === "argmin") {
        const cands = rows.filter((r) => num(r[s.by!]) !== undefined && num(r[s.column]) !== undefined);
        cands.sort((a, b) => (num(a[s.by!])! - num(b[s.by!])!) * (s.stat === "argmax" ? -1 : 1));
        v = cands.length ? num(cands[0][s.column]) : undefined;
      } else {
        const xs = rows.map((r) => num(r[s.column])).filter((x): x is number => x !== undefined);
        if (xs.length) {
          v = s.stat === "p50"
            ? quantile(xs, 0.5)
            : s.stat === "p95"
            ? quantile(xs, 0.95)
            : s.stat === "mean"
            ? mean(xs)
            : s.stat === "max"
            ? Math.max(...xs)
            : s.stat === "min"
            ? Math.min(...xs)
            : s.stat === "value" && new Set(xs).size === 1
            ? xs[0]
            : undefined;
        }
      }
    }
    v = rnd(v);
    memo.set(f.id, v);
    return v;
  };
  for (const f of facts) {
    let v: number | undefined;
    try {
      v = await recompute(f);
    } catch (e) {
      problems.push({
        kind: "not_recomputable",
        file: "facts.json",
        detail: `${f.id}: ${(e as Error).message}`,
      });
      continue;
    }
    if (v === undefined) {
      problems.push({
        kind: "not_recomputable",
        file: "facts.json",
        detail: `${f.id}: its source gives no value`,
      });
    } else if (Math.abs(v - f.value) > 1e-9 * Math.max(1, Math.abs(v))) {
      problems.push({
        kind: "value_mismatch",
        file: "facts.json",
        detail: `${f.id}: facts.json ${f.value}, source ${v}`,
      });
    }
  }
  for (const page of pages) {
    let html: string;
    try {
      html = await Deno.readTextFile(join(dir, page));
      if (page.endsWith(".md")) html = markdownAsCheckedHtml(html);
    } catch {
      if (page !== "index.html") continue;
      problems.push({ kind: "missing_file", file: page, detail: "no index page" });
      continue;
    }
    const { document } = parseHTML(html);
    for (const span of Array.from(document.querySelectorAll("span.fact"))) {
      const id = span.getAttribute("data-fact") ?? "";
      const f = byId.get(id);
      if (!f) {
        problems.push({
          kind: "unknown_fact",
          file: page,
          detail: `span data-fact="${id}" is not in facts.json`,
        });
        continue;
      }
      const want = formatFact({ value: memo.get(id) ?? f.value, unit: f.unit });
      if (span.textContent !== want) {
        problems.push({
          kind: "span_text",
          file: page,
          detail: `${id}: shows "${span.textContent}", the source gives "${want}"`,
        });
      }
    }
    for (const n of numbersOutsideFacts(html)) problems.push({ kind: "bare_number", file: page, detail: n });
  }
  return problems;
}
