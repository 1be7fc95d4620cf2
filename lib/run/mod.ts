/**
 * lib/run: run folders and records. `createRun`/`openRun`/`runDirFromEnv` give a `reports/<run-id>/`
 * folder with its `manifest.json`; `runPoints` writes one result file per point atomically and skips
 * finished points on a rerun; `collectPoints` builds the tier's CSV; `writeCsv`/`readCsv` keep CSVs
 * tidy (fixed columns, zod on read).
 * @module
 */
export {
  type AtomicContent,
  AtomicWriteError,
  type AtomicWriteOptions,
  readJsonIfExists,
  writeJsonAtomic,
  writeTextAtomic,
} from "./atomic.ts";
export {
  csvBoolean,
  csvNumber,
  type CsvRow,
  type CsvValue,
  parseCsv,
  parseCsvCells,
  type ParseCsvOptions,
  readCsv,
  toCsv,
  type ToCsvOptions,
  writeCsv,
} from "./csv.ts";
export {
  codeInfo,
  GpuInfo,
  gpuInfo,
  gpuInfoFrom,
  hashInputs,
  HostInfo,
  hostInfo,
  InputHash,
  REPO_ROOT,
} from "./host.ts";
export {
  buildManifest,
  cpuSetsLine,
  Manifest,
  ManifestCpus,
  ManifestEngine,
  type ManifestStart,
  readManifest,
  redactSecrets,
  RunStatus,
  sanitizeConfig,
  secretEnvValues,
  updateManifest,
  writeManifest,
} from "./manifest.ts";
export {
  type CollectOptions,
  collectPoints,
  type CollectSummary,
  FORCE_ENV,
  pointDone,
  PointFailure,
  pointPaths,
  PointRecord,
  type PointResult,
  readPoint,
  runPoints,
  type RunPointsOptions,
  type RunPointsSummary,
  writePoint,
} from "./points.ts";
export {
  durationText,
  pointParams,
  PROGRESS_FILE,
  progressLine,
  ProgressState,
  readProgress,
  type SweepProgress,
  sweepProgress,
  writeProgress,
} from "./progress_file.ts";
export {
  createRun,
  type CreateRunOptions,
  finishRun,
  newRunId,
  openRun,
  recordEngine,
  reportsRoot,
  type Run,
  RUN_DIR_ENV,
  runDirFromEnv,
} from "./run_dir.ts";
export { acquireRunLock, markDeadRuns, type RunLock } from "./lock.ts";
export {
  exitCodeOf,
  outcomeLines,
  overallOutcome,
  type RunOutcome,
  TierOutcome,
  tierOutcomes,
} from "./outcome.ts";
