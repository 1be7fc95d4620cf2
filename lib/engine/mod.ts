/**
 * lib/engine: the typed `ServeConfig`, its `vllm serve` flags, `launch()` for the `vllm`, `sim` and
 * `external` engines (process groups, readiness, stop on dispose, error and signals), and the
 * version-tolerant vLLM startup-log parser. See shared/DESIGN.md and docs/adr/0002-process-lifecycle.md.
 * @module
 */
export * from "./config.ts";
export type * from "./types.ts";
export * from "./argv.ts";
export {
  engineArgv,
  engineEnv,
  EngineStartError,
  freePort,
  launch,
  type LaunchOptions,
  ProcessEngine,
} from "./launch.ts";
export { apiKey, attachExternal, type ExternalOptions, isLoopbackHost } from "./external.ts";
export { derivePhases, parseStartupLog, StartupLogParser } from "./startup_log.ts";
export { defaultEngineKind, type EngineProbes, findOnPath, vllmAvailable } from "./default_engine.ts";
export { groupMembers, pidAlive, signalGroup, spawnGroup, stopGroup } from "./process_group.ts";
export { type LiveEngine, liveEngineCount, register, unregister } from "./registry.ts";
export { LogCapture, type LogCaptureOptions } from "./log_capture.ts";
export {
  affinityOf,
  CPU_LIST_RE,
  cpuCount,
  type CpuPlan,
  type CpuPlanSource,
  formatCpuList,
  type HostCpus,
  hostCpus,
  parseCpuList,
  pinnedArgv,
  pinProcess,
  planCpus,
} from "./cpus.ts";
export { LLAMACPP_DEFAULT_SLOTS, llamaServerArgs, llamaServerCommand } from "./llamacpp.ts";
export {
  type EngineExit,
  engineExited,
  EngineExitedError,
  EngineSupervisor,
  type SupervisorOptions,
} from "./supervisor.ts";
export { EMBEDDED_ENGINE_MARK, isEmbeddedEngine, serverVersion } from "./identity.ts";
