/**
 * The decision report (issue #19 §3): should a scenario stay on MaaS, move to a self-hosted pool,
 * or split between them, from its own traffic. Pure: the traffic summed over every tenant's usage
 * log (`traffic.ts`), the config, and the origins' health snapshots.
 *
 * Every figure says where it came from: `measured` (the usage logs, the monitors), `configured`
 * (the operator's config) or `estimated` (arithmetic on both, shown with its inputs). Money is
 * integer micro-dollars; a month is 730 hours.
 *
 * The options are priced for a month of the window's demand:
 * - MaaS: its measured cost per request × the monthly requests.
 * - Self-hosted: enough pool units for the peak hour plus `peakReserve`, plus `stagingShare` for
 *   staging, test and canary, at `fixedUsdPerHour` each, plus `overheadUsdPerMonth`, plus the pool's
 *   cost per request (measured when it served; else the measured tokens at its prices, nothing cached).
 * - Hybrid: one unit serves what fits in each hour, MaaS the rest (the share is from the hourly profile).
 * - Batch/deferred: MaaS, with the work that is not urgent (the Batch API's share of the requests,
 *   or the operator's `deferrableShare` if larger) at the cheapest deferred price of the scenario's
 *   MaaS origins (an off-peak window's multiplier, or the `flex` tier's input price ratio).
 * The cheapest wins, per accepted outcome when both sides' acceptance is measured, unless the pool
 * accepts fewer answers than MaaS by more than `acceptanceTolerance`.
 *
 * The expected cache hit rate of each origin is re-estimated for it, never copied from another
 * (`expectedCache`): the traffic's repeated prefix (the share of a prompt a warm cache reused, at
 * best, on any origin that served it) rounded to what this origin reuses (its minimum and step),
 * times the share of requests that came within its TTL of the tenant's previous one.
 */
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { OriginSnapshot } from "../health/types";
import { ownEntry } from "../lib/own";
import { cacheProfileOf, reusableTokens } from "../affinity/reuse";
import { costMicros } from "../pricing/cost";
import { priceAt } from "../pricing/price-at";
import { decisionSettingsSchema, type DecisionSettings } from "./schema";
import type { OriginTraffic, ScenarioTraffic } from "./traffic";

const HOUR_MS = 3_600_000;
export const HOURS_PER_MONTH = 730;
const USD = 1_000_000;

export type Source = "measured" | "configured" | "estimated";
export interface Figure<T = number> {
  value: T;
  source: Source;
}
const measured = <T>(value: T): Figure<T> => ({ value, source: "measured" });
const configured = <T>(value: T): Figure<T> => ({ value, source: "configured" });
const estimated = <T>(value: T): Figure<T> => ({ value, source: "estimated" });

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface OriginReport {
  origin: string;
  kind: "maas" | "self-hosted" | "unknown";
  region: string | null;
  requests: number;
  errorRate: number;
  costMicros: number;
  costPer1kRequestsMicros: number | null;
  accepted: number;
  rejected: number;
  unrated: number;
  acceptanceRate: number | null;
  gatePassRate: number | null;
  costPerAcceptedMicros: number | null;
  /** Cached over prompt tokens of its answers: measured on this origin, never copied from another. */
  cacheHitRate: number | null;
  /** Its cache's semantics (configured or the provider's defaults). */
  cache: { ttlSeconds: number; minTokens: number; stepTokens: number } | null;
  latencyMs: { mean: number; cv: number | null } | null;
  /** Its monitor's view (all of its traffic): TTFT EWMA and stability, error rate, circuit. */
  health: { ttftMs: number | null; ttftCv: number | null; errorRate: number; circuit: string } | null;
  source: "measured";
}

/** One origin's cache, as it would serve this scenario's traffic. */
export interface ExpectedCache {
  origin: string;
  ttlSeconds: Figure;
  minTokens: Figure;
  stepTokens: Figure;
  /** Cached input over input price at the window's end; null without prices or a free input. */
  cachedInputPriceRatio: Figure<number | null>;
  /** Requests that came within its TTL of the tenant's previous request of the scenario, over all requests. */
  arrivalsWithinTtl: Figure<number | null>;
  /** Cached over prompt tokens of the answers it served here; null when it served none. */
  measuredHitRate: Figure<number | null>;
  /** The repeated prefix rounded to what it reuses, times `arrivalsWithinTtl`; null when the prefix is unknown. */
  expectedHitRate: Figure<number | null>;
}

export interface DecisionReport {
  object: "scenario.report";
  scenario: string;
  window: { from: number; to: number; hours: number };
  tenants: { scanned: number; truncated: boolean };
  dataBoundary: { origins: Array<{ origin: string; kind: string; region: string | null }>; source: "configured" };
  demand: {
    requests: Figure;
    meanPerHour: Figure;
    peakPerHour: Figure;
    peakToMean: Figure<number | null>;
    /** Requests by hour of day, UTC (0-23), over the window. */
    hourOfDay: Figure<number[]>;
    monthlyRequests: Figure;
  };
  origins: OriginReport[];
  /** The traffic's prefix structure, and each origin of the scenario's cache re-estimated for it. */
  expectedCache: {
    /** Prompt tokens per answered request. */
    promptTokensPerRequest: Figure<number | null>;
    /**
     * The share of a prompt a warm cache reuses: the best over origins of (measured hit rate /
     * arrivals within its TTL). A lower bound: an origin reports only what its cache reuses.
     */
    repeatedPrefixShare: Figure<number | null>;
    /** The origin that measured it. */
    repeatedPrefixFrom: string | null;
    origins: ExpectedCache[];
  };
  pool: null | {
    origin: string;
    fixedUsdPerHour: Figure;
    requestsPerHour: Figure;
    /** Mean demand over one unit's throughput. */
    utilisationAtMean: Figure;
    unitsForPeak: Figure;
    costPerRequestMicros: Figure;
  };
  options: {
    maas: Figure<number | null>;
    selfHosted: Figure<number | null>;
    hybrid: Figure<{ share: number; monthlyMicros: number } | null>;
    breakEvenRequestsPerMonth: Figure<number | null>;
    /** MaaS with its not-urgent share deferred; null when nothing is deferrable or no MaaS origin prices deferred work lower. */
    deferred: Figure<{ share: number; shareSource: Source; priceRatio: number; via: string; monthlyMicros: number } | null>;
    settings: Figure<DecisionSettings>;
  };
  recommendation: {
    choice: "maas" | "self-hosted" | "hybrid" | "batch-deferred" | "insufficient-data";
    poolShare: number | null;
    /** With `batch-deferred`: the share of the work to send as batches or flex requests (the rest stays interactive on MaaS). */
    deferredShare: number | null;
    reasons: string[];
  };
}

export interface ReportInputs {
  config: RouterConfig;
  scenario: string;
  traffic: ScenarioTraffic;
  snapshots: ReadonlyMap<string, OriginSnapshot>;
  from: number;
  to: number;
  tenants: { scanned: number; truncated: boolean };
}

/** The origins a scenario may be served by: its candidates, canary, shadow and migration candidate. */
function scenarioOrigins(s: ScenarioConfig): string[] {
  const names = s.candidates.map((c) => c.origin);
  if (s.canary) names.push(s.canary.origin);
  if (s.migration) names.push(s.migration.candidate.origin);
  return [...new Set(names)];
}

/** The cache TTLs (seconds) of a scenario's origins: the gaps the report's traffic is measured against. */
export function reportTtls(config: RouterConfig, scenario: string): number[] {
  const s = ownEntry(config.scenarios, scenario);
  if (!s) return [];
  return [...new Set(scenarioOrigins(s).flatMap((o) => (ownEntry(config.origins, o) ? [cacheProfileOf(config.origins[o]!).ttlSeconds] : [])))];
}

/** The traffic's repeated prefix, and what each of the scenario's origins would reuse of it. */
function expectedCache(config: RouterConfig, names: readonly string[], traffic: ScenarioTraffic, at: number): DecisionReport["expectedCache"] {
  const requests = sum(traffic.origins, "requests");
  const answered = sum(traffic.origins, "answered");
  const prompt = sum(traffic.origins, "promptTokens");
  const perRequest = answered > 0 ? prompt / answered : null;
  const within = (ttl: number) => (requests > 0 ? (traffic.withinTtl[String(ttl)] ?? 0) / requests : null);
  // What a warm cache reused: each serving origin's hit rate with its cold arrivals divided out.
  let share: number | null = null;
  let from: string | null = null;
  for (const t of traffic.origins) {
    const declared = ownEntry(config.origins, t.origin);
    const w = declared ? within(cacheProfileOf(declared).ttlSeconds) : null;
    if (!declared || t.promptTokens === 0 || !w) continue;
    const warm = Math.min(1, t.cachedTokens / t.promptTokens / w);
    if (share === null || warm > share) [share, from] = [warm, t.origin];
  }
  const origins = names.flatMap((origin): ExpectedCache[] => {
    const declared = ownEntry(config.origins, origin);
    if (!declared) return [];
    const profile = cacheProfileOf(declared);
    const prices = declared.pricing ? priceAt(declared.pricing, at) : null;
    const served = traffic.origins.find((t) => t.origin === origin);
    const w = within(profile.ttlSeconds);
    const reused = share !== null && perRequest ? reusableTokens(Math.round(share * perRequest), profile) : null;
    return [
      {
        origin,
        ttlSeconds: configured(profile.ttlSeconds),
        minTokens: configured(profile.minTokens),
        stepTokens: configured(profile.stepTokens),
        cachedInputPriceRatio: configured(prices && prices.input > 0 ? round(prices.cachedInput / prices.input) : null),
        arrivalsWithinTtl: measured(w === null ? null : round(w)),
        measuredHitRate: measured(served && served.promptTokens > 0 ? round(served.cachedTokens / served.promptTokens) : null),
        expectedHitRate: estimated(reused === null || w === null ? null : round((reused / perRequest!) * w)),
      },
    ];
  });
  return { promptTokensPerRequest: measured(perRequest === null ? null : round(perRequest, 2)), repeatedPrefixShare: estimated(share === null ? null : round(share)), repeatedPrefixFrom: from, origins };
}

/**
 * The cheapest deferred price over the list price on the scenario's MaaS origins: the lowest
 * off-peak window multiplier, or the `flex` tier's input price ratio; null when none is below 1.
 */
function deferredPrice(config: RouterConfig, names: readonly string[]): { ratio: number; via: string } | null {
  let best: { ratio: number; via: string } | null = null;
  const consider = (ratio: number, via: string) => {
    if (ratio < 1 && (best === null || ratio < best.ratio)) best = { ratio: round(ratio), via };
  };
  for (const name of names) {
    const o = ownEntry(config.origins, name);
    if (!o || o.kind !== "maas" || !o.pricing) continue;
    for (const w of o.pricing.windows) consider(w.multiplierBp / 10_000, `${name} off-peak window ${w.from}-${w.to}`);
    const flex = o.serviceTiers ? ownEntry(o.serviceTiers, "flex") : undefined;
    if (flex && o.pricing.input > 0) consider(flex.input / o.pricing.input, `${name} flex tier`);
  }
  return best;
}

function originReport(config: RouterConfig, t: OriginTraffic, snapshot: OriginSnapshot | undefined): OriginReport {
  const declared = ownEntry(config.origins, t.origin);
  const rated = t.accepted + t.rejected;
  const gated = t.gatesPassed + t.gatesFailed;
  const mean = t.answered > 0 ? t.latencySumMs / t.answered : null;
  const variance = mean !== null ? Math.max(0, t.latencySquaresMs / t.answered - mean * mean) : null;
  const profile = declared ? cacheProfileOf(declared) : null;
  return {
    origin: t.origin || "(none)",
    kind: declared?.kind ?? "unknown",
    region: declared?.region ?? null,
    requests: t.requests,
    errorRate: t.requests > 0 ? round((t.requests - t.answered) / t.requests) : 0,
    costMicros: t.costMicros,
    costPer1kRequestsMicros: t.requests > 0 ? Math.round((t.costMicros * 1000) / t.requests) : null,
    accepted: t.accepted,
    rejected: t.rejected,
    unrated: t.requests - rated,
    acceptanceRate: rated > 0 ? round(t.accepted / rated) : null,
    gatePassRate: gated > 0 ? round(t.gatesPassed / gated) : null,
    costPerAcceptedMicros: t.accepted > 0 ? Math.round(t.costMicros / t.accepted) : null,
    cacheHitRate: t.promptTokens > 0 ? round(t.cachedTokens / t.promptTokens) : null,
    cache: profile ? { ttlSeconds: profile.ttlSeconds, minTokens: profile.minTokens, stepTokens: profile.stepTokens } : null,
    latencyMs: mean === null ? null : { mean: Math.round(mean), cv: mean > 0 ? round(Math.sqrt(variance!) / mean) : null },
    health: snapshot
      ? { ttftMs: snapshot.ttftMs ? Math.round(snapshot.ttftMs.mean) : null, ttftCv: snapshot.ttftMs?.cv == null ? null : round(snapshot.ttftMs.cv), errorRate: round(snapshot.errorRate), circuit: snapshot.circuit.state }
      : null,
    source: "measured",
  };
}

function sum(traffic: readonly OriginTraffic[], key: keyof Omit<OriginTraffic, "origin">): number {
  return traffic.reduce((n, t) => n + t[key], 0);
}

/** The report of a scenario's traffic in [from, to). */
export function decisionReport(inputs: ReportInputs): DecisionReport {
  const { config, scenario, traffic, from, to } = inputs;
  const s = config.scenarios[scenario]!;
  const settings = decisionSettingsSchema.parse(s.decision ?? {});
  const hours = Math.max(1, Math.ceil((to - from) / HOUR_MS));
  const requests = sum(traffic.origins, "requests");
  const peak = traffic.hours.reduce((m, h) => Math.max(m, h.requests), 0);
  const mean = requests / hours;
  const hourOfDay = Array.from({ length: 24 }, () => 0);
  for (const h of traffic.hours) hourOfDay[new Date(h.hour).getUTCHours()]! += h.requests;
  const monthlyRequests = Math.round(mean * HOURS_PER_MONTH);
  const origins = traffic.origins.map((t) => originReport(config, t, inputs.snapshots.get(t.origin)));
  const cache = expectedCache(config, scenarioOrigins(s), traffic, to);
  const reasons: string[] = [];

  // MaaS: what its answers cost per request, measured.
  const maasTraffic = traffic.origins.filter((t) => ownEntry(config.origins, t.origin)?.kind === "maas");
  const maasRequests = sum(maasTraffic, "requests");
  const maasPerRequest = maasRequests > 0 ? sum(maasTraffic, "costMicros") / maasRequests : null;
  const maasRated = sum(maasTraffic, "accepted") + sum(maasTraffic, "rejected");
  const maasAcceptance = maasRated >= settings.minRated ? sum(maasTraffic, "accepted") / maasRated : null;

  // The pool: the scenario's self-hosted origin that declares its economics.
  const poolName = scenarioOrigins(s).find((o) => ownEntry(config.origins, o)?.kind === "self-hosted" && ownEntry(config.origins, o)?.economics);
  const poolConfig = poolName ? config.origins[poolName]! : null;
  const poolTraffic = poolName ? traffic.origins.find((t) => t.origin === poolName) : undefined;
  let pool: DecisionReport["pool"] = null;
  let poolPerRequest: number | null = null;
  let poolAcceptance: number | null = null;
  if (poolName && poolConfig?.economics) {
    const eco = poolConfig.economics;
    let perRequest: Figure;
    if (poolTraffic && poolTraffic.requests > 0) perRequest = measured(round(poolTraffic.costMicros / poolTraffic.requests, 2));
    else {
      // The measured tokens at the pool's prices, cached at its own expected hit rate (re-estimated, not copied).
      const prices = poolConfig.pricing ? priceAt(poolConfig.pricing, to) : null;
      const promptTokens = sum(traffic.origins, "promptTokens");
      const hitRate = cache.origins.find((o) => o.origin === poolName)?.expectedHitRate.value ?? 0;
      const usage = { promptTokens, cachedTokens: Math.round(promptTokens * hitRate), cacheWriteTokens: 0, completionTokens: sum(traffic.origins, "completionTokens"), cacheReported: false };
      perRequest = estimated(requests > 0 && prices ? round(costMicros(prices, usage) / requests, 2) : 0);
    }
    poolPerRequest = perRequest.value;
    const rated = poolTraffic ? poolTraffic.accepted + poolTraffic.rejected : 0;
    poolAcceptance = poolTraffic && rated >= settings.minRated ? poolTraffic.accepted / rated : null;
    pool = {
      origin: poolName,
      fixedUsdPerHour: configured(eco.fixedUsdPerHour),
      requestsPerHour: configured(eco.requestsPerHour),
      utilisationAtMean: estimated(round(mean / eco.requestsPerHour)),
      unitsForPeak: estimated(Math.max(1, Math.ceil((peak * (1 + settings.peakReserve) * (1 + settings.stagingShare)) / eco.requestsPerHour))),
      costPerRequestMicros: perRequest,
    };
  }

  const overheadMicros = settings.overheadUsdPerMonth * USD;
  const unitMonthMicros = poolConfig?.economics ? poolConfig.economics.fixedUsdPerHour * HOURS_PER_MONTH * USD : null;
  const maasMonthly = maasPerRequest === null ? null : Math.round(maasPerRequest * monthlyRequests);
  const selfMonthly = pool && unitMonthMicros !== null ? Math.round(pool.unitsForPeak.value * unitMonthMicros + overheadMicros + poolPerRequest! * monthlyRequests) : null;
  let hybrid: { share: number; monthlyMicros: number } | null = null;
  if (pool && unitMonthMicros !== null && maasPerRequest !== null && requests > 0) {
    const unitCapacity = pool.requestsPerHour.value / (1 + settings.stagingShare);
    const served = traffic.hours.reduce((n, h) => n + Math.min(h.requests, unitCapacity), 0);
    const share = round(served / requests);
    hybrid = { share, monthlyMicros: Math.round(unitMonthMicros + overheadMicros + (share * poolPerRequest! + (1 - share) * maasPerRequest) * monthlyRequests) };
  }
  const saving = maasPerRequest !== null && poolPerRequest !== null ? maasPerRequest - poolPerRequest : null;
  const breakEven = unitMonthMicros !== null && saving !== null && saving > 0 ? Math.ceil((unitMonthMicros * (1 + settings.stagingShare) + overheadMicros) / saving) : null;

  // Batch/deferred: MaaS with the not-urgent share at the cheapest deferred price.
  const batchShare = requests > 0 ? round(traffic.batch.requests / requests) : 0;
  const deferShare = Math.max(batchShare, settings.deferrableShare);
  const price = deferredPrice(config, scenarioOrigins(s));
  const deferred =
    maasMonthly !== null && price && deferShare > 0
      ? { share: deferShare, shareSource: (batchShare >= settings.deferrableShare ? "measured" : "configured") as Source, priceRatio: price.ratio, via: price.via, monthlyMicros: Math.round(maasMonthly * (1 - deferShare * (1 - price.ratio))) }
      : null;
  const deferredReason = (d: NonNullable<typeof deferred>) =>
    `${round(d.share * 100, 1)} % of the work is not urgent (${d.shareSource === "measured" ? "Batch API lines" : "decision.deferrableShare"}): deferred at ${round(d.priceRatio * 100, 1)} % of the price (${d.via}), the rest interactive on MaaS`;

  // The verdict.
  let choice: DecisionReport["recommendation"]["choice"];
  let poolShare: number | null = null;
  if (requests < settings.minRequests) {
    choice = "insufficient-data";
    reasons.push(`${requests} requests in the window, ${settings.minRequests} needed (decision.minRequests)`);
  } else if (maasMonthly === null && selfMonthly === null) {
    choice = "insufficient-data";
    reasons.push("neither option can be priced: no MaaS traffic measured and no pool with declared economics");
  } else if (selfMonthly === null) {
    choice = deferred ? "batch-deferred" : "maas";
    reasons.push(poolName === undefined ? "no self-hosted origin of this scenario declares its economics (fixedUsdPerHour, requestsPerHour): the pool cannot be priced" : "the pool cannot be priced");
    if (deferred) reasons.push(deferredReason(deferred));
  } else if (maasMonthly === null) {
    choice = "self-hosted";
    poolShare = 1;
    reasons.push("no MaaS traffic was measured: only the pool can be priced");
  } else {
    const qualityGap = maasAcceptance !== null && poolAcceptance !== null ? maasAcceptance - poolAcceptance : null;
    const perAccepted = (monthly: number, acceptance: number | null) => (acceptance ? monthly / acceptance : monthly);
    const options = [
      { choice: "maas" as const, cost: perAccepted(maasMonthly, maasAcceptance), share: 0 },
      { choice: "self-hosted" as const, cost: perAccepted(selfMonthly, poolAcceptance ?? maasAcceptance), share: 1 },
      ...(hybrid ? [{ choice: "hybrid" as const, cost: perAccepted(hybrid.monthlyMicros, maasAcceptance), share: hybrid.share }] : []),
      ...(deferred ? [{ choice: "batch-deferred" as const, cost: perAccepted(deferred.monthlyMicros, maasAcceptance), share: 0 }] : []),
    ].sort((a, b) => a.cost - b.cost);
    const basis = maasAcceptance !== null ? "per accepted outcome" : "per request (acceptance not measured on enough rated answers)";
    if (qualityGap !== null && qualityGap > settings.acceptanceTolerance) {
      choice = deferred ? "batch-deferred" : "maas";
      reasons.push(`the pool accepts ${round(poolAcceptance! * 100, 1)} % of rated answers, MaaS ${round(maasAcceptance! * 100, 1)} %: more than ${settings.acceptanceTolerance * 100} points worse`);
    } else {
      choice = options[0]!.choice;
      poolShare = options[0]!.share;
      reasons.push(`cheapest ${basis}: ${options.map((o) => `${o.choice} ${Math.round(o.cost)} µ$/month`).join(", ")}`);
    }
    if (choice === "batch-deferred" && deferred) reasons.push(deferredReason(deferred));
    if (breakEven !== null) reasons.push(`break-even at ${breakEven} requests a month (one unit with its staging share and the overhead), demand is ${monthlyRequests}`);
    if (poolAcceptance === null) reasons.push("the pool's acceptance is not measured yet: its quality is assumed equal to MaaS's");
    if (peak > 0 && mean > 0 && peak / mean > 3) reasons.push(`spiky demand (peak to mean ${round(peak / mean, 2)}): a pool sized for the peak idles most hours`);
  }

  const boundaryOrigins = scenarioOrigins(s).map((o) => ({ origin: o, kind: ownEntry(config.origins, o)?.kind ?? "unknown", region: ownEntry(config.origins, o)?.region ?? null }));
  return {
    object: "scenario.report",
    scenario,
    window: { from, to, hours },
    tenants: inputs.tenants,
    dataBoundary: { origins: boundaryOrigins, source: "configured" },
    demand: {
      requests: measured(requests),
      meanPerHour: measured(round(mean, 2)),
      peakPerHour: measured(peak),
      peakToMean: measured(mean > 0 ? round(peak / mean, 2) : null),
      hourOfDay: measured(hourOfDay),
      monthlyRequests: estimated(monthlyRequests),
    },
    origins,
    expectedCache: cache,
    pool,
    options: {
      maas: estimated(maasMonthly),
      selfHosted: estimated(selfMonthly),
      hybrid: estimated(hybrid),
      breakEvenRequestsPerMonth: estimated(breakEven),
      deferred: estimated(deferred),
      settings: configured(settings),
    },
    recommendation: { choice, poolShare, deferredShare: choice === "batch-deferred" && deferred ? deferred.share : null, reasons },
  };
}
