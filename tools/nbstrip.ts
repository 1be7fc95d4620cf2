/**
 * Strips notebooks for git: clears outputs, execution counts and `metadata.execution` (nbclient
 * timings), keeps tags and other metadata, and writes nbformat's own layout (1-space indent, sorted
 * keys, trailing newline). `--check` changes nothing and exits 1 naming each notebook with outputs.
 *
 *   deno run -A tools/nbstrip.ts [--check] notebooks/ [more.ipynb ...]
 * @module
 */
import { cellSource, listNotebooks, type Notebook, readNotebook } from "./_notebooks.ts";

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** nbformat's JSON layout: `json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"`. */
export function nbformatJson(nb: unknown): string {
  return JSON.stringify(sortKeys(nb), null, 1) + "\n";
}

/** What a notebook carries that a stripped one must not: cell numbers (1-based) per kind. */
export function strayOutputs(nb: Notebook): { outputs: number[]; counts: number[]; timing: number[] } {
  const r = { outputs: [] as number[], counts: [] as number[], timing: [] as number[] };
  nb.cells.forEach((c, i) => {
    if (c.outputs && c.outputs.length) r.outputs.push(i + 1);
    if (c.execution_count !== undefined && c.execution_count !== null) r.counts.push(i + 1);
    if (c.metadata && "execution" in c.metadata) r.timing.push(i + 1);
  });
  return r;
}

/**
 * A stripped copy of a notebook: code cells get `outputs: []` and `execution_count: null`; every cell
 * loses `metadata.execution`; tags and the rest stay.
 *
 * @example
 * ```ts
 * const clean = stripNotebook(await readNotebook("notebooks/01_ttft.ipynb"));
 * ```
 */
export function stripNotebook(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((c) => {
      const { execution: _e, ...metadata } = (c.metadata ?? {}) as Record<string, unknown>;
      const out = { ...c, metadata, source: Array.isArray(c.source) ? c.source : splitLines(cellSource(c)) };
      if (c.cell_type === "code") return { ...out, outputs: [], execution_count: null };
      return out;
    }),
  };
}

/** nbformat stores sources as lines that keep their "\n". */
function splitLines(s: string): string[] {
  return s.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Runs the tool; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const paths = args.filter((a) => a !== "--check");
  if (paths.length === 0) {
    console.error("usage: deno run -A tools/nbstrip.ts [--check] <notebook or folder>...");
    return 2;
  }
  const notebooks = await listNotebooks(paths);
  let dirty = 0;
  for (const path of notebooks) {
    const nb = await readNotebook(path);
    const s = strayOutputs(nb);
    const found = [
      s.outputs.length ? `outputs in cell(s) ${s.outputs.join(", ")}` : "",
      s.counts.length ? `execution counts in cell(s) ${s.counts.join(", ")}` : "",
      s.timing.length ? `timing metadata in cell(s) ${s.timing.join(", ")}` : "",
    ].filter(Boolean);
    if (check) {
      if (found.length) {
        dirty++;
        console.log(`${path}: has ${found.join("; ")}. Run 'deno task nbstrip' and commit the result.`);
      }
      continue;
    }
    const before = await Deno.readTextFile(path);
    const after = nbformatJson(stripNotebook(nb));
    if (after !== before) {
      await Deno.writeTextFile(path, after);
      console.log(`${path}: stripped${found.length ? ` (${found.join("; ")})` : " (layout only)"}`);
    }
  }
  if (check) {
    console.log(
      dirty
        ? `${dirty} of ${notebooks.length} notebook(s) carry outputs`
        : `${notebooks.length} notebook(s) without outputs`,
    );
  }
  return dirty ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
