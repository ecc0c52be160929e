/**
 * What isolates send to an OriginMonitor and what they read back. Reports are validated with zod
 * when they reach the monitor (a NaN would poison an EWMA for good); snapshots are plain data.
 */
import { z } from "zod";
import { timeZoneSchema } from "../time/local-time";
import { circuitOptionsSchema, type CircuitReason, type CircuitStateName } from "./circuit";
import { DEFAULT_ALPHA } from "./stats";

/**
 * How an attempt ended. Mirrors the forwarder's attempt results (`AttemptResult`): an HTTP status
 * the router falls back on is reported as its class.
 */
export const SAMPLE_KINDS = ["ok", "status_5xx", "status_429", "timeout", "connect_error", "broken", "invalid_response"] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

const millis = z.number().finite().min(0).max(86_400_000);
const tokens = z.number().int().min(0).max(100_000_000);

/** How a request was placed (see routing/decide.ts `placement`). */
export const PLACEMENTS = ["sticky", "spill", "cold", "none"] as const;

export const healthSampleSchema = z
  .object({
    /** When the attempt started (epoch ms). Hour-of-day buckets and the breaker go by it. */
    at: z.number().int().min(0),
    ok: z.boolean(),
    kind: z.enum(SAMPLE_KINDS),
    /** Time to first token (streams) or to the response headers (non-streamed answers). */
    ttftMs: millis.optional(),
    /** The whole attempt. */
    latencyMs: millis.optional(),
    outputTokens: z.number().int().min(0).max(10_000_000).optional(),
    /** An active probe (`probeOrigin`): counts for the breaker and the error rate, not for latencies. */
    probe: z.boolean().optional(),
    /**
     * The tenant whose request failed. Its failures count against the origin at most
     * `circuit.tenantFailureCap` times per window, and one tenant's alone never open the circuit
     * (see `tenant-cap.ts`, `circuit.ts`). Absent on probes, and on successes, which always count.
     */
    tenant: z.string().min(1).max(64).optional(),
    /** What the prefix index predicted for this request and what the origin reported (hit-rate metrics). */
    prefix: z
      .object({
        scenario: z.string().min(1).max(64),
        placement: z.enum(PLACEMENTS),
        promptTokens: tokens,
        predictedTokens: tokens,
        reportedTokens: tokens,
      })
      .strict()
      .optional(),
    /** The scenario a served answer was for, and its quality gates' verdict when any applied (outcome counts). */
    outcome: z
      .object({ scenario: z.string().min(1).max(64), gate: z.enum(["passed", "failed"]).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => s.ok === (s.kind === "ok"), { message: 'ok must be true exactly when kind is "ok"', path: ["ok"] })
  .refine((s) => !(s.probe && s.tenant !== undefined), { message: "a probe is no tenant's request", path: ["tenant"] });

/** One attempt at one origin, as an isolate reports it. */
export type HealthSample = z.infer<typeof healthSampleSchema>;

/**
 * Per-origin monitor settings. Isolates send them with each batch (they hold the config; the
 * monitor does not) and the monitor keeps the latest it received.
 */
export const healthOptionsSchema = z
  .object({
    /** Weight of the newest sample in the latency, TTFT, throughput and error-rate EWMAs. */
    alpha: z.number().gt(0).max(1).default(DEFAULT_ALPHA),
    /** The zone of the hour-of-day profile: an origin's peak hours follow its users' clock. */
    timeZone: timeZoneSchema.default("UTC"),
    circuit: circuitOptionsSchema.prefault({}),
  })
  .strict();

export type HealthOptions = z.infer<typeof healthOptionsSchema>;
export type HealthOptionsInput = z.input<typeof healthOptionsSchema>;

/** The most samples one report may carry; the reporter sends 50. */
export const MAX_BATCH_SAMPLES = 500;

export const healthReportSchema = z
  .object({
    /** Unique per batch; a retried batch carries the same id and is applied once. */
    batchId: z.string().min(1).max(200),
    origin: z.string().min(1).max(64),
    /** The reporting isolate: its in-flight count replaces the previous one from the same id. */
    isolateId: z.string().min(1).max(200),
    /** When the batch was sent (epoch ms, the isolate's clock). */
    at: z.number().int().min(0),
    /** Requests this isolate has in flight to the origin right now. */
    inFlight: z.number().int().min(0).max(1_000_000),
    samples: z.array(healthSampleSchema).max(MAX_BATCH_SAMPLES),
    options: healthOptionsSchema.optional(),
  })
  .strict();

/** A batch of samples from one isolate for one origin (`options` as written: defaults optional). */
export type HealthReport = z.input<typeof healthReportSchema>;

/** A metric's EWMA as the router reads it. */
export interface MetricSummary {
  mean: number;
  variance: number;
  /** √variance / mean; null when the mean is not positive. */
  cv: number | null;
}

/** The shared view of an origin's health at an instant: plain data, cached per isolate. */
export interface OriginSnapshot {
  origin: string;
  circuit: {
    state: CircuitStateName;
    since: number;
    /** While open: when probes may start. */
    openUntil: number | null;
    reason: CircuitReason;
  };
  /** Non-probe successes only; null until one arrived. */
  ttftMs: MetricSummary | null;
  /**
   * The TTFT with nothing cached, from successes that report cached tokens (each one's TTFT over
   * its uncached share): what prefix-affinity placement compares, since raw TTFT mostly measures
   * how many hits an origin was given.
   */
  coldTtftMs: (MetricSummary & { samples: number }) | null;
  latencyMs: MetricSummary | null;
  /** outputTokens / (latency − TTFT), in tokens per second, from successes that report all three. */
  tokensPerSec: MetricSummary | null;
  /** EWMA of failure (1) vs success (0) over every counted sample, probes included; 0 before any. */
  errorRate: number;
  consecutiveFailures: number;
  /**
   * Failures past their tenant's cap (`circuit.tenantFailureCap` per `tenantWindowMs`), so far:
   * attributed to the tenant, not counted against the origin (neither breaker nor error rate).
   */
  attributedToTenants: number;
  /** The latest of those, to tell an operator whose requests fail; null before any. */
  lastAttributed: AttributedFailure | null;
  /** Sum of the in-flight counts of isolates that reported within the last 30 s. */
  inFlight: number;
  /** Samples counted so far (attributed failures are not). */
  samples: number;
  /** TTFT by hour of day (index 0-23) in the origin's time zone; null for an hour with no sample. */
  hourlyTtftMs: Array<{ mean: number; samples: number } | null>;
  /** When the last batch was applied (its `at`); null before any. */
  updatedAt: number | null;
  /** Canaries on this origin stopped by their criteria, by scenario: recorded, visible, sticky until resumed. */
  canaryStops: Record<string, CanaryStop>;
  /** Prefix-cache outcomes of the requests it served, by scenario. */
  prefixCache: Record<string, PrefixCacheStats>;
  /** Answers it served by scenario, and how they were judged (feedback and quality gates). */
  outcomes: Record<string, OutcomeStats>;
}

/** The stored counts behind {@link OutcomeStats}. */
export interface OutcomeCounts {
  /** Answers served (reported with their scenario). */
  served: number;
  accepted: number;
  rejected: number;
  gatesPassed: number;
  gatesFailed: number;
}

/**
 * One scenario's answers at one origin and how they were judged. Feedback counts move with each
 * feedback (a changed verdict moves one from one count to the other); `unrated` is the served
 * answers neither accepted nor rejected.
 */
export interface OutcomeStats extends OutcomeCounts {
  unrated: number;
  /** accepted / (accepted + rejected); null before any feedback. */
  acceptanceRate: number | null;
  /** gatesPassed / (gatesPassed + gatesFailed); null before any gate applied. */
  gatePassRate: number | null;
}

/**
 * Token-weighted prefix-cache counts of one scenario at one origin. `hitRate` is what the origin
 * reported (cached / prompt tokens), `predictedRate` what the index predicted, `precision` how much
 * of the prediction the origin confirmed (Σ min(predicted, reported) / Σ predicted).
 */
export interface PrefixCacheStats {
  requests: number;
  promptTokens: number;
  predictedTokens: number;
  reportedTokens: number;
  confirmedTokens: number;
  placements: Record<(typeof PLACEMENTS)[number], number>;
  hitRate: number;
  predictedRate: number;
  precision: number | null;
}

/** A failure attributed to its tenant rather than to the origin. */
export interface AttributedFailure {
  tenant: string;
  /** When its attempt started. */
  at: number;
  kind: SampleKind;
}

/** Why and when a scenario's canary was stopped. */
export interface CanaryStop {
  at: number;
  reason: string;
}

/** What `report` did with a batch. */
export interface ReportResult {
  /** Samples applied (counted or attributed): 0 for a repeated batch id. */
  applied: number;
  duplicate: boolean;
  /**
   * The monitor asks the reporting isolate to probe the origin now and report the probe's sample:
   * a tenant's failure was attributed, or a rule tripped on one tenant's failures alone, and only
   * a request of no tenant's can tell whether the origin fails. At most once per `probeGapMs`.
   */
  probe: boolean;
}
