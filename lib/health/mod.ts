/**
 * Health check: a thresholds file (the canary load and the checks), a short canary against a live
 * server judged against it, and a Grafana dashboard on vLLM's metric names with the same thresholds.
 * @module
 */
export {
  CHECK_IDS,
  CHECK_UNITS,
  type CheckId,
  defaultThresholds,
  parseThresholds,
  type ThresholdCheck,
  type Thresholds,
  thresholdsJson,
  ThresholdsSchema,
} from "./thresholds.ts";
export {
  type CanaryGpu,
  type CanaryInput,
  type CanaryMetrics,
  measureCanary,
  type Measured,
} from "./measure.ts";
export {
  type CheckResult,
  type CheckStatus,
  type HealthFailure,
  type HealthOptions,
  type HealthResult,
  judge,
  runHealth,
} from "./check.ts";
export { formatHealth, type HealthColours } from "./format.ts";
export {
  CHECK_PANELS,
  type DashboardOptions,
  grafanaDashboard,
  type PanelSpec,
  panelThreshold,
} from "./dashboard.ts";
