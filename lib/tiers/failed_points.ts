/**
 * A tier's markdown names its failed points (issue 20): the tier's outcome from its point files and, when any
 * point failed, a paragraph after the title with how many and the first one's error, so the cause is in the
 * tier's own write-up, not only in `points/<tier>/<id>.failed.json`.
 * @module
 */
import { tierOutcomes } from "../run/outcome.ts";

/** Backticks in server text would end the code span: replace them. */
const code = (s: string) => `\`${s.replace(/`/g, "'").replace(/\s+/g, " ").trim()}\``;

/**
 * The failed-points paragraph of tier `key` in the run at `dir`, or undefined when none failed.
 *
 * @example
 * ```ts
 * await failedPointsMd(run.dir, "ttft"); // "**Failed points.** 1 of 1 point(s) failed; the first (`attach-0`): ..."
 * ```
 */
export async function failedPointsMd(dir: string, key: string): Promise<string | undefined> {
  const o = (await tierOutcomes(dir, [key]))[key];
  if (o.points_failed === 0) return undefined;
  return `**Failed points.** ${o.points_failed} of ${o.points_done + o.points_failed} point(s) failed` +
    `${o.status === "failed" ? " (every point: the tier measured nothing)" : ""}; the first (${
      code(o.failed_point ?? "?")
    }): ${
      code(o.cause ?? "no message")
    }. The run's manifest records it under \`tiers\`, and the run exits non-zero.`;
}

/**
 * Inserts `note` after the markdown's first heading (and any lines up to the first blank line), or returns the
 * markdown unchanged when there is no note.
 *
 * @example
 * ```ts
 * withNote("# T\n\nbody\n", "**Failed points.** ..."); // "# T\n\n**Failed points.** ...\n\nbody\n"
 * ```
 */
export function withNote(markdown: string, note: string | undefined): string {
  if (!note) return markdown;
  const lines = markdown.split("\n");
  const h = lines.findIndex((l) => l.startsWith("# "));
  let at = h < 0 ? 0 : h + 1;
  while (at < lines.length && lines[at].trim() !== "") at++;
  lines.splice(at, 0, "", note);
  return lines.join("\n");
}
