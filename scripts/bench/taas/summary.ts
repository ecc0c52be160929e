/**
 * One policy's day in numbers: what it cost (the router's usage log), how interactive requests
 * fared (TTFT p50/p99/CV, SLO attainment), how batch did (deadlines, where its tokens went), errors
 * seen by clients, the budgeted tenant's day, the pool's utilisation, and the hourly series the
 * chart draws. Refusals at the budget (`insufficient_quota`) are the budget working, not errors:
 * they are left out of SLO and deadline shares and counted apart.
 */
import { inSpan } from "../../../src/sim/day-profile";
import type { BudgetSpec } from "./admin";
import { budgetView, type BudgetView } from "./budget-view";
import type { PolicyRun, Try } from "./collect";
import { crossCheck, type CrossCheck } from "./crosscheck";
import { probeMs, STALL_MS, stalledDuring, type ProbeSample } from "./load-probe";
import type { Outcome } from "./driver";
import { ORIGINS, POOL_RESERVED, POOL_TIMING, PREMIUM_BROWNOUT } from "./origins";
import { POLICY_LABELS, SLO_TTFT_MS, type Policy } from "./policies";
import { discounted } from "./prices";
import { cv, hourOf, hours, mean, quantile, share } from "./stats";

export interface PolicySummary {
  policy: Policy;
  label: string;
  requests: number;
  ok: number;
  refused: number;
  errors: number;
  errorsByClass: Record<string, number>;
  errorSamples: { message: string; count: number }[];
  /** The router's usage log: Σ cost of the day's requests, and per 1,000 answered requests (µ$). */
  costMicros: number;
  costMicrosPer1k: number | null;
  /** Tokens (prompt + completion) served per origin, from the usage log. */
  tokensByOrigin: Record<string, number>;
  requestsByOrigin: Record<string, number>;
  interactive: { requests: number; ok: number; p50: number | null; p99: number | null; mean: number | null; cv: number | null; slo: number | null; overSlo: number };
  batch: { requests: number; ok: number; deadlineMet: number | null; missedDeadline: number; tokens: number; cheapShare: number | null; discountTokens: number; poolTokens: number };
  /** Pre-first-token faults (failed attempts) and how many a later attempt covered. */
  faults: { failedAttempts: number; coveredByFallback: number; lastAttemptFailed: number };
  /** Client-visible errors of interactive requests sent during the brown-out. */
  outageInteractiveErrors: number;
  budget: BudgetView | null;
  /** Share of the pool's prefill slots busy, per virtual hour. */
  poolUtilization: number[];
  hourly: { tokensByOrigin: Record<string, number[]>; interactiveP99: (number | null)[]; requests: number[]; errors: number[] };
  crossCheck: CrossCheck;
  /** Router clock − virtual clock at the warm-up (virtual ms), and how late the day started (real ms). */
  clock: { skewMs: number | null; lateStartMs: number };
  maxInFlight: number;
  /** Requests sent more than 1 s (real) late by the driver. */
  lateSends: number;
  machine: MachineView;
}

/** How responsive the machine was during the replay (load-probe.ts), and what its stalls touched. */
export interface MachineView {
  loadAverage: [number, number];
  probes: number;
  /** Round trips to the router's /healthz and the simulator's /_sim/health, real ms. */
  routerP50: number | null;
  routerP99: number | null;
  simP50: number | null;
  simP99: number | null;
  /** Probes at or over STALL_MS (or failed). */
  stalls: number;
  /** The driver's lateness sending requests, real ms. */
  sendLagP99: number | null;
  /** Interactive requests (refusals apart) awaiting their first token while a stall was seen. */
  interactiveInStall: number;
  /** Of those, how many missed the SLO. */
  sloMissesInStall: number;
  /** SLO attainment, TTFT p99 and CV of the interactive requests no stall touched. */
  sloOutsideStalls: number | null;
  p99OutsideStalls: number | null;
  cvOutsideStalls: number | null;
  /** Every replay of the policy in the run (the kept one: the fewest stalls). */
  tries: Try[];
  /** The router's CPU time per request of the day, ms, and its busiest virtual hour's share of one core. */
  routerCpuMsPerRequest: number | null;
  routerCpuPeakShare: number | null;
}

/** CPU ms per request over the replay, and the largest share of a core in any virtual hour. */
function routerCpu(probe: readonly ProbeSample[], requests: number): { perRequest: number | null; peakShare: number | null } {
  const read = probe.filter((s) => typeof s.routerCpuMs === "number");
  if (read.length < 2) return { perRequest: null, peakShare: null };
  const first = read[0]!;
  const last = read.at(-1)!;
  let peakShare = 0;
  for (let h = 0; h < 24; h++) {
    const inHour = read.filter((s) => hourOf(s.at) === h && s.at >= 0);
    if (inHour.length < 2) continue;
    const a = inHour[0]!;
    const b = inHour.at(-1)!;
    if (b.realMs > a.realMs) peakShare = Math.max(peakShare, (b.routerCpuMs! - a.routerCpuMs!) / (b.realMs - a.realMs));
  }
  return { perRequest: requests > 0 ? (last.routerCpuMs! - first.routerCpuMs!) / requests : null, peakShare };
}

function machineView(run: PolicyRun, interactive: readonly Outcome[]): MachineView {
  const { probe, clock } = run;
  const rt = (pick: (s: (typeof probe)[number]) => number | null) => probe.map(pick).filter((v): v is number => v !== null);
  const within = (o: Outcome) => o.kind === "ok" && o.ttftMs! <= SLO_TTFT_MS;
  const touched = interactive.filter((o) => stalledDuring(probe, o.sentAt, o.sentAt + (o.ttftMs ?? o.totalMs) * clock.speed, clock.speed));
  const clear = interactive.filter((o) => !touched.includes(o));
  const clearTtfts = clear.filter((o) => o.kind === "ok").map((o) => o.ttftMs!);
  const clearCv = cv(clearTtfts);
  const round = (v: number | null) => (v === null ? null : Math.round(v));
  const cpu = routerCpu(probe, run.outcomes.length);
  return {
    loadAverage: run.loadAverage,
    probes: probe.length,
    routerP50: round(quantile(rt((s) => s.routerMs), 0.5)),
    routerP99: round(quantile(rt((s) => s.routerMs), 0.99)),
    simP50: round(quantile(rt((s) => s.simMs), 0.5)),
    simP99: round(quantile(rt((s) => s.simMs), 0.99)),
    stalls: probe.filter((s) => probeMs(s) >= STALL_MS).length,
    sendLagP99: round(quantile(run.outcomes.map((o) => o.lagMs), 0.99)),
    interactiveInStall: touched.length,
    sloMissesInStall: touched.filter((o) => !within(o)).length,
    sloOutsideStalls: share(clear.filter(within).length, clear.length),
    p99OutsideStalls: round(quantile(clearTtfts, 0.99)),
    cvOutsideStalls: clearCv === null ? null : Math.round(clearCv * 1000) / 1000,
    tries: run.tries,
    routerCpuMsPerRequest: cpu.perRequest === null ? null : Math.round(cpu.perRequest * 10) / 10,
    routerCpuPeakShare: cpu.peakShare === null ? null : Math.round(cpu.peakShare * 1000) / 1000,
  };
}

const served = (o: Outcome) => o.kind === "ok";

export function summarize(run: PolicyRun, budget: BudgetSpec | null): PolicySummary {
  const { outcomes, usage, clock } = run;
  const rowOf = new Map(usage.map((r) => [r.requestId, r]));
  const errors = outcomes.filter((o) => o.kind === "error");
  const samples = new Map<string, number>();
  for (const o of errors) samples.set(o.error ?? "?", (samples.get(o.error ?? "?") ?? 0) + 1);
  const errorsByClass: Record<string, number> = {};
  for (const o of errors) errorsByClass[o.cls] = (errorsByClass[o.cls] ?? 0) + 1;

  const tokensByOrigin: Record<string, number> = Object.fromEntries(ORIGINS.map((o) => [o, 0]));
  const requestsByOrigin: Record<string, number> = Object.fromEntries(ORIGINS.map((o) => [o, 0]));
  const hourlyTokens: Record<string, number[]> = Object.fromEntries(ORIGINS.map((o) => [o, hours()]));
  const poolBusyMs = hours();
  for (const o of outcomes.filter(served)) {
    const row = o.requestId ? rowOf.get(o.requestId) : undefined;
    if (!row || !o.origin) continue;
    const tokens = row.promptTokens + row.completionTokens;
    tokensByOrigin[o.origin] = (tokensByOrigin[o.origin] ?? 0) + tokens;
    requestsByOrigin[o.origin] = (requestsByOrigin[o.origin] ?? 0) + 1;
    const h = hourOf(o.sentAt);
    if (hourlyTokens[o.origin]) hourlyTokens[o.origin]![h]! += tokens;
    if (o.origin === "pool") poolBusyMs[h]! += POOL_TIMING.ttftBaseMs + (row.promptTokens - row.cachedTokens) * POOL_TIMING.prefillMsPerToken;
  }
  const realHourMs = clock.dayRealMs / 24;

  const interactive = outcomes.filter((o) => o.cls === "interactive" && o.kind !== "refused");
  const ttfts = interactive.filter(served).map((o) => o.ttftMs!);
  const withinSlo = interactive.filter((o) => served(o) && o.ttftMs! <= SLO_TTFT_MS).length;

  const batch = outcomes.filter((o) => o.cls === "batch" && o.kind !== "refused");
  let batchTokens = 0;
  let discountTokens = 0;
  let poolTokens = 0;
  for (const o of batch.filter(served)) {
    const t = (o.promptTokens ?? 0) + (o.completionTokens ?? 0);
    batchTokens += t;
    if (o.origin === "pool" && !inSpan(POOL_RESERVED, clock.epochMs + o.sentAt)) poolTokens += t;
    else if (o.origin && discounted(o.origin, clock.epochMs + o.sentAt)) discountTokens += t;
  }
  const metDeadline = batch.filter((o) => served(o) && o.deadline !== null && o.doneAt <= o.deadline).length;

  let failedAttempts = 0;
  let covered = 0;
  let lastFailed = 0;
  for (const o of outcomes) {
    o.attempts.forEach((a, i) => {
      if (a.result === "200") return;
      failedAttempts++;
      if (i < o.attempts.length - 1) covered++;
      else lastFailed++;
    });
  }
  const outageInteractiveErrors = outcomes.filter((o) => o.cls === "interactive" && o.kind === "error" && inSpan(PREMIUM_BROWNOUT, clock.epochMs + o.sentAt)).length;

  const interactiveP99 = hours().map((_, h) => quantile(interactive.filter((o) => served(o) && hourOf(o.sentAt) === h).map((o) => o.ttftMs!), 0.99));
  const requestsPerHour = hours();
  const errorsPerHour = hours();
  for (const o of outcomes) {
    requestsPerHour[hourOf(o.at)]!++;
    if (o.kind === "error") errorsPerHour[hourOf(o.at)]!++;
  }
  const ok = outcomes.filter(served).length;
  const costMicros = usage.reduce((a, r) => a + r.costMicros, 0);
  return {
    policy: run.policy,
    label: POLICY_LABELS[run.policy],
    requests: outcomes.length,
    ok,
    refused: outcomes.filter((o) => o.kind === "refused").length,
    errors: errors.length,
    errorsByClass,
    errorSamples: [...samples].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([message, count]) => ({ message, count })),
    costMicros,
    costMicrosPer1k: ok > 0 ? Math.round((costMicros * 1000) / ok) : null,
    tokensByOrigin,
    requestsByOrigin,
    interactive: {
      requests: interactive.length,
      ok: ttfts.length,
      p50: quantile(ttfts, 0.5),
      p99: quantile(ttfts, 0.99),
      mean: mean(ttfts),
      cv: cv(ttfts),
      slo: share(withinSlo, interactive.length),
      overSlo: interactive.length - withinSlo,
    },
    batch: {
      requests: batch.length,
      ok: batch.filter(served).length,
      deadlineMet: share(metDeadline, batch.length),
      missedDeadline: batch.length - metDeadline,
      tokens: batchTokens,
      cheapShare: share(discountTokens + poolTokens, batchTokens),
      discountTokens,
      poolTokens,
    },
    faults: { failedAttempts, coveredByFallback: covered, lastAttemptFailed: lastFailed },
    outageInteractiveErrors,
    budget: budget ? budgetView(budget, outcomes, usage, run.budgetSamples) : null,
    poolUtilization: poolBusyMs.map((ms) => Math.round((ms / (POOL_TIMING.prefillSlots * realHourMs)) * 1000) / 1000),
    hourly: { tokensByOrigin: hourlyTokens, interactiveP99, requests: requestsPerHour, errors: errorsPerHour },
    crossCheck: crossCheck(outcomes, usage, run.simStats, clock),
    clock: { skewMs: run.clockSkewMs, lateStartMs: run.lateStartMs },
    maxInFlight: run.maxInFlight,
    lateSends: outcomes.filter((o) => o.lagMs > 1000).length,
    machine: machineView(run, interactive),
  };
}
