/**
 * Where a request's tokens are served: the pure decision core (DESIGN §4).
 *
 * `decide` filters a scenario's candidates by rules (data boundary, time windows, circuit state,
 * budget degrade path, canary state), orders the rest by one explainable score, and says why for
 * every candidate. No I/O: configs, health snapshots, the clock and randomness come in as
 * arguments, so the simulator and the benchmarks run the very same code.
 *
 * The score, lower is better:
 *
 *   score   = (1 − w) · latency + w · price + errorRate
 *   latency = ttft·(1 + 2·cv) / max over candidates       (TTFT near its 97th percentile, so an
 *                                                          unstable origin loses to a steady one)
 *   price   = µ$ of this request / max over candidates    (0 when every candidate is free)
 *   w       = base(class) + pressure · (1 − base(class))  (interactive 0.1, standard 0.5, batch 0.95;
 *                                                          pressure = how full the tenant's budget is)
 *
 * Both terms are scaled to [0, 1] by the worst candidate, so neither unit dominates by its size; the
 * error rate (an EWMA, 0..1) is added as it is: a 10 % failure rate costs a tenth of the range.
 *
 * Rules that only demote (kept as a last resort, after every other candidate): an open circuit's
 * half-open probe, load at or over capacity, for interactive requests a predicted TTFT over
 * the scenario's SLO, and (affinity policy) load past (1+ε) of the origin's fair share.
 *
 * Prefix-cache affinity (DESIGN §5, policy `affinity`): an origin predicted to hold `c` of the
 * prompt's `p` tokens is priced with `c` at its cached-input price and its TTFT with nothing
 * cached scaled by the uncached share, `max(0.2, 1 − c/p)` (prefill dominates TTFT for long
 * prompts; the floor keeps network and queueing in). Candidates scoring within 0.15 of the best
 * count as equals, unless dearer than it by more than that once their extra price is weighted as
 * the request's class weighs price (w · (price / best's − 1) > 0.15): among them the deepest cached prefix wins if it covers at least half the
 * prompt, then weighted rendezvous order on the conversation's anchor, the better of its first two
 * taking it (more cache room besides what is in use, then fewer prompt tokens sent lately): a cold
 * conversation lands on one of two fixed origins, and a hot prefix spills to a small stable set.
 * A shallower match (a shared system prompt under a new document) still counts in the score, but
 * does not pull every new conversation of a tenant onto the one origin that has its system prompt.
 * The other policies (`round-robin`, `least-loaded`, `session-hash`) order the same healthy
 * candidates their classic way; rules and demotions apply to all.
 */
import { overFairShare, placeByPolicy, STICKY_SHARE, type AffinityView, type PlacedCandidate } from "../affinity/placement";
import { uncachedTtftShare } from "../affinity/reuse";
import type { AffinityPolicy } from "../affinity/schema";
import type { OriginConfig, ScenarioConfig } from "../config/schema";
import { ownEntry } from "../lib/own";
import type { OriginSnapshot } from "../health/types";
import { costMicros } from "../pricing/cost";
import { priceAt } from "../pricing/price-at";
import { inWindow } from "../time/window";
import { boundaryViolation, type Boundary } from "./boundary";
import type { PriorityClass } from "./priority";
import type { OriginWindow } from "./schema";

/** What the decision needs to know about the request. */
export interface RoutingRequest {
  priority: PriorityClass;
  /** Prompt tokens to price (an estimate) and output tokens (the cap). */
  promptTokens: number;
  outputTokens: number;
  /** Every boundary that applies (tenant, key, request); an origin must pass all. */
  boundaries: readonly Boundary[];
  /** How full the tenant's fullest budget is, 0..1. */
  budgetPressure: number;
  /** Whether a budget is past its soft limit: the scenario's degrade path applies. */
  softLimited: boolean;
  /** Uniform draws in [0, 1) for the canary and the shadow (injected for tests). */
  random: () => number;
  /** Requests in flight at an origin as this isolate counts them (fresher than a snapshot's sum). */
  inFlight?: (origin: string) => number;
  /** Prompt tokens this isolate sent to an origin lately (decayed): cold placement weighs it. */
  recentTokens?: (origin: string) => number;
  /** Requests this isolate sent to an origin lately (decayed): the load of the fair-share bound. */
  recentRequests?: (origin: string) => number;
  /**
   * The room an origin's prefix cache has for this prompt, in tokens, besides what is in use
   * (negative: it would evict something in use), or null when its size is not declared.
   */
  cacheRoom?: (origin: string) => number | null;
  /** What placement knows of the prompt; absent: no affinity (embeddings, ordered scenarios). */
  affinity?: AffinityView;
  /**
   * A look ahead (a batch planning its start over a day of instants): only where it would go and
   * at what price matter, so when nothing may serve, `availableAt` is not scanned for (null).
   */
  lookAhead?: boolean;
}

/** The scenario with its origins resolved, as the decision sees it. */
export interface ScenarioView {
  name: string;
  scenario: ScenarioConfig;
  origins: Readonly<Record<string, OriginConfig>>;
  /** Set when the canary's stop criteria have tripped. */
  canaryStopped: boolean;
}

export type SnapshotLookup = (origin: string) => OriginSnapshot | null;

/** Scores below this many samples fall back to the origin's declared prior. */
const MIN_SAMPLES = 5;
const PRICE_WEIGHT: Record<PriorityClass, number> = { interactive: 0.1, standard: 0.5, batch: 0.95 };
/** Under budget pressure with no degrade path, candidates costing more than this × the cheapest drop out. */
const BUDGET_PRICE_RATIO = 1.5;

export type ExclusionRule = "boundary" | "window_closed" | "reserved" | "circuit_open" | "degrade" | "budget_price" | "canary_stopped" | "canary_not_drawn";
export type DemotionRule = "circuit_half_open" | "over_capacity" | "slo" | "over_fair_share";

export interface CandidateTerms {
  ttftMs: number;
  /** Where the TTFT came from: the hour-of-day profile, the EWMA, the uncached EWMA (affinity), or the config's prior. */
  ttftSource: "hourly" | "ewma" | "cold" | "prior";
  cv: number;
  errorRate: number;
  /** In flight / effective capacity, or null when the origin declares none. */
  load: number | null;
  inFlight: number;
  /** The origin's effective capacity now (its windows applied), or null when it declares none. */
  capacity: number | null;
  /** Prompt tokens predicted to come from the origin's cache. */
  cachedTokens: number;
  priceMicros: number;
  latency: number;
  price: number;
  weight: number;
  score: number;
}

export interface CandidateExplanation {
  origin: string;
  model: string;
  role: "candidate" | "canary";
  excluded: { rule: ExclusionRule; detail: string } | null;
  demoted: DemotionRule | null;
  terms: CandidateTerms | null;
}

export interface Target {
  origin: string;
  model: string;
}

export interface Decision {
  /** In order: the first serves, the rest are the fallback. Empty when nothing may serve. */
  attempts: Target[];
  /** Mirrored, answer discarded, or null. */
  shadow: Target | null;
  /** For a batch request that should wait instead of being sent now (capacity, or a cheaper window soon). */
  waitMs: number | null;
  /**
   * When no candidate may serve: the soonest instant one could (an open circuit's end, a closing
   * or reserving window's end), or null when none waits on time (a boundary, say). `Retry-After`.
   */
  availableAt: number | null;
  explanation: {
    scenario: string;
    priority: PriorityClass;
    budgetPressure: number;
    at: number;
    canary: "drawn" | "not_drawn" | "stopped" | "excluded" | null;
    /** How the policy placed it: on the origin holding the deepest prefix, spilled past it, or with no prefix anywhere. */
    placement: { policy: AffinityPolicy; kind: "sticky" | "spill" | "cold" | "none"; cachedTokens: number };
    waitReason: string | null;
    candidates: CandidateExplanation[];
  };
}

/** The origin's effective capacity now (its windows and the candidate's multiply it), or null when unbounded. */
function capacityAt(origin: OriginConfig, windows: readonly OriginWindow[], now: number): number | null {
  if (origin.capacity === undefined) return null;
  let capacity = origin.capacity;
  for (const w of windows) if (w.capacityMultiplier !== undefined && inWindow(w, now)) capacity *= w.capacityMultiplier;
  return capacity;
}

/** The first exclusion rule of the time windows (the origin's, then the scenario's for this candidate), or null. */
function windowRule(windows: readonly OriginWindow[], priority: PriorityClass, now: number): { rule: ExclusionRule; detail: string } | null {
  for (const w of windows) {
    if (!inWindow(w, now)) continue;
    if (w.closed) return { rule: "window_closed", detail: `closed ${w.from}-${w.to} ${w.timeZone}` };
    if (w.reservedFor && !w.reservedFor.includes(priority)) {
      return { rule: "reserved", detail: `reserved for ${w.reservedFor.join(", ")} ${w.from}-${w.to} ${w.timeZone}` };
    }
  }
  return null;
}

/** How far ahead a window's end is looked for, and in what steps: `Retry-After` is advice, not a promise. */
const WINDOW_SCAN_MS = 86_400_000;
const WINDOW_SCAN_STEP_MS = 60_000;

/** The first instant, scanning ahead by minutes up to a day, when no window rule excludes the candidate; null past a day. */
function windowRuleEnds(windows: readonly OriginWindow[], priority: PriorityClass, now: number): number | null {
  for (let at = now + WINDOW_SCAN_STEP_MS; at <= now + WINDOW_SCAN_MS; at += WINDOW_SCAN_STEP_MS) {
    if (windowRule(windows, priority, at) === null) return at;
  }
  return null;
}

/**
 * Predicted TTFT: this hour's profile when it has enough samples, else the EWMA, else the prior.
 * Placed by prefix affinity, the TTFT with nothing cached comes first (the uncached share then
 * scales it): an origin's raw TTFT mostly says how many cache hits it was given, so an origin that
 * holds many conversations would look fast, one that was sent cold prompts slow, and new
 * conversations would pile onto the first.
 */
function predictTtft(origin: OriginConfig, snapshot: OriginSnapshot | null, now: number, byAffinity: boolean): { ms: number; source: CandidateTerms["ttftSource"]; cv: number } {
  const cold = snapshot?.coldTtftMs;
  if (byAffinity && cold && cold.samples >= MIN_SAMPLES) return { ms: cold.mean, source: "cold", cv: cold.cv ?? 0 };
  const cv = snapshot?.ttftMs?.cv ?? 0;
  // The UTC hour, without a Date per candidate.
  const hour = ((Math.floor(now / 3_600_000) % 24) + 24) % 24;
  const hourly = snapshot?.hourlyTtftMs[hour];
  if (hourly && hourly.samples >= MIN_SAMPLES) return { ms: hourly.mean, source: "hourly", cv };
  if (snapshot?.ttftMs && snapshot.samples >= MIN_SAMPLES) return { ms: snapshot.ttftMs.mean, source: "ewma", cv };
  return { ms: origin.expectedTtftMs, source: "prior", cv };
}

interface Scored {
  explanation: CandidateExplanation;
  target: Target;
  raw: {
    ttftMs: number;
    ttftSource: CandidateTerms["ttftSource"];
    cv: number;
    errorRate: number;
    load: number | null;
    inFlight: number;
    capacity: number | null;
    cachedTokens: number;
    priceMicros: number;
  };
  index: number;
}

/** A scored candidate as placement sees it. */
function candidateOf(k: Scored): PlacedCandidate {
  return {
    origin: k.target.origin,
    canary: k.explanation.role === "canary",
    demoted: k.explanation.demoted !== null,
    capacity: k.raw.capacity,
    load: k.raw.load,
    inFlight: k.raw.inFlight,
    cachedTokens: k.raw.cachedTokens,
    score: k.explanation.terms?.score ?? 0,
    priceMicros: k.raw.priceMicros,
    priceWeight: k.explanation.terms?.weight ?? 0,
    index: k.index,
  };
}

/**
 * Decides where a request is served.
 *
 * @example
 * const d = decide(request, view, snapshots, Date.now());
 * d.attempts;            // [{ origin: "pool-local", model: "qwen" }, { origin: "maas-a", model: "deepseek-v3" }]
 * d.explanation.candidates[1].terms?.score;
 */
export function decide(request: RoutingRequest, view: ScenarioView, snapshots: SnapshotLookup, now: number): Decision {
  const { scenario } = view;
  const policy = scenario.affinity.policy;
  const usesAffinity = policy === "affinity" && scenario.routing === "scored" && request.affinity !== undefined;
  const candidateWindows = new Map<Target, OriginWindow[]>();
  const candidates: Array<{ target: Target; role: CandidateExplanation["role"] }> = scenario.candidates.map((c) => {
    const target = { origin: c.origin, model: c.model };
    if (c.windows) candidateWindows.set(target, c.windows);
    return { target, role: "candidate" };
  });
  let canary: Decision["explanation"]["canary"] = null;
  if (scenario.canary) candidates.unshift({ target: { origin: scenario.canary.origin, model: scenario.canary.model }, role: "canary" });

  const kept: Scored[] = [];
  const explained: CandidateExplanation[] = [];
  let availableAt: number | null = null;
  const availableFrom = (at: number | null) => {
    if (at !== null && (availableAt === null || at < availableAt)) availableAt = at;
  };
  // When a window's exclusion ends is a scan ahead (by minutes): done only if nothing may serve.
  const closedBy: OriginWindow[][] = [];
  for (const { target, role } of candidates) {
    const origin = view.origins[target.origin]!;
    const explanation: CandidateExplanation = { origin: target.origin, model: target.model, role, excluded: null, demoted: null, terms: null };
    explained.push(explanation);
    const exclude = (rule: ExclusionRule, detail: string) => (explanation.excluded = { rule, detail });

    const violation = boundaryViolation(target.origin, origin, request.boundaries);
    if (violation) {
      exclude("boundary", violation);
      if (role === "canary") canary = "excluded";
      continue;
    }
    if (role === "canary") {
      if (view.canaryStopped) {
        exclude("canary_stopped", "its stop criteria tripped");
        canary = "stopped";
        continue;
      }
      if (request.random() >= scenario.canary!.share) {
        exclude("canary_not_drawn", `share ${scenario.canary!.share}`);
        canary = "not_drawn";
        continue;
      }
      canary = "drawn";
    }
    const windows = candidateWindows.get(target) ? [...origin.windows, ...candidateWindows.get(target)!] : origin.windows;
    const windowed = windowRule(windows, request.priority, now);
    if (windowed) {
      exclude(windowed.rule, windowed.detail);
      closedBy.push(windows);
      continue;
    }
    const snapshot = snapshots(target.origin);
    if (snapshot?.circuit.state === "open" && (snapshot.circuit.openUntil ?? Infinity) > now) {
      exclude("circuit_open", `open since ${snapshot.circuit.since} (${snapshot.circuit.reason})`);
      availableFrom(snapshot.circuit.openUntil);
      continue;
    }
    if (request.softLimited && scenario.degrade && !scenario.degrade.includes(target.origin)) {
      exclude("degrade", `budget past its soft limit; degrade path [${scenario.degrade.join(", ")}]`);
      continue;
    }
    const ttft = predictTtft(origin, snapshot, now, usesAffinity);
    const capacity = capacityAt(origin, windows, now);
    const inFlight = Math.max(snapshot?.inFlight ?? 0, request.inFlight?.(target.origin) ?? 0);
    const load = capacity === null ? null : capacity === 0 ? Infinity : inFlight / capacity;
    const affinity = request.affinity;
    const cachedTokens = Math.min((affinity && ownEntry(affinity.cachedTokens, target.origin)) ?? 0, request.promptTokens);
    const saved = usesAffinity ? cachedTokens : 0;
    if (saved > 0) ttft.ms *= uncachedTtftShare(saved, affinity!.promptTokens);
    const prices = origin.pricing ? priceAt(origin.pricing, now) : { input: 0, cachedInput: 0, cacheWrite: 0, output: 0 };
    const priceMicros = costMicros(prices, { promptTokens: request.promptTokens, cachedTokens: saved, cacheWriteTokens: 0, completionTokens: request.outputTokens });
    // A circuit past its open period lets probes through: the origin is tried, but last.
    if (snapshot?.circuit.state === "open" || snapshot?.circuit.state === "half_open") explanation.demoted = "circuit_half_open";
    else if (load !== null && load >= 1) explanation.demoted = "over_capacity";
    else if (request.priority === "interactive" && scenario.slo && ttft.ms > scenario.slo.ttftMs) explanation.demoted = "slo";
    kept.push({
      explanation,
      target,
      raw: { ttftMs: ttft.ms, ttftSource: ttft.source, cv: ttft.cv, errorRate: snapshot?.errorRate ?? 0, load, inFlight, capacity, cachedTokens, priceMicros },
      index: kept.length,
    });
  }

  // Under budget pressure without a declared degrade path, expensive candidates drop out.
  if (request.softLimited && !scenario.degrade && kept.length > 1) {
    const cheapest = Math.min(...kept.map((k) => k.raw.priceMicros));
    for (let i = kept.length - 1; i >= 0; i--) {
      const k = kept[i]!;
      if (k.raw.priceMicros > cheapest * BUDGET_PRICE_RATIO && k.explanation.role !== "canary") {
        k.explanation.excluded = { rule: "budget_price", detail: `${k.raw.priceMicros} µ$ > ${BUDGET_PRICE_RATIO} × cheapest ${cheapest} µ$` };
        kept.splice(i, 1);
      }
    }
  }

  // Bounded load (affinity/placement.ts): past (1+ε) of its fair share, an origin is a last resort.
  if (usesAffinity) {
    for (const k of overFairShare(kept, candidateOf, request, scenario.affinity.epsilon)) k.explanation.demoted = "over_fair_share";
  }

  const weight = PRICE_WEIGHT[request.priority] + Math.min(1, Math.max(0, request.budgetPressure)) * (1 - PRICE_WEIGHT[request.priority]);
  const spread = (k: Scored) => k.raw.ttftMs * (1 + 2 * k.raw.cv);
  const maxLatency = Math.max(...kept.map(spread));
  const maxPrice = Math.max(...kept.map((k) => k.raw.priceMicros));
  for (const k of kept) {
    const latency = maxLatency > 0 ? spread(k) / maxLatency : 0;
    const price = maxPrice > 0 ? k.raw.priceMicros / maxPrice : 0;
    const score = (1 - weight) * latency + weight * price + k.raw.errorRate;
    // Written out: V8 builds a spread of \`raw\` with more fields after it on its slow path, which
    // was most of a decision's time.
    const r = k.raw;
    k.explanation.terms = {
      ttftMs: r.ttftMs,
      ttftSource: r.ttftSource,
      cv: r.cv,
      errorRate: r.errorRate,
      load: r.load,
      inFlight: r.inFlight,
      capacity: r.capacity,
      cachedTokens: r.cachedTokens,
      priceMicros: r.priceMicros,
      latency,
      price,
      weight,
      score,
    };
  }

  // Canary first when drawn; then healthy candidates by score (or as listed, for `ordered`
  // scenarios); demoted ones last.
  const rank = (k: Scored) => (k.explanation.role === "canary" ? 0 : k.explanation.demoted ? 2 : 1);
  const byScore = scenario.routing === "scored";
  const sorted = kept.sort((a, b) => rank(a) - rank(b) || (byScore ? a.explanation.terms!.score - b.explanation.terms!.score : 0) || a.index - b.index);
  const ordered = byScore ? [...sorted.filter((k) => rank(k) === 0), ...placeByPolicy(sorted.filter((k) => rank(k) === 1), candidateOf, request, policy), ...sorted.filter((k) => rank(k) === 2)] : sorted;
  const attempts: Target[] = [];
  for (const k of ordered) if (!attempts.some((t) => t.origin === k.target.origin && t.model === k.target.model)) attempts.push(k.target);

  if (attempts.length === 0 && !request.lookAhead) for (const windows of closedBy) availableFrom(windowRuleEnds(windows, request.priority, now));

  const shadow = pickShadow(request, view);
  const wait = flexWait(request, view, ordered, now);
  return {
    attempts,
    shadow,
    waitMs: wait?.ms ?? null,
    availableAt: attempts.length === 0 ? availableAt : null,
    explanation: {
      scenario: view.name,
      priority: request.priority,
      budgetPressure: request.budgetPressure,
      at: now,
      canary,
      placement: placementOf(ordered, request, byScore ? policy : "affinity"),
      waitReason: wait?.reason ?? null,
      candidates: explained,
    },
  };
}

/** Whether the first choice holds the deepest predicted prefix (sticky), another holds half the prompt or more (spill), or neither (cold). */
function placementOf(ordered: Scored[], request: RoutingRequest, policy: AffinityPolicy): Decision["explanation"]["placement"] {
  const first = ordered[0];
  if (!request.affinity || !first) return { policy, kind: "none", cachedTokens: 0 };
  const deepest = Math.max(...ordered.map((k) => k.raw.cachedTokens));
  // Passing over a shallow match (a shared system prompt) is placing a new conversation, not a spill.
  const kind = deepest === 0 ? "cold" : first.raw.cachedTokens === deepest ? "sticky" : deepest >= STICKY_SHARE * request.affinity.promptTokens ? "spill" : "cold";
  return { policy, kind, cachedTokens: first.raw.cachedTokens };
}

/** The shadow target when drawn, and only if the request's boundaries allow it: a mirror is still a copy of the prompt. */
function pickShadow(request: RoutingRequest, view: ScenarioView): Target | null {
  const shadow = view.scenario.shadow;
  if (!shadow || request.random() >= shadow.share) return null;
  const origin = view.origins[shadow.origin];
  if (!origin || boundaryViolation(shadow.origin, origin, request.boundaries)) return null;
  return { origin: shadow.origin, model: shadow.model };
}

/**
 * A batch request may wait (bounded by the scenario's `flex.maxWaitMs`) when every origin it may
 * use is at capacity, or when its best origin gets at least 10 % cheaper within that time.
 */
function flexWait(request: RoutingRequest, view: ScenarioView, ordered: Scored[], now: number): { ms: number; reason: string } | null {
  const flex = view.scenario.flex;
  if (request.priority !== "batch" || !flex || flex.maxWaitMs === 0 || ordered.length === 0) return null;
  if (ordered.every((k) => k.explanation.demoted === "over_capacity")) {
    return { ms: Math.min(flex.maxWaitMs, 1000), reason: "every origin is at capacity" };
  }
  const best = ordered[0]!;
  const pricing = view.origins[best.target.origin]!.pricing;
  if (!pricing || pricing.windows.length === 0) return null;
  const steps = 10;
  for (let i = 1; i <= steps; i++) {
    const at = now + Math.round((flex.maxWaitMs * i) / steps);
    const later = costMicros(priceAt(pricing, at), { promptTokens: request.promptTokens, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: request.outputTokens });
    if (later <= best.raw.priceMicros * 0.9) return { ms: at - now, reason: `${best.target.origin} is cheaper in ${Math.round((at - now) / 1000)} s (${later} vs ${best.raw.priceMicros} µ$)` };
  }
  return null;
}
