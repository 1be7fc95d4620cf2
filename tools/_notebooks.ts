/**
 * Notebook files for the tools: finding them (skipping .ipynb_checkpoints) and reading their cells.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";

/** The parts of an nbformat 4 notebook the tools read; everything else is kept as is. */
export const Notebook = z.looseObject({
  cells: z.array(
    z.looseObject({
      cell_type: z.string(),
      source: z.union([z.string(), z.array(z.string())]),
      metadata: z.record(z.string(), z.unknown()).optional(),
      outputs: z.array(z.unknown()).optional(),
      execution_count: z.number().nullable().optional(),
    }),
  ),
  nbformat: z.number(),
  nbformat_minor: z.number(),
});
export type Notebook = z.infer<typeof Notebook>;

/** A cell's source as one string. */
export function cellSource(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/**
 * Reads and checks a notebook file; the error names the file.
 *
 * @example
 * ```ts
 * const nb = await readNotebook("notebooks/01_ttft.ipynb");
 * ```
 */
export async function readNotebook(path: string): Promise<Notebook> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new Error(`Cannot read notebook ${path}: ${(err as Error).message}`);
  }
  const r = Notebook.safeParse(raw);
  if (!r.success) {
    throw new Error(
      `${path} is not an nbformat 4 notebook: ${r.error.issues[0].path.join(".")}: ${
        r.error.issues[0].message
      }`,
    );
  }
  return r.data;
}

/**
 * The .ipynb files among `paths` (files, or folders searched recursively), sorted, skipping
 * .ipynb_checkpoints. A missing path is an error.
 *
 * @example
 * ```ts
 * await listNotebooks(["notebooks/"]); // ["notebooks/01_ttft.ipynb", ...]
 * ```
 */
export async function listNotebooks(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory && e.name !== ".ipynb_checkpoints") await walk(p);
      else if (e.isFile && e.name.endsWith(".ipynb")) out.push(p);
    }
  };
  for (const p of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(p);
    } catch {
      throw new Error(`No such notebook or folder: ${p}`);
    }
    if (info.isDirectory) await walk(p.replace(/\/$/, ""));
    else if (!p.split("/").includes(".ipynb_checkpoints")) out.push(p);
  }
  return [...new Set(out)].sort();
}
