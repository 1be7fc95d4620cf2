/**
 * The Deno Jupyter kernel, when there is one: its display API (`Deno.jupyter`) and the short wait that
 * lets the kernel publish a cell's outputs before the cell ends (shared/reference/deno-notebooks.md §1a).
 * lib/report's `show` and lib/run's progress line use them.
 * @module
 */

/** The part of `Deno.jupyter` the lab uses. */
export interface JupyterApi {
  display(obj: unknown, options?: { raw?: boolean; update?: boolean; display_id?: string }): Promise<void>;
}

/** The kernel's `Deno.jupyter`, or undefined outside `deno jupyter` (where even reading it throws). */
export function jupyter(): JupyterApi | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return typeof j?.display === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

/** True inside a Deno Jupyter kernel. */
export function inNotebook(): boolean {
  return jupyter() !== undefined;
}

/** Milliseconds `show` waits after displaying: enough for the kernel to publish under load (§1a). */
export const FLUSH_MS = 20;

/**
 * Waits `ms` so the kernel publishes pending outputs before the cell ends. `show` calls it; call it
 * yourself after `console.log` at the end of a cell.
 *
 * @example
 * ```ts
 * console.log("done");
 * await flush();
 * ```
 */
export function flush(ms: number = FLUSH_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
