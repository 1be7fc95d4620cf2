/**
 * Predict, then measure: a learner's guesses against a run's results, each with a verdict and the reason the
 * result is what it is (from the run's own numbers). Each tier builds its rows (its `lesson.ts`); this module
 * turns them into one displayable table. A guess left undefined reads "no guess"; a result the run did not
 * measure reads "not measured".
 *
 * Verdict: within 25% of the result is "close"; otherwise the guess is "N× too high" or "N× too low"
 * (N = the larger over the smaller). Booleans are "right" or "wrong".
 * @module
 */
import { type Displayable, displayable, escapeHtml } from "./bundle.ts";

/** One quantity: its name, unit, the learner's guess, the run's result, and why the result is what it is. */
export interface PredictionItem {
  quantity: string;
  unit: string;
  guess?: number | boolean;
  result?: number | boolean;
  why: string;
}

/** One row as shown. */
export interface PredictionRow {
  quantity: string;
  guess: string;
  result: string;
  verdict: string;
  why: string;
}

/** The table of predictions, displayable; `rows` hold the text shown. */
export interface Predictions extends Displayable {
  readonly kind: "predictions";
  readonly rows: readonly PredictionRow[];
}

/** "close" within this relative distance. */
export const CLOSE_WITHIN = 0.25;

function text(v: number | boolean | undefined, unit: string, none: string): string {
  if (v === undefined) return none;
  if (typeof v === "boolean") return v ? "yes" : "no";
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3);
  return unit ? `${s} ${unit}` : s;
}

/**
 * The verdict of one guess against one result.
 *
 * @example
 * ```ts
 * verdict(3, 4); // "close (within 25%)"
 * verdict(2, 8); // "4.0× too low"
 * ```
 */
export function verdict(guess: number | boolean | undefined, result: number | boolean | undefined): string {
  if (guess === undefined) return "no guess";
  if (result === undefined) return "not measured: nothing to compare";
  if (typeof guess === "boolean" || typeof result === "boolean") return guess === result ? "right" : "wrong";
  if (guess === result) return "exact";
  if (Math.abs(guess - result) <= CLOSE_WITHIN * Math.abs(result)) return "close (within 25%)";
  if (guess <= 0 || result <= 0) return guess > result ? "too high" : "too low";
  const f = Math.max(guess, result) / Math.min(guess, result);
  return `${f.toFixed(1)}× too ${guess > result ? "high" : "low"}`;
}

/**
 * Guesses against results, as a table with the verdict and the reason for each result.
 *
 * @example
 * ```ts
 * await show(predictionTable([{ quantity: "cold / warm TTFT", unit: "x", guess: 2, result: 5.6, why: "..." }]));
 * ```
 */
export function predictionTable(items: readonly PredictionItem[]): Predictions {
  const rows = items.map((i) => ({
    quantity: i.quantity,
    guess: text(i.guess, i.unit, "no guess"),
    result: text(i.result, i.unit, "not measured"),
    verdict: verdict(i.guess, i.result),
    why: i.why,
  }));
  const guessed = items.filter((i) => i.guess !== undefined).length;
  const head = guessed
    ? `Your ${guessed} guess${guessed === 1 ? "" : "es"} against this run:`
    : "No guesses were written in the Predict cell (fill it in and rerun to compare); this run's results:";
  const l = ' style="text-align:left;vertical-align:top"';
  const html = `<p>${escapeHtml(head)}</p><table><thead><tr>${
    ["quantity", "your guess", "this run", "verdict", "why the result is what it is"].map((c) =>
      `<th${l}>${c}</th>`
    )
      .join("")
  }</tr></thead><tbody>${
    rows.map((r) =>
      `<tr>${
        [r.quantity, r.guess, r.result, r.verdict, r.why].map((c) => `<td${l}>${escapeHtml(c)}</td>`).join("")
      }</tr>`
    ).join("")
  }</tbody></table>`;
  const plain = [
    head,
    ...rows.map((r) => `- ${r.quantity}: guess ${r.guess}, result ${r.result} (${r.verdict}). ${r.why}`),
  ]
    .join("\n");
  return displayable({ "text/html": html, "text/plain": plain }, { kind: "predictions" as const, rows });
}
