/**
 * One policy's run: start the simulator and the router on that run's clock, provision the
 * tenants and the budget, warm up, replay the day, then read what the router's ledger recorded
 * (usage rows, the budget's course) and what the simulator counted. The raw material of the report.
 */
import { ORIGIN_SECRETS, simOrigins } from "./origins";
import { benchClockVar, dayClock, type DayClock } from "./clock";
import { assertTimersApart, clockShimModule, flexDelays, scaleForShim } from "./clock-shim";
import { parseRouterConfig } from "../../../src/config/load";
import { provision, usageRows, type BudgetSpec, type UsageRow } from "./admin";
import { pollBudget, type BudgetSample } from "./budget-poll";
import { replay, type Outcome } from "./driver";
import { FLEX_MAX_WAIT_MS, policyConfig, SCENARIO, type Policy } from "./policies";
import { simControl, startSim, type Running, type prepareRouter } from "./processes";
import type { Trace } from "./trace";
import { followsClock, warmUp } from "./warm-up";

export type ClockMode = "binding" | "shim";

export interface RunSettings {
  /** The virtual day every policy replays (UTC midnight, ms). */
  epochMs: number;
  daySeconds: number;
  leadMs: number;
  clockMode: ClockMode;
  maxInFlight: number;
  seed: number;
}

export interface PolicyRun {
  policy: Policy;
  clock: DayClock;
  outcomes: Outcome[];
  /** The router's usage rows of the day's requests (warm-up left out), every tenant. */
  usage: UsageRow[];
  budgetSamples: BudgetSample[];
  /** `GET /_sim/stats` after the replay. */
  simStats: unknown;
  /** Router clock − virtual clock at the warm-up (virtual ms). */
  clockSkewMs: number | null;
  followsClock: boolean;
  maxInFlight: number;
  /** Real ms from the clock's start to the end of the replay's last request. */
  wallMs: number;
  /** Whether setup overran the lead (the day's first requests then left late). */
  lateStartMs: number;
  /** Under the shim: the scaled durations the config schema clamped. */
  shimClamped: string[];
}

type PreparedRouter = Awaited<ReturnType<typeof prepareRouter>>;

export async function runPolicy(policy: Policy, trace: Trace, budget: BudgetSpec | null, router: PreparedRouter, s: RunSettings): Promise<PolicyRun> {
  const clock = dayClock(s.epochMs, s.daySeconds, s.leadMs, Date.now());
  const running: Running[] = [];
  try {
    const sim = await startSim({ recordLimit: 0, clock: { epochMs: clock.epochMs, realStartMs: clock.realStartMs, speed: clock.speed }, origins: simOrigins(s.seed) });
    running.push(sim);
    let { text, input } = policyConfig(policy, sim.url);
    let shim: string | undefined;
    let clamped: string[] = [];
    if (s.clockMode === "shim") {
      const delays = flexDelays(FLEX_MAX_WAIT_MS);
      const scaled = scaleForShim(input, clock.speed);
      input = scaled.config;
      clamped = scaled.clamped;
      assertTimersApart(input, delays);
      parseRouterConfig(input);
      text = JSON.stringify(input);
      shim = clockShimModule(clock, delays);
    }
    const r = await router.start({ config: text, secrets: { ...ORIGIN_SECRETS }, vars: { BENCH_CLOCK: benchClockVar(clock) }, ...(shim ? { shim } : {}) });
    running.push(r);
    const tenants = trace.tenants.map((t) => t.id);
    const { keys, budgetId } = await provision(r.url, tenants, budget);
    const warm = await warmUp(r.url, keys, SCENARIO, clock);
    await simControl(sim.url, "reset");
    const lateStartMs = Math.max(0, Date.now() - clock.realStartMs);
    const poll = budget && budgetId ? pollBudget(r.url, budget.tenant, budgetId, clock) : null;
    // Under the shim the router measures durations in virtual ms: its explanations are scaled back.
    const latencyScale = s.clockMode === "shim" ? clock.speed : 1;
    const { outcomes, maxInFlight } = await replay(trace.entries, { baseUrl: r.url, keys, clock, maxInFlight: s.maxInFlight, timeoutMs: 120_000, label: policy, latencyScale });
    const wallMs = Date.now() - clock.realStartMs;
    const budgetSamples = poll ? await poll.stop() : [];
    // Settlements leave in per-isolate batches after the responses (waitUntil): let them land.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const simStats = await simControl(sim.url, "stats");
    const warmIds = new Set(warm.requestIds);
    const usage = (await Promise.all(tenants.map((t) => usageRows(r.url, t)))).flat().filter((u) => !warmIds.has(u.requestId));
    return {
      policy,
      clock,
      outcomes,
      usage,
      budgetSamples,
      simStats,
      clockSkewMs: warm.skewMs,
      followsClock: followsClock(warm.skewMs, clock),
      maxInFlight,
      wallMs,
      lateStartMs,
      shimClamped: clamped,
    };
  } finally {
    for (const p of running.reverse()) await p.stop().catch(() => {});
  }
}
