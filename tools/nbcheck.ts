/**
 * Type-checks notebooks, which the Deno kernel never does: for each notebook, its code cells are
 * concatenated into a sibling `<name>.nbcheck.ts` (so relative imports resolve), `deno check`ed, and
 * the file deleted. Errors point back to the notebook cell and line.
 *
 *   deno run -A tools/nbcheck.ts notebooks/ [more.ipynb ...]
 *
 * Cells must declare each name once: the kernel allows redeclaring `let`/`const` across cells, a module
 * does not.
 * @module
 */
import { basename } from "node:path";
import { cellSource, listNotebooks, readNotebook } from "./_notebooks.ts";

/** The TypeScript module for a notebook and, per line of it, the cell (1-based) and line in the cell. */
export function notebookModule(
  cells: readonly { cell_type: string; source: string | string[] }[],
  name: string,
): { text: string; lineMap: { cell: number; line: number }[] } {
  const lines: string[] = [];
  const lineMap: { cell: number; line: number }[] = [];
  cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    lines.push(`// ${name} cell ${i + 1}`);
    lineMap.push({ cell: i + 1, line: 0 });
    cellSource(c).split("\n").forEach((l, j) => {
      lines.push(l);
      lineMap.push({ cell: i + 1, line: j + 1 });
    });
  });
  lines.push("export {};", "");
  return { text: lines.join("\n"), lineMap };
}

/** Rewrites `<file>:LINE:COL` locations in deno's output to `<notebook> cell N line L:COL`. */
export function mapLocations(
  output: string,
  tsName: string,
  nbPath: string,
  lineMap: readonly { cell: number; line: number }[],
): string {
  const esc = tsName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return output.replace(new RegExp(`(?:file://)?[^\\s]*${esc}:(\\d+):(\\d+)`, "g"), (m, line, col) => {
    const at = lineMap[Number(line) - 1];
    return at ? `${nbPath} cell ${at.cell} line ${at.line}:${col}` : m;
  });
}

/** Checks one notebook; returns whether it passed and deno's (mapped) output. */
export async function checkNotebook(path: string): Promise<{ ok: boolean; output: string }> {
  const nb = await readNotebook(path);
  const tsPath = path.replace(/\.ipynb$/, ".nbcheck.ts");
  const { text, lineMap } = notebookModule(nb.cells, basename(path));
  await Deno.writeTextFile(tsPath, text);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", tsPath],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const raw = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, output: mapLocations(raw, basename(tsPath), path, lineMap).trim() };
  } finally {
    await Deno.remove(tsPath).catch(() => {});
  }
}

/** Runs the tool; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (args.length === 0) {
    console.error("usage: deno run -A tools/nbcheck.ts <notebook or folder>...");
    return 2;
  }
  const notebooks = await listNotebooks(args);
  if (notebooks.length === 0) {
    console.log(`no notebooks in ${args.join(" ")}`);
    return 0;
  }
  let failed = 0;
  for (const path of notebooks) {
    const r = await checkNotebook(path);
    if (r.ok) console.log(`${path}: ok`);
    else {
      failed++;
      console.log(`${path}: type check failed\n${r.output.replace(/^/gm, "  ")}`);
    }
  }
  console.log(`${notebooks.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
