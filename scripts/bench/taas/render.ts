/**
 * From the runs of the policies to the files: the notes each run calls for, the Markdown report,
 * results.json and the chart. Used after a measurement, and again by `--from <dir>` on the runs a
 * measurement saved (`requests-<policy>.json`), so a report can be redone without replaying a day.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BudgetSpec } from "./admin";
import { dayChartPng } from "./chart";
import { dayDate } from "./clock";
import { STALL_MS } from "./load-probe";
import type { PolicyRun } from "./collect";
import { checkGoals } from "./goals";
import { routerOrigins, simOrigins } from "./origins";
import { SLO_TTFT_MS, type Policy } from "./policies";
import { crossCheckTable, goalLines, machineTable, originTable, policyTable, poolTable, usd } from "./report";
import type { PolicySummary } from "./summary";
import type { Trace } from "./trace";

/** What a measurement knew about itself (kept in results.json). */
export interface RunMeta {
  date: string;
  node: string;
  workerd: string;
  cpu: string;
  cores: number;
  loadAverage: number[];
  seconds: number;
  smoke: boolean;
  /** The benchmark's CPU priority (its children's too). */
  nice?: number;
  daySeconds: number;
  seed: number;
  requests: number;
}

/** The notes a run calls for: a late start, a driver behind. */
export function runNotes(run: PolicyRun, s: PolicySummary): string[] {
  const notes: string[] = [];
  if (s.clock.lateStartMs > 0) notes.push(`${run.policy}: setup overran the lead by ${s.clock.lateStartMs} ms; the day's first requests left late (raise --lead-seconds)`);
  if (s.lateSends > 0) notes.push(`${run.policy}: ${s.lateSends} requests left more than 1 s late (the driver was behind)`);
  return notes;
}

/** Writes results.md, results.json and results.png to `out`; returns the Markdown. */
export function render(meta: RunMeta, trace: Trace, budget: (BudgetSpec & { dayCostMicros: number }) | null, runs: ReadonlyMap<Policy, PolicyRun>, summaries: readonly PolicySummary[], out: string): string {
  const first = runs.values().next().value;
  if (!first) throw new Error("no policy ran");
  const { clock } = first;
  // Notes common to every run are said once.
  const notes = [...new Set(summaries.flatMap((s) => runNotes(runs.get(s.policy)!, s)))];
  const checks = checkGoals(summaries, runs);
  const day = dayDate(clock.epochMs);
  const speed = 86_400 / meta.daySeconds;
  const counts: Record<string, number> = {};
  for (const e of trace.entries) counts[`${e.tenant}/${e.cls}`] = (counts[`${e.tenant}/${e.cls}`] ?? 0) + 1;
  const workload =
    `seed ${meta.seed}; ${trace.entries.length} requests over one virtual day (${day}, UTC) replayed in ${meta.daySeconds} s of wall clock (×${Math.round(speed)}); ` +
    `the router's clock: BENCH_CLOCK; interactive SLO ${SLO_TTFT_MS} ms (real); ${trace.tenants.map((t) => t.id).join(", ")}` +
    (budget ? `; ${budget.tenant}'s daily budget ${usd(budget.limitMicros)} (soft ${usd(budget.softLimitMicros)})` : "") +
    `; ${meta.cpu}, ${meta.cores} cores, load ${meta.loadAverage.join(" → ")}${meta.nice ? `, run at nice ${meta.nice}` : ""}`;
  const markdown = [
    `# TaaS benchmark: one day, ${summaries.length} policies`,
    "",
    workload,
    "",
    policyTable(summaries, clock),
    "",
    "Where requests and tokens went:",
    "",
    originTable(summaries),
    "",
    "The pool's prefill load by virtual hour: the prefill work sent to it ÷ its slots' capacity in that hour, % (over 100: a queue builds):",
    "",
    poolTable(summaries),
    "",
    "The router's accounting (usage log) against the client and the simulator:",
    "",
    crossCheckTable(summaries),
    "",
    `The machine during each replay (latencies are real, so a stall of the machine slows requests no routing slowed): round trips to the router's /healthz and the simulator's /_sim/health every 250 ms, and the interactive requests that awaited their first token while a probe took ${STALL_MS} ms or more:`,
    "",
    machineTable(summaries),
    "",
    "Goals (Token Router):",
    "",
    ...goalLines(checks),
    "",
    ...(meta.smoke ? ["Note: a smoke run (a 4-second day): it proves the benchmark runs; at this speed a request's real second is hours of the day, so deadlines and budgets mean nothing."] : []),
    ...notes.map((n) => `Note: ${n}`),
  ].join("\n");
  const results = {
    meta: { ...meta, speed, virtualDay: day, notes },
    trace: { seed: meta.seed, requests: trace.entries.length, counts, tenants: trace.tenants, budget },
    origins: { router: routerOrigins("http://sim"), simulator: simOrigins(meta.seed) },
    sloTtftMs: SLO_TTFT_MS,
    policies: summaries,
    checks,
  };
  writeFileSync(join(out, "results.md"), `${markdown}\n`);
  writeFileSync(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(out, "results.png"), dayChartPng(`TAAS: ONE DAY (${day}), ${trace.entries.length} REQUESTS, SEED ${meta.seed}, ${meta.daySeconds} S`, summaries, clock.epochMs));
  return markdown;
}
