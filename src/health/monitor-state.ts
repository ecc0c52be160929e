/**
 * An origin's health as pure data, and the pure steps the OriginMonitor takes with it: fold a
 * sample in, read a snapshot out. The object around it only stores this and adds in-flight counts.
 */
import { uncachedTtftShare } from "../affinity/reuse";
import { ownEntry } from "../lib/own";
import { advanceCircuit, initialCircuit, recordOutcome, type Circuit } from "./circuit";
import { coefficientOfVariation, emptyHourlyProfile, recordHourly, updateEwma, type Ewma, type HourlyProfile } from "./stats";
import { healthOptionsSchema, type CanaryStop, type PrefixCacheStats, type HealthOptions, type HealthSample, type MetricSummary, type OriginSnapshot } from "./types";

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
 * Folds one sample into the state. Every sample counts for the error rate and the breaker;
 * latencies come from successful, non-probe samples only: a failure's latency is how fast it
 * failed (a refused connection is "fast"), and a probe's is a model listing, not a generation.
 */
export function applySample(state: MonitorState, sample: HealthSample): MonitorState {
  const { alpha, timeZone } = state.options;
  const next: MonitorState = {
    ...state,
    circuit: recordOutcome(state.circuit, sample, state.options.circuit),
    errors: updateEwma(state.errors, sample.ok ? 0 : 1, alpha),
    samples: state.samples + 1,
  };
  if (!sample.ok || sample.probe) return next;
  if (sample.prefix) next.prefixCache = countPrefix(state.prefixCache, sample.prefix);
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
    inFlight,
    samples: state.samples,
    hourlyTtftMs: state.hourlyTtft.map((h) => (h === null ? null : { mean: h.mean, samples: h.samples })),
    updatedAt: state.updatedAt,
    canaryStops: { ...(state.canaryStops ?? {}) },
    prefixCache: Object.fromEntries(Object.entries(state.prefixCache ?? {}).map(([scenario, c]) => [scenario, prefixStats(c)])),
  };
}
