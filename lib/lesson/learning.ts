/**
 * A tier notebook's "Check your learning": the seed's questions for one tier, each followed by the answer
 * this run's data give (lib/writeup/questions.ts; a tier answers through the Tier contract's `questions`).
 * The facts come from the run folder, read back from its CSVs after the tier wrote them, exactly as the
 * write-up computes them.
 * @module
 */
import { h, htmlOutput, htmlTable } from "../report/html.ts";
import { $display, type Displayable, displayable } from "../report/bundle.ts";
import { factBook } from "../report/fact_book.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier } from "../tiers/tier.ts";
import { readRunData } from "../writeup/run_data.ts";
import { type AnsweredQuestion, seedAnswers } from "../writeup/questions.ts";
import { runFacts } from "../writeup/writeup.ts";
import type { RunFacts } from "../writeup/sections.ts";

/**
 * The run's facts, by tier key, from the run folder's manifest and CSVs (what the write-up shows).
 *
 * @example
 * ```ts
 * const facts = await lessonFacts(run.dir);
 * facts.ttft.cold_warm?.value; // e.g. 3.2
 * ```
 */
export async function lessonFacts(dir: string, tiers: readonly AnyTier[] = TIERS): Promise<RunFacts> {
  return runFacts(factBook(await readRunData(dir, tiers)), tiers);
}

/** The questions of one tier with this run's answers, as data and as a displayable list. */
export interface Learning extends Displayable {
  readonly kind: "learning";
  readonly questions: readonly AnsweredQuestion[];
}

/**
 * "Check your learning" for tier `key`: each of the seed's questions for that tier, then this run's answer
 * (or why the run gives none). Throws for a key that is no tier.
 *
 * @example
 * ```ts
 * await show(checkYourLearning(await lessonFacts(run.dir), "ttft"));
 * ```
 */
export function checkYourLearning(
  facts: Readonly<Record<string, unknown>>,
  key: string,
  tiers: readonly AnyTier[] = TIERS,
): Learning {
  if (!tiers.some((t) => t.key === key)) {
    throw new Error(
      `checkYourLearning: '${key}' is not a tier; use one of ${tiers.map((t) => t.key).join(", ")}.`,
    );
  }
  const questions = seedAnswers(tiers, facts, { only: key });
  const answered = questions.filter((q) => q.answered).length;
  const html =
    h`<h3>Check your learning</h3><p>The seed's questions for this tier, each with the answer this run's data give (${
      String(answered)
    } of ${String(questions.length)} answered). Answer each yourself first, then compare.</p>${
      htmlTable(
        ["#", "question", "this run's answer"],
        questions.map((q) => [String(q.n), q.text, q.answer]),
      )
    }`;
  return displayable(htmlOutput(html)[$display](), { kind: "learning" as const, questions });
}
