/** lib/sim: see shared/DESIGN.md. @module */
export type * from "./types.ts";
export {
  applyChatTemplate,
  countTokens,
  decode,
  encode,
  ENDOFTEXT_TOKEN_ID,
  EOS_TOKEN_ID,
  IM_START_TOKEN_ID,
  QWEN_DEFAULT_SYSTEM,
  requestSeed,
  SPECIAL_TOKENS,
  syntheticText,
  syntheticTokenIds,
  tokenFor,
  tokenStrings,
  VOCAB_SIZE,
} from "./tokenizer.ts";
export type { ChatMessage, ChatTemplateOptions, DecodeOptions, TokenForOptions } from "./tokenizer.ts";
export {
  catalogFileName,
  catalogProblems,
  GpuSpec,
  listGpus,
  listModels,
  loadGpu,
  loadModel,
  modelFromHfConfig,
  ModelSpec,
  paramCountFromShape,
  ProfileTiming,
} from "./catalog.ts";
export {
  FRONTEND as SIM_FRONTEND,
  MEMORY as SIM_MEMORY,
  MIMICKED_VLLM,
  STARTUP as SIM_STARTUP,
  TIMING as SIM_TIMING,
  WARMUP as SIM_WARMUP,
} from "./constants.ts";
export {
  activationBytes,
  cudagraphCaptureSizes,
  graphBytes,
  kvBytesPerToken,
  planMemory,
  resolveEngineSettings,
  weightsBytes,
} from "./memory.ts";
export type { EngineSettings } from "./memory.ts";
export {
  attentionPairs,
  frontendOverheadMs,
  idlePenaltyMs,
  makeStepCost,
  makeStepTime,
  startupPhases,
  warmupPenaltyMs,
} from "./timing.ts";
export type { SimPhase, SimPhaseName, StepCost } from "./timing.ts";
export { blockHashes, createBlockPool, hashBlock, ROOT_HASH, saltHash } from "./block_pool.ts";
export type { BlockPool, BlockPoolOptions } from "./block_pool.ts";
export { createScheduler } from "./scheduler.ts";
export { CapacityOptions, ConcurrencyOptions, fitsConcurrent, planCapacity } from "./plan.ts";
export type { CapacityPlan, ConcurrencyAnswer } from "./plan.ts";
export { SimLoad, simulate, syntheticRequests } from "./simulate.ts";
export type {
  SimRecord,
  SimResult,
  SimSample,
  SimulateOptions,
  SyntheticRequestsOptions,
  Workload,
  WorkloadRequest,
} from "./simulate.ts";
export { CRASH_EXIT_CODE, createFaults, seededRandom as simFaultRandom } from "./faults.ts";
export type { FaultFlags, Faults, RequestFaults } from "./faults.ts";
export {
  fitErrorMessage,
  formatCount,
  formatLogLine,
  nonDefaultArgs,
  serverUpSteps,
  SIM_SCALE_PREFIX,
  SIM_VERSION,
  startupScript,
  VLLM_VERSION_MIMICKED,
} from "./log.ts";
export type { LogLevel, LogProc, LogRecord, Phase as LogPhase, ScriptStep, StartupInput } from "./log.ts";
export {
  buckets125,
  createSimMetrics,
  ITERATION_TOKENS_BUCKETS,
  ITL_BUCKETS_S,
  REQUEST_LATENCY_BUCKETS_S,
  TTFT_BUCKETS_S,
} from "./metrics.ts";
export type { FinishedTiming, SimMetrics, SimMetricsInit } from "./metrics.ts";
export { realClock, SimRuntime, virtualClock } from "./runtime.ts";
export type {
  GroundTruth as SimGroundTruth,
  RealClockOptions,
  RequestListener,
  RequestOutput,
  SimClock,
  SimRuntimeOptions,
  StepTiming,
} from "./runtime.ts";
export { createSim, SimFitError } from "./instance.ts";
export type { Sim, SimHostOptions } from "./instance.ts";
export { ARRIVAL_HEADER, createSimHandler, serveSim, type SimHttp, simHttp } from "./server.ts";
export type { ServeSimOptions, SimServer } from "./server.ts";
export { main as simCli, parseCli as parseSimCli } from "./main.ts";
export type { CliIo } from "./main.ts";
export {
  evaluateRows,
  implausibleTtft,
  loadResults,
  loadValidationRows,
  type Metric,
  type MetricError,
  METRICS,
  predictRow,
  type ProfileValidation,
  profileValidation,
  ResultsFile,
  type RowResult,
  summarizeErrors,
  TARGET_ABS_ERROR,
  TARGET_METRICS,
  validationNote,
  ValidationRow,
  validationShort,
} from "./validation.ts";
export {
  compareKernels,
  fitKernelModel,
  fitLoss,
  type FittedTiming,
  fitTiming,
  type KernelComparison,
  type KernelPoint,
  type TimingFit,
  withTiming,
} from "./validation_fit.ts";
export {
  besideConfig,
  besideMarkdown,
  besideMedian,
  besideNumber,
  type BesideOptions,
  besideRequests,
  type BesideRow,
  besideRow,
  besideRows,
} from "./beside.ts";
