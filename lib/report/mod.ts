/**
 * lib/report: showing results. `show()`/`flush()` display from notebook cells without losing outputs to
 * the kernel's timing; `md` builds escaped Markdown; `table` shows DataFrames and rows; `plot` renders
 * Observable Plot charts that survive untrusted notebooks; `progress` updates one line while a run goes;
 * `writeRunIndex` writes a run's index.html.
 * @module
 */
export {
  $display,
  type Displayable,
  displayable,
  escapeHtml,
  isDisplayable,
  type MediaBundle,
} from "./bundle.ts";
export { flush, FLUSH_MS, inNotebook, show, toBundle, toText } from "./display.ts";
export { code, escapeMarkdown, isMarkdown, type Markdown, md, rawMd } from "./markdown.ts";
export { type Progress, progress, type ProgressOptions, progressText } from "../run/progress.ts";
export { type DataFrame, displaySafe, isDataFrame, type Table, table, type TableOptions } from "./table.ts";
export { type Chart, plot, type PlotOptions, plotSvg } from "./plot.ts";
export { type Agreement, type AgreeOptions, assertAgrees } from "./agree.ts";
