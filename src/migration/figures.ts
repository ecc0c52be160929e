/**
 * The figures that justify a migration's next move, candidate beside baseline: what the origins'
 * monitors say (TTFT EWMA and its stability, error rate, throughput, circuit; shared by all of an
 * origin's traffic), what the current stage's eval pairs say (TTFT and latency percentiles, error
 * rates, cost, agreement; this scenario's requests only), the eval criteria's verdict, the canary's
 * state, and each side's prompt cache.
 *
 * The cache is re-estimated, not copied: a move changes its semantics (TTL, minimum and step of
 * reuse, cached-input price) and what it has seen, so the candidate's hit rate is the one measured
 * on its own answers (served ones once it serves, its shadow copies before), or null. Pure.
 */
import { cacheProfileOf } from "../affinity/reuse";
import type { RouterConfig } from "../config/schema";
import type { CanaryStop, OriginSnapshot } from "../health/types";
import { ownEntry } from "../lib/own";
import { priceAt } from "../pricing/price-at";
import { canaryOutcomes, canaryTrip } from "../routing/canary";
import { judge, type Verdict } from "./criteria";
import type { EvalSummary } from "./evals";
import type { Migration, Stage } from "./schema";

export interface OriginFigures {
  origin: string;
  kind: "maas" | "self-hosted";
  /** What its monitor counted (all of its traffic, every scenario's). */
  samples: number;
  errorRate: number;
  ttftMs: { mean: number; cv: number | null } | null;
  tokensPerSec: number | null;
  circuit: string;
  /** This scenario's requests it served, and the share of their prompt tokens its cache reported. */
  prefixCache: { requests: number; hitRate: number } | null;
  /**
   * This scenario's answers it served and how they were judged (feedback, quality gates): the
   * candidate's acceptance beside the baseline's once it serves (canary, primary). Null before any.
   */
  outcomes: { served: number; accepted: number; rejected: number; acceptanceRate: number | null; gatePassRate: number | null } | null;
}

export interface CacheFigures {
  /** Each origin's cache semantics: how long a prefix lives, from how many tokens and in which steps it is reused, and what a cached token costs next to an uncached one. */
  origins: Array<{ origin: string; ttlSeconds: number; minTokens: number; stepTokens: number; cachedInputPriceRatio: number | null }>;
  /** The measured hit rate (cached / prompt tokens); null when nothing was measured. */
  hitRate: number | null;
  /** Where it was measured: requests served (the monitors' counts) or shadow copies (eval pairs). */
  source: "served" | "shadow copies" | null;
  requests: number;
}

export interface MigrationFigures {
  at: number;
  stage: Stage;
  /** When the current stage began: the eval pairs are those since. */
  since: number;
  candidate: OriginFigures | null;
  baseline: OriginFigures[];
  evals: EvalSummary;
  /** The eval criteria on the current stage's pairs (they decide promotion from `evals`). */
  criteria: Verdict;
  canary: {
    /** A stop recorded by the candidate's monitor for this scenario (sticky until a move into `canary` or a resume). */
    stopped: CanaryStop | null;
    /** Whether the stop criteria trip on the candidate's monitor now. */
    trips: string | null;
  };
  cache: { baseline: CacheFigures; candidate: CacheFigures };
}

export interface FigureInputs {
  config: RouterConfig;
  scenario: string;
  migration: Migration;
  /** Health snapshots of the candidate and the baseline origins that have one. */
  snapshots: ReadonlyMap<string, OriginSnapshot>;
  evals: EvalSummary;
  since: number;
  at: number;
}

/** The origins of the scenario's route before the migration: its candidates as written. */
export function baselineOrigins(config: RouterConfig, scenario: string, migration: Migration): string[] {
  const candidates = ownEntry(config.scenarios, scenario)?.candidates ?? [];
  return [...new Set(candidates.map((c) => c.origin).filter((o) => o !== migration.candidate.origin))];
}

function originFigures(config: RouterConfig, scenario: string, origin: string, snapshot: OriginSnapshot | undefined): OriginFigures | null {
  const declared = ownEntry(config.origins, origin);
  if (!declared || !snapshot) return null;
  const cache = ownEntry(snapshot.prefixCache, scenario);
  const judged = ownEntry(snapshot.outcomes ?? {}, scenario);
  const rate = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);
  return {
    origin,
    kind: declared.kind,
    samples: snapshot.samples,
    errorRate: Math.round(snapshot.errorRate * 10_000) / 10_000,
    ttftMs: snapshot.ttftMs ? { mean: Math.round(snapshot.ttftMs.mean), cv: snapshot.ttftMs.cv === null ? null : Math.round(snapshot.ttftMs.cv * 10_000) / 10_000 } : null,
    tokensPerSec: snapshot.tokensPerSec ? Math.round(snapshot.tokensPerSec.mean * 10) / 10 : null,
    circuit: snapshot.circuit.state,
    prefixCache: cache && cache.requests > 0 ? { requests: cache.requests, hitRate: Math.round(cache.hitRate * 10_000) / 10_000 } : null,
    outcomes: judged
      ? { served: judged.served, accepted: judged.accepted, rejected: judged.rejected, acceptanceRate: rate(judged.acceptanceRate), gatePassRate: rate(judged.gatePassRate) }
      : null,
  };
}

function cacheSemantics(config: RouterConfig, origins: readonly string[], at: number): CacheFigures["origins"] {
  return origins.flatMap((origin) => {
    const declared = ownEntry(config.origins, origin);
    if (!declared) return [];
    const prices = declared.pricing ? priceAt(declared.pricing, at) : null;
    const ratio = prices && prices.input > 0 ? Math.round((prices.cachedInput / prices.input) * 10_000) / 10_000 : null;
    return [{ origin, ...cacheProfileOf(declared), cachedInputPriceRatio: ratio }];
  });
}

/** Served counts when the origins served this scenario's requests, else the eval pairs' side. */
function measuredCache(served: ReadonlyArray<OriginFigures | null>, evalRate: number | null, evalRequests: number): Pick<CacheFigures, "hitRate" | "source" | "requests"> {
  const counted = served.flatMap((o) => (o?.prefixCache ? [o.prefixCache] : []));
  const requests = counted.reduce((n, c) => n + c.requests, 0);
  if (requests > 0) {
    // Request-weighted across origins: each monitor keeps its rate, not its token sums' owner.
    const rate = counted.reduce((sum, c) => sum + c.hitRate * c.requests, 0) / requests;
    return { hitRate: Math.round(rate * 10_000) / 10_000, source: "served", requests };
  }
  return evalRate === null ? { hitRate: null, source: null, requests: 0 } : { hitRate: evalRate, source: "shadow copies", requests: evalRequests };
}

/** The figures of a migration at an instant. */
export function migrationFigures(inputs: FigureInputs): MigrationFigures {
  const { config, scenario, migration, snapshots, evals, at } = inputs;
  const candidateOrigin = migration.candidate.origin;
  const candidateSnapshot = snapshots.get(candidateOrigin);
  const candidate = originFigures(config, scenario, candidateOrigin, candidateSnapshot);
  const baselineNames = baselineOrigins(config, scenario, migration);
  const baseline = baselineNames.flatMap((o) => originFigures(config, scenario, o, snapshots.get(o)) ?? []);
  const canary = { origin: candidateOrigin, model: migration.candidate.model, ...migration.canary };
  return {
    at,
    stage: migration.stage,
    since: inputs.since,
    candidate,
    baseline,
    evals,
    criteria: judge(migration.evals, evals),
    canary: { stopped: candidateSnapshot ? (ownEntry(candidateSnapshot.canaryStops, scenario) ?? null) : null, trips: canaryTrip(canary, candidateSnapshot ?? null, null, canaryOutcomes(scenario, candidateOrigin, baselineNames, (o) => snapshots.get(o))) },
    cache: {
      baseline: { origins: cacheSemantics(config, baselineNames, at), ...measuredCache(baseline, evals.baseline.cacheHitRate, evals.baseline.requests) },
      candidate: { origins: cacheSemantics(config, [candidateOrigin], at), ...measuredCache([candidate], evals.candidate.cacheHitRate, evals.candidate.requests) },
    },
  };
}

/**
 * Why a promotion is refused on these figures (empty: it may go ahead). Into `canary`: the eval
 * criteria must pass. Into `primary`: the canary must not be stopped, its stop criteria must hold
 * on the candidate's monitor, which must have counted `minSamples` or more.
 */
export function promotionRefusals(to: Stage, migration: Migration, figures: MigrationFigures): string[] {
  if (to === "canary") {
    const { verdict, checks } = figures.criteria;
    return verdict === "pass" ? [] : checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.detail}`);
  }
  if (to === "primary") {
    const reasons: string[] = [];
    if (figures.canary.stopped) reasons.push(`the canary stopped: ${figures.canary.stopped.reason}`);
    if (figures.canary.trips) reasons.push(`the canary's stop criteria trip: ${figures.canary.trips}`);
    const samples = figures.candidate?.samples ?? 0;
    const needed = migration.canary.stop.minSamples;
    if (samples < needed) reasons.push(`the candidate's monitor counted ${samples} requests, ${needed} needed`);
    return reasons;
  }
  return [];
}
