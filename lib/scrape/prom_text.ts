/**
 * The Prometheus text exposition format (version 0.0.4, what vLLM's `prometheus_client` and llama.cpp serve on
 * `GET /metrics`) parsed into typed metric families.
 *
 * Why this is our own parser and not the npm package parse-prometheus-text-format:
 * docs/adr/0004-prometheus-parser.md (it merges the buckets of every label set of a histogram and drops labelled
 * `_sum`/`_count` lines, and every vLLM histogram is labelled).
 *
 * What it accepts: `# HELP` (with `\\` and `\n` escapes) and `# TYPE` lines, other comments, blank lines, CRLF;
 * samples with or without labels, label values with `\"`, `\\` and `\n` escapes, a trailing comma in the label
 * set, values written as integers, decimals, exponents, `NaN`, `+Inf`, `-Inf`, an optional timestamp and an
 * OpenMetrics exemplar (ignored). Samples are assigned to families by name, in any order: `X_bucket`, `X_sum`,
 * `X_count` to histogram `X`; `X_sum`, `X_count` and `X{quantile}` to summary `X`; `X_total` to counter `X`.
 * OpenMetrics `X_created` samples inside a counter, histogram or summary family are dropped (prometheus_client's
 * 0.0.4 output puts them in separate `X_created` gauge families, which are kept as gauges).
 * @module
 */
import { labelsKey } from "./_labels.ts";

/** Label name -> value of one series. */
export type PromLabels = Readonly<Record<string, string>>;

/** One sample line of a counter, gauge or untyped family. */
export interface PromSample {
  /** The sample's own name (for a counter, usually `..._total`). */
  name: string;
  labels: PromLabels;
  value: number;
  /** The optional timestamp the server wrote after the value (epoch ms). */
  timestamp_ms?: number;
}

/** One cumulative bucket: `count` observations were `<= le`. `le` is `Infinity` for the `+Inf` bucket. */
export interface PromBucket {
  le: number;
  count: number;
}

/** One label set of a histogram: cumulative buckets sorted by `le`, with `_sum` and `_count` when sent. */
export interface PromHistogramSeries {
  labels: PromLabels;
  buckets: PromBucket[];
  sum?: number;
  count?: number;
}

/** One label set of a summary: the server's precomputed quantiles. */
export interface PromSummarySeries {
  labels: PromLabels;
  quantiles: { quantile: number; value: number }[];
  sum?: number;
  count?: number;
}

/** A counter, gauge or untyped family: plain samples. */
export interface PromScalarFamily {
  kind: "counter" | "gauge" | "untyped";
  name: string;
  help?: string;
  samples: PromSample[];
}

/** A histogram family: one series per label set (without `le`). */
export interface PromHistogramFamily {
  kind: "histogram";
  name: string;
  help?: string;
  series: PromHistogramSeries[];
}

/** A summary family: one series per label set (without `quantile`). */
export interface PromSummaryFamily {
  kind: "summary";
  name: string;
  help?: string;
  series: PromSummarySeries[];
}

export type PromFamily = PromScalarFamily | PromHistogramFamily | PromSummaryFamily;

/**
 * Families by name, in order of first appearance. A counter is keyed by the name its samples carry
 * (`vllm:prompt_tokens_total`), whichever of the two spellings its `# TYPE` line used.
 */
export type PromFamilies = ReadonlyMap<string, PromFamily>;

type Kind = PromFamily["kind"];
const KINDS: ReadonlySet<string> = new Set<Kind>(["counter", "gauge", "untyped", "histogram", "summary"]);

/** Suffixes that tie a sample to a typed family, with the family kinds they belong to. */
const SUFFIXES: readonly [string, readonly Kind[]][] = [
  ["_bucket", ["histogram"]],
  ["_sum", ["histogram", "summary"]],
  ["_count", ["histogram", "summary"]],
  ["_total", ["counter"]],
  ["_created", ["counter", "histogram", "summary"]],
];

interface RawSample extends PromSample {
  line: number;
}

/**
 * Parses Prometheus text into metric families. Throws on a malformed line, naming the line and the problem.
 *
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prom_text.ts";
 * const families = parsePrometheusText('# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine="0"} 3.0\n');
 * const running = families.get("vllm:num_requests_running"); // {kind: "gauge", samples: [{value: 3, ...}], ...}
 * ```
 */
export function parsePrometheusText(text: string): PromFamilies {
  const types = new Map<string, Kind>();
  const helps = new Map<string, string>();
  const samples: RawSample[] = [];
  const order: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "").trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!meta) continue; // a plain comment, `# EOF` or `# UNIT`
      const [, keyword, name, rest = ""] = meta;
      if (keyword === "HELP") {
        if (!helps.has(name)) helps.set(name, unescapeHelp(rest));
      } else {
        const kind = rest.trim().toLowerCase();
        if (!KINDS.has(kind)) throw lineError(i + 1, line, `unknown metric type "${rest.trim()}"`);
        types.set(name, kind as Kind);
      }
      order.push(name);
      continue;
    }
    const sample = parseSampleLine(line, i + 1);
    samples.push(sample);
    order.push(sample.name);
  }
  return assemble(types, helps, samples, order);
}

function assemble(
  types: Map<string, Kind>,
  helps: Map<string, string>,
  samples: RawSample[],
  order: string[],
): PromFamilies {
  const scalars = new Map<string, PromScalarFamily>();
  const histos = new Map<string, Map<string, PromHistogramSeries>>();
  const summaries = new Map<string, Map<string, PromSummarySeries>>();
  // Where each family appears first: its TYPE/HELP line or its first sample.
  const firstSeen = new Map<string, number>();
  const see = (key: string, at: number) => {
    if (!firstSeen.has(key) || firstSeen.get(key)! > at) firstSeen.set(key, at);
  };
  order.forEach((name, at) => see(familyKey(name, types), at));

  for (const s of samples) {
    const { base, suffix, kind } = resolve(s.name, types);
    if (suffix === "_created" && kind !== "gauge" && kind !== "untyped") continue;
    switch (kind) {
      case "counter":
      case "gauge":
      case "untyped": {
        let fam = scalars.get(s.name);
        if (!fam) {
          fam = { kind, name: s.name, help: helps.get(base) ?? helps.get(s.name), samples: [] };
          scalars.set(s.name, fam);
        }
        fam.samples.push({ name: s.name, labels: s.labels, value: s.value, timestamp_ms: s.timestamp_ms });
        break;
      }
      case "histogram": {
        const byLabels = histos.get(base) ?? new Map<string, PromHistogramSeries>();
        histos.set(base, byLabels);
        const { le, ...rest } = s.labels;
        const series = seriesFor(byLabels, rest, () => ({ labels: rest, buckets: [] }));
        if (suffix === "_bucket") {
          const bound = le === undefined ? undefined : parseNumber(le);
          if (bound === undefined || Number.isNaN(bound)) {
            throw lineError(
              s.line,
              s.name,
              `a histogram bucket needs a numeric "le" label, got ${JSON.stringify(le)}`,
            );
          }
          series.buckets.push({ le: bound, count: s.value });
        } else if (suffix === "_sum") series.sum = s.value;
        else if (suffix === "_count") series.count = s.value;
        break;
      }
      case "summary": {
        const byLabels = summaries.get(base) ?? new Map<string, PromSummarySeries>();
        summaries.set(base, byLabels);
        const { quantile, ...rest } = s.labels;
        const series = seriesFor(byLabels, rest, () => ({ labels: rest, quantiles: [] }));
        if (suffix === "_sum") series.sum = s.value;
        else if (suffix === "_count") series.count = s.value;
        else if (quantile !== undefined) {
          series.quantiles.push({ quantile: parseNumber(quantile) ?? NaN, value: s.value });
        }
        break;
      }
      default: {
        const never: never = kind;
        throw new Error(`Unhandled metric kind ${never}`);
      }
    }
  }

  const out = new Map<string, PromFamily>();
  for (const fam of scalars.values()) out.set(fam.name, fam);
  for (const [name, byLabels] of histos) {
    const series = [...byLabels.values()];
    for (const s of series) s.buckets = dedupeSorted(s.buckets);
    out.set(name, { kind: "histogram", name, help: helps.get(name), series });
  }
  for (const [name, byLabels] of summaries) {
    const series = [...byLabels.values()];
    for (const s of series) s.quantiles.sort((a, b) => a.quantile - b.quantile);
    out.set(name, { kind: "summary", name, help: helps.get(name), series });
  }
  // Typed families without samples still exist (vLLM declares metrics before the first request).
  for (const [name, kind] of types) {
    const key = familyKey(name, types);
    if (out.has(key)) continue;
    if (kind === "histogram" || kind === "summary") {
      out.set(key, { kind, name: key, help: helps.get(name), series: [] } as PromFamily);
    } else out.set(key, { kind, name: key, help: helps.get(name), samples: [] });
  }
  const rank = (key: string) => firstSeen.get(key) ?? firstSeen.get(familyKey(key, types)) ?? Infinity;
  return new Map([...out.entries()].sort(([a], [b]) => rank(a) - rank(b)));
}

/** Which family a sample name belongs to: exact typed name first, then a typed base name plus a known suffix. */
function resolve(name: string, types: Map<string, Kind>): { base: string; suffix?: string; kind: Kind } {
  const exact = types.get(name);
  if (exact === "counter" || exact === "gauge" || exact === "untyped" || exact === "summary") {
    return { base: name, kind: exact };
  }
  for (const [suffix, kinds] of SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const kind = types.get(base);
    if (kind && kinds.includes(kind)) return { base, suffix, kind };
  }
  return { base: name, kind: "untyped" };
}

/** The key a TYPE/HELP name files under: a counter `X` whose samples are `X_total` is keyed `X_total`. */
function familyKey(name: string, types: Map<string, Kind>): string {
  return types.get(name) === "counter" && !name.endsWith("_total") ? `${name}_total` : name;
}

function seriesFor<T>(byLabels: Map<string, T>, labels: PromLabels, make: () => T): T {
  const key = labelsKey(labels);
  let series = byLabels.get(key);
  if (!series) {
    series = make();
    byLabels.set(key, series);
  }
  return series;
}

function dedupeSorted(buckets: PromBucket[]): PromBucket[] {
  const byLe = new Map<number, number>();
  for (const b of buckets) byLe.set(b.le, b.count);
  return [...byLe.entries()].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count }));
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseSampleLine(line: string, lineNo: number): RawSample {
  const nameMatch = NAME_RE.exec(line);
  if (!nameMatch) throw lineError(lineNo, line, "a sample line must start with a metric name");
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  pos = skipSpaces(line, pos);
  if (line[pos] === "{") {
    pos = skipSpaces(line, pos + 1);
    while (line[pos] !== "}") {
      const labelMatch = LABEL_NAME_RE.exec(line.slice(pos));
      if (!labelMatch) throw lineError(lineNo, line, `expected a label name at column ${pos + 1}`);
      const labelName = labelMatch[0];
      pos = skipSpaces(line, pos + labelName.length);
      if (line[pos] !== "=") throw lineError(lineNo, line, `expected "=" after label ${labelName}`);
      pos = skipSpaces(line, pos + 1);
      if (line[pos] !== '"') throw lineError(lineNo, line, `expected a quoted value for label ${labelName}`);
      let value = "";
      pos++;
      for (;; pos++) {
        const c = line[pos];
        if (c === undefined) throw lineError(lineNo, line, `unterminated value for label ${labelName}`);
        if (c === '"') break;
        if (c === "\\") {
          const next = line[++pos];
          value += next === "n" ? "\n" : next === '"' ? '"' : next === "\\" ? "\\" : `\\${next ?? ""}`;
        } else value += c;
      }
      labels[labelName] = value;
      pos = skipSpaces(line, pos + 1);
      if (line[pos] === ",") pos = skipSpaces(line, pos + 1);
      else if (line[pos] !== "}") {
        throw lineError(lineNo, line, `expected "," or "}" after label ${labelName}`);
      }
    }
    pos++;
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const value = rest[0] === "" ? undefined : parseNumber(rest[0]);
  if (value === undefined) throw lineError(lineNo, line, "expected a number as the sample value");
  let timestamp_ms: number | undefined;
  if (rest.length > 1 && rest[1] !== "#") {
    timestamp_ms = parseNumber(rest[1]);
    if (timestamp_ms === undefined) throw lineError(lineNo, line, `expected a timestamp, got "${rest[1]}"`);
  }
  return { name, labels, value, timestamp_ms, line: lineNo };
}

function skipSpaces(line: string, pos: number): number {
  while (line[pos] === " " || line[pos] === "\t") pos++;
  return pos;
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A Prometheus float: decimal or exponent notation, `NaN`, `Inf`/`+Inf`/`-Inf` (any case). */
function parseNumber(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  if (lower === "+inf" || lower === "inf" || lower === "+infinity" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  return FLOAT_RE.test(text) ? Number(text) : undefined;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));
}

function lineError(lineNo: number, line: string, problem: string): Error {
  const shown = line.length > 120 ? `${line.slice(0, 117)}...` : line;
  return new Error(
    `Cannot parse Prometheus text at line ${lineNo} (${JSON.stringify(shown)}): ${problem}. ` +
      "Check that the source serves the Prometheus text format (vLLM: GET /metrics).",
  );
}
