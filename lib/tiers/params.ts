/**
 * One way for every tier to read its parameters: a size preset, overridden field by field by
 * `SERVELAB_<TIER>_<FIELD>` environment variables, checked by the tier's zod schema, with one error path.
 *
 * A variable's text becomes a value through its parser (by default: a number for number fields, a
 * comma-separated list for array fields, `true`/`false` for boolean fields, the trimmed text otherwise),
 * then the field's schema checks it, then the whole object's schema (cross-field refinements). Every bad
 * variable is reported, one line each:
 *
 * `SERVELAB_TTFT_WARM_REQUESTS='lots' is not valid: expected a number. It takes <means>. Fix it or unset it.`
 *
 * A refinement on the whole object names every variable it involves (its issue's `params.fields`, or its
 * path). A variable's text is shown only inside the quotes, cut to 60 characters.
 *
 * @example
 * ```ts
 * const spec = { tier: "demo", schema: z.object({ n: z.number().int() }), presets: { default: { n: 3 }, test: { n: 1 } },
 *   vars: { n: { means: "requests per point, an integer (e.g. 3)" } } };
 * tierParams(spec, "test", { SERVELAB_DEMO_N: "5" }).n; // 5
 * tierVars(spec); // [{ field: "n", name: "SERVELAB_DEMO_N", means: "requests per point, ..." }]
 * ```
 * @module
 */
import { z } from "zod";
import type { RunSize } from "./lab_env.ts";

/** Environment variables, as `Deno.env.toObject()` gives them. */
export type Env = Record<string, string | undefined>;

/** How one field is set from the environment. */
export interface TierVarSpec {
  /** The variable's name; default `SERVELAB_<TIER>_<FIELD>` in capitals. */
  name?: string;
  /** What it takes, with an example: shown in errors and in the variable list. */
  means: string;
  /**
   * Text (trimmed, never empty) to value; throw an `Error` whose message says what is wrong. Default: by the
   * field's schema type (number, comma-separated list, true/false, text).
   */
  parse?: (raw: string) => unknown;
}

/** One variable of a tier, for docs and `--help`. */
export interface TierVar {
  field: string;
  name: string;
  means: string;
}

// deno-lint-ignore no-explicit-any
type AnyObject = z.ZodObject<z.ZodRawShape, any>;

/** A tier's parameters: schema, presets, the variable of each field, and defaults that depend on context. */
export interface TierSpec<S extends AnyObject> {
  /** The tier's short name: `ttft` gives `SERVELAB_TTFT_*` and "ttft parameter x" in errors. */
  tier: string;
  /** The parameters' schema; refinements on it are the cross-field checks. */
  schema: S;
  /**
   * The preset of each run size (fields left out come from `defaults`); a spec without a `teach` preset
   * uses its `test` one there.
   */
  presets: Record<Exclude<RunSize, "teach">, Partial<z.input<S>>> & { teach?: Partial<z.input<S>> };
  /** The variable of each field a user may set (a field without one keeps its preset). */
  vars: { [K in keyof z.output<S>]?: TierVarSpec };
  /**
   * Values for fields the preset and the environment left unset, from the rest (`values`: the preset with
   * the variables applied), e.g. an engine-dependent default.
   */
  defaults?: (ctx: { size: RunSize; values: Partial<z.output<S>> }) => Partial<z.output<S>>;
}

const MAX_RAW = 60;

/** The text of a variable as errors show it: quoted, cut to 60 characters. */
export function quoteRaw(raw: string): string {
  return raw.length > MAX_RAW ? `'${raw.slice(0, MAX_RAW)}…' (${raw.length} characters)` : `'${raw}'`;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A decimal number (`12`, `0.5`, `1e3`); anything else throws "expected a number".
 *
 * @example
 * ```ts
 * parseNumber(" 2.5 "); // 2.5
 * ```
 */
export function parseNumber(raw: string): number {
  const s = raw.trim();
  if (!NUMBER.test(s)) throw new Error("expected a number");
  return Number(s);
}

/**
 * A comma-separated list, each item through `item` (default a number); blank items are skipped, so `,`
 * is the empty list. A bad item throws "item N: <why>".
 *
 * @example
 * ```ts
 * parseList("1, 4,16"); // [1, 4, 16]
 * ```
 */
export function parseList<T = number>(
  raw: string,
  item: (s: string) => T = parseNumber as unknown as (s: string) => T,
): T[] {
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s, i) => {
    try {
      return item(s);
    } catch (e) {
      throw new Error(`item ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

/**
 * `true` or `false`; anything else throws "expected true or false".
 *
 * @example
 * ```ts
 * parseBoolean("false"); // false
 * ```
 */
export function parseBoolean(raw: string): boolean {
  const s = raw.trim();
  if (s === "true" || s === "false") return s === "true";
  throw new Error("expected true or false");
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

/** The default parser of a field, from its schema's type. */
function defaultParser(field: z.ZodType): (raw: string) => unknown {
  const s = unwrap(field);
  if (s instanceof z.ZodArray) {
    const element = unwrap(s.element as z.ZodType);
    return element instanceof z.ZodNumber ? (raw) => parseList(raw) : (raw) => parseList(raw, (x) => x);
  }
  if (s instanceof z.ZodNumber) return parseNumber;
  if (s instanceof z.ZodBoolean) return parseBoolean;
  return (raw) => raw.trim();
}

function varName(tier: string, field: string, v: TierVarSpec): string {
  return v.name ?? `SERVELAB_${tier.toUpperCase()}_${field.toUpperCase()}`;
}

/**
 * Every variable of a tier, in the order of its spec.
 *
 * @example
 * ```ts
 * tierVars(TTFT_PARAM_SPEC).map((v) => v.name); // ["SERVELAB_TTFT_COLD_LAUNCHES", ...]
 * ```
 */
export function tierVars<S extends AnyObject>(spec: TierSpec<S>): TierVar[] {
  return Object.entries(spec.vars as Record<string, TierVarSpec | undefined>).flatMap(([field, v]) =>
    v ? [{ field, name: varName(spec.tier, field, v), means: v.means }] : []
  );
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return value.join(",");
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/** "item 2: " for an issue inside a field (array index or nested key); "" for the field itself. */
function where(path: readonly PropertyKey[]): string {
  return path.length === 0
    ? ""
    : `${path.map((k) => typeof k === "number" ? `item ${k + 1}` : String(k)).join(" ")}: `;
}

/**
 * The tier's parameters for a run size: the preset, each set `SERVELAB_<TIER>_*` variable over it (unset
 * and blank ones are ignored), then `spec.defaults` for fields still unset, checked by `spec.schema`.
 * Throws one error listing every bad variable (one line each: name, quoted value, what is wrong, what
 * it takes, the fix); a cross-field error names every variable it involves.
 *
 * @example
 * ```ts
 * ttftParams("default", { SERVELAB_TTFT_WARM_REQUESTS: "50" }); // through tierParams(TTFT_PARAM_SPEC, ...)
 * ```
 */
export function tierParams<S extends AnyObject>(spec: TierSpec<S>, size: RunSize, env: Env): z.output<S> {
  const shape = spec.schema.shape as Record<string, z.ZodType>;
  const vars = tierVars(spec);
  const given = new Map<string, { name: string; raw: string; means: string }>();
  const values: Record<string, unknown> = { ...(spec.presets[size] ?? spec.presets.test) };
  const lines: string[] = [];
  const bad = (name: string, raw: string, why: string, means: string) =>
    lines.push(`${name}=${quoteRaw(raw)} is not valid: ${why}. It takes ${means}. Fix it or unset it.`);

  for (const { field, name, means } of vars) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") continue;
    given.set(field, { name, raw, means });
    const parse = (spec.vars as Record<string, TierVarSpec>)[field].parse ?? defaultParser(shape[field]);
    let value: unknown;
    try {
      value = parse(raw.trim());
    } catch (e) {
      bad(name, raw, e instanceof Error ? e.message : String(e), means);
      continue;
    }
    const r = shape[field].safeParse(value);
    if (!r.success) {
      bad(name, raw, r.error.issues.map((i) => `${where(i.path)}${i.message}`).join("; "), means);
      continue;
    }
    values[field] = r.data;
  }
  if (lines.length) throw new Error(lines.join("\n"));

  const filled = spec.defaults?.({ size, values: values as Partial<z.output<S>> }) ?? {};
  for (const [field, v] of Object.entries(filled)) if (values[field] === undefined) values[field] = v;

  const r = spec.schema.safeParse(values);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const named = (issue.code === "custom" ? issue.params?.fields : undefined) as string[] | undefined;
    const fields = named ?? (issue.path.length ? [String(issue.path[0])] : [...given.keys()]);
    const inner = named || issue.path.length === 0 ? "" : where(issue.path.slice(1));
    if (fields.length === 0) {
      lines.push(`The ${spec.tier} parameters of preset ${size} are not valid: ${issue.message}.`);
      continue;
    }
    const one = fields.length === 1 ? given.get(fields[0]) : undefined;
    if (one && !named) {
      bad(one.name, one.raw, `${inner}${issue.message}`, one.means);
      continue;
    }
    const who = fields.map((f) => {
      const g = given.get(f);
      if (g) return `${g.name}=${quoteRaw(g.raw)}`;
      const v = vars.find((x) => x.field === f);
      return v
        ? `${v.name} (unset: ${shown(values[f])})`
        : `${spec.tier} parameter ${f} (${shown(values[f])})`;
    });
    const takes = fields.flatMap((f) => {
      const v = vars.find((x) => x.field === f);
      return v ? [`${v.name} takes ${v.means}`] : [];
    });
    const several = fields.length > 1;
    const verdict = several ? "do not fit together" : "is not valid";
    const help = takes.length ? `. ${takes.join("; ")}` : "";
    lines.push(
      `${who.join(" and ")} ${verdict}: ${inner}${issue.message}${help}. Fix ${
        several ? "them or unset them" : "it"
      }.`,
    );
  }
  throw new Error(lines.join("\n"));
}
