/**
 * An origin's health as pure data, and the pure steps the OriginMonitor takes with it: fold a
 * sample in, read a snapshot out. The object around it only stores this and adds in-flight counts.
 */
import { uncachedTtftShare } from "../affinity/reuse";
import { ownEntry } from "../lib/own";
import { advanceCircuit, initialCircuit, recordOutcome, type Circuit } from "./circuit";
import { coefficientOfVariation, emptyHourlyProfile, recordHourly, updateEwma, type Ewma, type HourlyProfile } from "./stats";
import { chargeFailure, forgetExpired, type TenantFailures } from "./tenant-cap";
import {
  healthOptionsSchema,
  type AttributedFailure,
  type CanaryStop,
  type PrefixCacheStats,
  type HealthOptions,
  type HealthSample,
  type MetricSummary,
  type OriginSnapshot,
  type OutcomeCounts,
  type OutcomeStats,
} from "./types";

export interface MonitorState {
  origin: string;
  options: HealthOptions;
  circuit: Circuit;
  ttft: Ewma | null;
  latency: Ewma | null;
  tokensPerSec: Ewma | null;
  /** EWMA of 1 per failure, 0 per success. */
  errors: Ewma | null;
  hourlyTtft: HourlyProfile;
  /**
   * EWMA of the TTFT each served request would have had with nothing cached (its TTFT over its
   * uncached share), from requests that report their cached tokens. Optional in stored state
   * written before it existed.
   */
  coldTtft?: Ewma | null;
  samples: number;
  updatedAt: number | null;
  /** Optional in stored state written before canaries existed. */
  canaryStops?: Record<string, CanaryStop>;
  /** Optional in stored state written before prefix affinity existed. */
  prefixCache?: Record<string, PrefixCacheCounts>;
  /** Optional in stored state written before outcomes existed. */
  outcomes?: Record<string, OutcomeCounts>;
  /**
   * Tenants' counted failures in the current window (see `tenant-cap.ts`), the failures attributed
   * to tenants past their cap, and when the monitor last asked an isolate for a probe. Optional in
   * stored state written before the tenant cap existed.
   */
  tenantFailures?: TenantFailures;
  attributed?: { count: number; last: AttributedFailure | null };
  probeGrantedAt?: number | null;
}

/** The stored counts behind `PrefixCacheStats` (rates are derived when read). */
export type PrefixCacheCounts = Omit<PrefixCacheStats, "hitRate" | "predictedRate" | "precision">;

/** No requests counted yet. */
export const NO_PREFIX_COUNTS: PrefixCacheCounts = { requests: 0, promptTokens: 0, predictedTokens: 0, reportedTokens: 0, confirmedTokens: 0, placements: { sticky: 0, spill: 0, cold: 0, none: 0 } };

/** Scenarios counted per origin at most: the state is one stored row. */
const MAX_PREFIX_SCENARIOS = 200;

function countPrefix(all: Record<string, PrefixCacheCounts> | undefined, p: NonNullable<HealthSample["prefix"]>): Record<string, PrefixCacheCounts> {
  const current = all && ownEntry(all, p.scenario);
  if (!current && Object.keys(all ?? {}).length >= MAX_PREFIX_SCENARIOS) return all ?? {};
  const one: PrefixCacheCounts = {
    requests: 1,
    promptTokens: p.promptTokens,
    predictedTokens: p.predictedTokens,
    reportedTokens: p.reportedTokens,
    confirmedTokens: Math.min(p.predictedTokens, p.reportedTokens),
    placements: { ...NO_PREFIX_COUNTS.placements, [p.placement]: 1 },
  };
  return { ...all, [p.scenario]: addPrefixCounts(current ?? NO_PREFIX_COUNTS, one) };
}

export const NO_OUTCOMES: OutcomeCounts = { served: 0, accepted: 0, rejected: 0, gatesPassed: 0, gatesFailed: 0 };

/**
 * A scenario's outcome counts changed by `delta` (bounded like the prefix counts: one stored row).
 * Not clamped: feedback changes may arrive in any order (a change's decrement before the feedback
 * it replaced), and their sum is exact once all have.
 */
export function addOutcome(all: Record<string, OutcomeCounts> | undefined, scenario: string, delta: Partial<OutcomeCounts>): Record<string, OutcomeCounts> {
  const current = all && ownEntry(all, scenario);
  if (!current && Object.keys(all ?? {}).length >= MAX_PREFIX_SCENARIOS) return all ?? {};
  const base = current ?? NO_OUTCOMES;
  const next = { ...base };
  for (const [k, v] of Object.entries(delta) as Array<[keyof OutcomeCounts, number]>) next[k] = base[k] + v;
  return { ...all, [scenario]: next };
}

/** Counts with their rates. */
export function outcomeStats(c: OutcomeCounts): OutcomeStats {
  const rated = c.accepted + c.rejected;
  const gated = c.gatesPassed + c.gatesFailed;
  return { ...c, unrated: Math.max(0, c.served - rated), acceptanceRate: rated > 0 ? c.accepted / rated : null, gatePassRate: gated > 0 ? c.gatesPassed / gated : null };
}

/** Two sets of counts added up (one origin's and a sample's, or several origins' of a scenario). */
export function addPrefixCounts(a: PrefixCacheCounts, b: PrefixCacheCounts): PrefixCacheCounts {
  return {
    requests: a.requests + b.requests,
    promptTokens: a.promptTokens + b.promptTokens,
    predictedTokens: a.predictedTokens + b.predictedTokens,
    reportedTokens: a.reportedTokens + b.reportedTokens,
    confirmedTokens: a.confirmedTokens + b.confirmedTokens,
    placements: {
      sticky: a.placements.sticky + b.placements.sticky,
      spill: a.placements.spill + b.placements.spill,
      cold: a.placements.cold + b.placements.cold,
      none: a.placements.none + b.placements.none,
    },
  };
}

/** Counts with their token-weighted rates: reported and predicted hit rates, and precision. */
export function prefixStats(c: PrefixCacheCounts): PrefixCacheStats {
  const rate = (n: number) => (c.promptTokens > 0 ? n / c.promptTokens : 0);
  return { ...c, hitRate: rate(c.reportedTokens), predictedRate: rate(c.predictedTokens), precision: c.predictedTokens > 0 ? c.confirmedTokens / c.predictedTokens : null };
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = healthOptionsSchema.parse({});

export function initialMonitorState(origin: string, options: HealthOptions = DEFAULT_HEALTH_OPTIONS): MonitorState {
  return {
    origin,
    options,
    circuit: initialCircuit(0, options.circuit),
    ttft: null,
    latency: null,
    tokensPerSec: null,
    errors: null,
    hourlyTtft: emptyHourlyProfile(),
    samples: 0,
    updatedAt: null,
  };
}

/**
 * Tokens per second of the decode phase: output tokens over the time between the first token and
 * the end. Undefined unless all three are known and the decode phase took time.
 */
export function decodeSpeed(sample: Pick<HealthSample, "ttftMs" | "latencyMs" | "outputTokens">): number | undefined {
  const { ttftMs, latencyMs, outputTokens } = sample;
  if (ttftMs === undefined || latencyMs === undefined || outputTokens === undefined) return undefined;
  if (outputTokens <= 0 || latencyMs <= ttftMs) return undefined;
  return (outputTokens * 1000) / (latencyMs - ttftMs);
}

/**
 * Folds one sample into the state. A tenant's failure past its cap is only attributed to the tenant
 * (counted in `attributed`, nothing else); every other sample counts for the error rate and the
 * breaker. Latencies come from successful, non-probe samples only: a failure's latency is how fast
 * it failed (a refused connection is "fast"), and a probe's is a model listing, not a generation.
 */
export function applySample(state: MonitorState, sample: HealthSample): MonitorState {
  const { alpha, timeZone } = state.options;
  let tenantFailures = state.tenantFailures;
  if (!sample.ok && sample.tenant !== undefined) {
    const { tenantFailureCap, tenantWindowMs } = state.options.circuit;
    const charge = chargeFailure(tenantFailures ?? {}, sample.tenant, sample.at, tenantFailureCap, tenantWindowMs);
    if (!charge.counted) {
      const count = (state.attributed?.count ?? 0) + 1;
      const latest = state.attributed?.last;
      const last = latest && latest.at > sample.at ? latest : { tenant: sample.tenant, at: sample.at, kind: sample.kind };
      return { ...state, attributed: { count, last } };
    }
    tenantFailures = charge.failures;
  }
  const next: MonitorState = {
    ...state,
    ...(tenantFailures ? { tenantFailures } : {}),
    circuit: recordOutcome(state.circuit, sample, state.options.circuit),
    errors: updateEwma(state.errors, sample.ok ? 0 : 1, alpha),
    samples: state.samples + 1,
  };
  if (!sample.ok || sample.probe) return next;
  if (sample.prefix) next.prefixCache = countPrefix(state.prefixCache, sample.prefix);
  if (sample.outcome) {
    const gate = sample.outcome.gate;
    next.outcomes = addOutcome(state.outcomes, sample.outcome.scenario, { served: 1, gatesPassed: gate === "passed" ? 1 : 0, gatesFailed: gate === "failed" ? 1 : 0 });
  }
  if (sample.ttftMs !== undefined) {
    next.ttft = updateEwma(state.ttft, sample.ttftMs, alpha);
    next.hourlyTtft = recordHourly(state.hourlyTtft, sample.at, sample.ttftMs, { alpha, timeZone });
    if (sample.prefix && sample.prefix.promptTokens > 0) {
      next.coldTtft = updateEwma(state.coldTtft ?? null, sample.ttftMs / uncachedTtftShare(sample.prefix.reportedTokens, sample.prefix.promptTokens), alpha);
    }
  }
  if (sample.latencyMs !== undefined) next.latency = updateEwma(state.latency, sample.latencyMs, alpha);
  const speed = decodeSpeed(sample);
  if (speed !== undefined) next.tokensPerSec = updateEwma(state.tokensPerSec, speed, alpha);
  return next;
}

/**
 * After a batch sent at `at`: tenants whose counted failures are all a window old are forgotten,
 * and the monitor decides whether to ask the reporting isolate for a probe. It asks when the batch
 * had a failure attributed to its tenant (`attributedBefore` is the count before the batch) or when
 * the breaker awaits a probe (a rule tripped on one tenant's failures alone), unless the circuit is
 * open (nothing to confirm) or it already asked within `probeGapMs`, across every isolate: a probe
 * costs the origin a request, and one answers for all.
 */
export function afterBatch(state: MonitorState, attributedBefore: number, at: number): { state: MonitorState; probe: boolean } {
  const { tenantWindowMs, probeGapMs } = state.options.circuit;
  const tenantFailures = state.tenantFailures && forgetExpired(state.tenantFailures, at, tenantWindowMs);
  const pruned = tenantFailures === state.tenantFailures ? state : { ...state, tenantFailures };
  const circuit = advanceCircuit(pruned.circuit, at);
  const wanted = circuit.state !== "open" && ((pruned.attributed?.count ?? 0) > attributedBefore || circuit.awaitingProbe === true);
  const last = pruned.probeGrantedAt ?? null;
  // Either side: a grant stamped by a clock running ahead must not block grants until it is reached.
  if (!wanted || (last !== null && Math.abs(at - last) < probeGapMs)) return { state: pruned, probe: false };
  return { state: { ...pruned, probeGrantedAt: at }, probe: true };
}

/** Samples in the order their attempts started; equal instants keep their order (the sort is stable). */
export function inTimeOrder(samples: readonly HealthSample[]): HealthSample[] {
  return [...samples].sort((a, b) => a.at - b.at);
}

function summary(e: Ewma | null): MetricSummary | null {
  return e === null ? null : { mean: e.mean, variance: e.variance, cv: coefficientOfVariation(e) };
}

/** The state as the router reads it at `at` (the circuit advanced to `at`), with the in-flight estimate. */
export function snapshotOf(state: MonitorState, at: number, inFlight: number): OriginSnapshot {
  const c = advanceCircuit(state.circuit, at);
  return {
    origin: state.origin,
    circuit: { state: c.state, since: c.since, openUntil: c.openUntil, reason: c.reason },
    ttftMs: summary(state.ttft),
    coldTtftMs: state.coldTtft ? { ...summary(state.coldTtft)!, samples: state.coldTtft.samples } : null,
    latencyMs: summary(state.latency),
    tokensPerSec: summary(state.tokensPerSec),
    errorRate: state.errors?.mean ?? 0,
    consecutiveFailures: c.consecutiveFailures,
    attributedToTenants: state.attributed?.count ?? 0,
    lastAttributed: state.attributed?.last ?? null,
    inFlight,
    samples: state.samples,
    hourlyTtftMs: state.hourlyTtft.map((h) => (h === null ? null : { mean: h.mean, samples: h.samples })),
    updatedAt: state.updatedAt,
    canaryStops: { ...(state.canaryStops ?? {}) },
    prefixCache: Object.fromEntries(Object.entries(state.prefixCache ?? {}).map(([scenario, c]) => [scenario, prefixStats(c)])),
    outcomes: Object.fromEntries(Object.entries(state.outcomes ?? {}).map(([scenario, c]) => [scenario, outcomeStats(c)])),
  };
}
