/**
 * lib/lesson: what a tier notebook shows a learner happen, beyond the tier's own measurement: the engine
 * launch step by step (`launchShown`), one request through the `openai` SDK beside the lab's probe
 * (`openaiOptions`, `sdkVsProbe`), and "Check your learning" from the run's facts (`lessonFacts`,
 * `checkYourLearning`). The per-tier parts (predictions, the key table lib checks the notebook's polars
 * table against, the teaching charts) are in each tier's `lesson.ts`; the check is lib/report's `assertAgrees`.
 * @module
 */
export { launchShown, phaseLines, serveCommand } from "./launch_shown.ts";
export { openaiOptions, type SdkTiming, sdkVsProbe, type SideBySide } from "./single_request.ts";
export { checkYourLearning, type Learning, lessonFacts } from "./learning.ts";
export {
  besideFlags,
  type BesideModel,
  besideModel,
  besideProfile,
  type PredictedBeside,
  predictedBeside,
} from "./beside.ts";
