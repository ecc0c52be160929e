/**
 * One policy's run: start the simulator and the router on that run's clock, provision the
 * tenants and the budget, warm up, replay the day, then read what the router's ledger recorded
 * (usage rows, the budget's course) and what the simulator counted. The raw material of the report.
 */
import os from "node:os";
import { ORIGIN_SECRETS, simOrigins } from "./origins";
import { benchClockVar, dayClock, type DayClock } from "./clock";
import { provision, usageRows, type BudgetSpec, type UsageRow } from "./admin";
import { pollBudget, type BudgetSample } from "./budget-poll";
import { replay, type Outcome } from "./driver";
import { startProbe, type ProbeSample } from "./load-probe";
import { policyConfig, SCENARIO, type Policy } from "./policies";
import { simControl, startSim, type Running, type prepareRouter } from "./processes";
import type { Trace } from "./trace";
import { followsClock, warmUp } from "./warm-up";

export interface RunSettings {
  /** The virtual day every policy replays (UTC midnight, ms). */
  epochMs: number;
  daySeconds: number;
  leadMs: number;
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
  maxInFlight: number;
  /** Real ms from the clock's start to the end of the replay's last request. */
  wallMs: number;
  /** Whether setup overran the lead (the day's first requests then left late). */
  lateStartMs: number;
  /** The machine's responsiveness during the replay (load-probe.ts). */
  probe: ProbeSample[];
  /** The 1-minute load average when the replay started and ended. */
  loadAverage: [number, number];
  /** Every replay of this policy in the run, the one kept last (run.ts replays one the machine stalled). */
  tries: Try[];
}

export interface Try {
  /** CPU idle share before it started (null: not measured), and how long the run waited for it. */
  idleBefore: number | null;
  waitedMs: number;
  /** Share of the probes that stalled during the replay. */
  stallShare: number;
}

type PreparedRouter = Awaited<ReturnType<typeof prepareRouter>>;

/**
 * The day's usage rows (the warm-up's left out), once every answered request has one: settlements
 * leave in per-isolate batches after the responses (waitUntil). Gives up after 15 s; the
 * cross-check then counts the rows still missing.
 */
async function settledUsage(routerUrl: string, tenants: readonly string[], warmIds: readonly string[], outcomes: readonly Outcome[]): Promise<UsageRow[]> {
  const warm = new Set(warmIds);
  const answered = outcomes.filter((o) => o.kind === "ok" && o.requestId !== null).map((o) => o.requestId!);
  const giveUpAt = Date.now() + 15_000;
  for (;;) {
    const rows = (await Promise.all(tenants.map((t) => usageRows(routerUrl, t)))).flat().filter((u) => !warm.has(u.requestId));
    const ids = new Set(rows.map((u) => u.requestId));
    if (answered.every((id) => ids.has(id)) || Date.now() > giveUpAt) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function runPolicy(policy: Policy, trace: Trace, budget: BudgetSpec | null, router: PreparedRouter, s: RunSettings): Promise<PolicyRun> {
  const clock = dayClock(s.epochMs, s.daySeconds, s.leadMs, Date.now());
  const running: Running[] = [];
  try {
    const sim = await startSim({ recordLimit: 0, clock: { epochMs: clock.epochMs, realStartMs: clock.realStartMs, speed: clock.speed }, origins: simOrigins(s.seed) });
    running.push(sim);
    const r = await router.start({ config: policyConfig(policy, sim.url), secrets: { ...ORIGIN_SECRETS }, vars: { BENCH_CLOCK: benchClockVar(clock) } });
    running.push(r);
    const tenants = trace.tenants.map((t) => t.id);
    const { keys, budgetId } = await provision(r.url, tenants, budget);
    const warm = await warmUp(r.url, keys, SCENARIO, clock);
    // Windows, prices, budget days and flex waits follow the router's clock: a day it does not see is no measurement.
    if (!followsClock(warm.skewMs)) throw new Error(`the router does not follow BENCH_CLOCK: ${warm.skewMs === null ? "no x-router-decision came back" : `its decisions' clock is ${(warm.skewMs / 3_600_000).toFixed(2)} virtual hours off the benchmark's`}`);
    await simControl(sim.url, "reset");
    const lateStartMs = Math.max(0, Date.now() - clock.realStartMs);
    const poll = budget && budgetId ? pollBudget(r.url, budget.tenant, budgetId, clock) : null;
    const loadStart = os.loadavg()[0]!;
    const probe = startProbe(r.url, sim.url, r.pid, clock);
    const { outcomes, maxInFlight } = await replay(trace.entries, { baseUrl: r.url, keys, clock, maxInFlight: s.maxInFlight, timeoutMs: 120_000, label: policy });
    const wallMs = Date.now() - clock.realStartMs;
    const probeSamples = await probe.stop();
    const loadAverage: [number, number] = [loadStart, os.loadavg()[0]!].map((l) => Math.round(l * 100) / 100) as [number, number];
    const budgetSamples = poll ? await poll.stop() : [];
    const usage = await settledUsage(r.url, tenants, warm.requestIds, outcomes);
    const simStats = await simControl(sim.url, "stats");
    return {
      policy,
      clock,
      outcomes,
      usage,
      budgetSamples,
      simStats,
      clockSkewMs: warm.skewMs,
      maxInFlight,
      wallMs,
      lateStartMs,
      probe: probeSamples,
      loadAverage,
      tries: [],
    };
  } finally {
    for (const p of running.reverse()) await p.stop().catch(() => {});
  }
}
