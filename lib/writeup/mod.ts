/**
 * lib/writeup: the day's write-up (notebooks/05_writeup.ipynb) and the run index's key numbers, where every
 * number shown is a {@link Fact} that names the CSV, column, rows and statistic it comes from;
 * `traceRunDir` checks that a run's facts.json, index.html and 05_writeup.html hold to that.
 * @module
 */
export {
  computeStat,
  deriveValue,
  describeSource,
  type Fact,
  factHtml,
  type FactSource,
  type FactStat,
  type FilterValue,
  formatFact,
  rowMatches,
} from "../report/fact.ts";
export {
  codeText,
  fileLink,
  h,
  type Html,
  htmlList,
  htmlOutput,
  htmlTable,
  preText,
  raw,
} from "../report/html.ts";
export { type FactBook, factBook, jsonPath, type RunData, type TierStatus } from "../report/fact_book.ts";
export { readRunData } from "./run_data.ts";
export { type DerivedCheck, type DerivedThresholds, deriveThresholds } from "./derive.ts";
export { engineText, isSimulated, missingTier, type RunFacts } from "./sections.ts";
export {
  buildWriteup,
  dayWriteupMarkdown,
  type FactsFile,
  factsJson,
  runFacts,
  type Writeup,
  WRITEUP_FILES,
  writeWriteupFiles,
} from "./writeup.ts";
export { type AnsweredQuestion, SEED_QUESTIONS, seedAnswers, type SeedQuestion } from "./questions.ts";
export { markdownNumbersOutsideFacts, numbersOutsideFacts, type TraceProblem, traceRunDir } from "./trace.ts";
export {
  cachingAdvice,
  feynmanSection,
  questionsTemplate,
  SEED_DASHBOARD,
  writeupAnswers,
} from "./day_advice.ts";
export { DAY_TITLE, TEMPLATE_HEADINGS } from "./day_template.ts";
export { checklistHtml, type ChecklistItem, checklistItems } from "./checklist.ts";
export { htmlToMarkdown, markdownAsCheckedHtml } from "./markdown_page.ts";
export { type RunIndex, runIndexHtml, writeRunIndex } from "./run_index.ts";
export { type RunListing, runsIndexHtml, writeRunsIndex } from "./runs_index.ts";
export { besideRun, keptRunRows } from "./beside.ts";
