/**
 * Origin health (DESIGN §2, §4): statistics and the circuit breaker as pure functions, the wire
 * shapes of reports and snapshots, and the isolate's reporter, snapshot cache and probes. The
 * OriginMonitor Durable Object itself is exported by the Worker's entry (`src/index.ts`).
 */
export {
  admissionOf,
  advanceCircuit,
  blameWith,
  circuitOptionsSchema,
  DEFAULT_CIRCUIT_OPTIONS,
  HISTORY_LIMIT,
  initialCircuit,
  recordOutcome,
  tryAcquire,
  type Admission,
  type Blame,
  type Circuit,
  type CircuitOptions,
  type CircuitOptionsInput,
  type CircuitReason,
  type CircuitStateName,
  type CircuitTransition,
  type Outcome,
} from "./circuit";
export { MAX_PROBE_TIMEOUT_MS, probeOrigin, runProbes, type ProbeEnv, type ProbeResult } from "./probe";
export { HealthReporter, type HealthReporterOptions, type ReportNamespace, type ReportTarget } from "./reporter";
export { sampleKindOf } from "./sample-kind";
export { chargeFailure, forgetExpired, MAX_TRACKED_TENANTS, type Charge, type TenantFailures } from "./tenant-cap";
export { SnapshotCache, type SnapshotCacheOptions, type SnapshotNamespace, type SnapshotRead, type SnapshotTarget } from "./snapshots";
export {
  coefficientOfVariation,
  DEFAULT_ALPHA,
  emptyHourlyProfile,
  hourOfDay,
  recordHourly,
  updateEwma,
  type Ewma,
  type HourlyProfile,
} from "./stats";
export {
  healthOptionsSchema,
  healthReportSchema,
  healthSampleSchema,
  MAX_BATCH_SAMPLES,
  SAMPLE_KINDS,
  type AttributedFailure,
  type HealthOptions,
  type HealthOptionsInput,
  type HealthReport,
  type HealthSample,
  type MetricSummary,
  type OriginSnapshot,
  type ReportResult,
  type SampleKind,
} from "./types";
