/**
 * Several runs side by side (`--combine <dir>,<dir>,...`, or after `--seeds 1,2,3`): per policy,
 * each headline figure as "seed 1 / seed 2 / seed 3", the goals PASS/MISS per seed, and the
 * machine each ran on. Read from the runs' results.json; writes combined.md beside them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { clockTime } from "./clock";
import type { GoalCheck } from "./goals";
import type { RunMeta } from "./render";
import { usd } from "./report";
import type { PolicySummary } from "./summary";

interface Saved {
  meta: RunMeta;
  policies: PolicySummary[];
  checks: GoalCheck[];
}

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)} %`);
/** Offsets from the day's start read as times of day. */
const DAY_START = { epochMs: 0, realStartMs: 0, speed: 1 };
const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${Math.round(v)}`);

/** The Markdown of the runs in `dirs`, in that order. */
export function combine(dirs: readonly string[]): string {
  const runs = dirs.map((d) => JSON.parse(readFileSync(join(d, "results.json"), "utf8")) as Saved);
  const seeds = runs.map((r) => r.meta.seed).join(" / ");
  const policies = [...new Set(runs.flatMap((r) => r.policies.map((p) => p.policy)))];
  const each = (policy: string, f: (s: PolicySummary, run: Saved) => string) =>
    runs.map((r) => {
      const s = r.policies.find((p) => p.policy === policy);
      return s ? f(s, r) : "–";
    }).join(" / ");
  const maasCost = (r: Saved) => r.policies.find((p) => p.policy === "maas-cheapest")?.costMicros ?? null;
  const lines = [
    `Seeds ${seeds}; every figure is "seed ${seeds}".`,
    "",
    "| policy | cost | vs MaaS only | interactive TTFT p50 / p99, ms | TTFT CV | SLO ≤ 1000 ms | on requests no stall touched: SLO, p99 ms, CV | batch on time | batch tokens discounted + pool idle | client errors | budget: first refused, spend |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const policy of policies) {
    const label = runs.flatMap((r) => r.policies).find((p) => p.policy === policy)!.label;
    lines.push(
      `| ${label} | ${each(policy, (s) => usd(s.costMicros, 3))} | ${each(policy, (s, r) => (maasCost(r) ? `${((s.costMicros / maasCost(r)! - 1) * 100).toFixed(0)} %` : "–"))} | ` +
        `${each(policy, (s) => `${ms(s.interactive.p50)}, ${ms(s.interactive.p99)}`)} | ${each(policy, (s) => s.interactive.cv?.toFixed(2) ?? "–")} | ${each(policy, (s) => pct(s.interactive.slo))} | ` +
        `${each(policy, (s) => `${pct(s.machine?.sloOutsideStalls)}, ${ms(s.machine?.p99OutsideStalls)}, ${s.machine?.cvOutsideStalls?.toFixed(2) ?? "–"}`)} | ${each(policy, (s) => pct(s.batch.deadlineMet))} | ${each(policy, (s) => pct(s.batch.cheapShare, 0))} | ${each(policy, (s) => String(s.errors))} | ` +
        `${each(policy, (s) => (s.budget ? `${s.budget.cappedAt === null ? "never" : clockTime(DAY_START, s.budget.cappedAt)}, ${pct(s.budget.spendMicros / s.budget.limitMicros, 0)}` : "–"))} |`,
    );
  }
  const goals = [...new Set(runs.flatMap((r) => r.checks.map((c) => c.goal)))];
  lines.push("", `| goal (Token Router) | ${runs.map((r) => `seed ${r.meta.seed}`).join(" | ")} |`, `| --- | ${runs.map(() => "---").join(" | ")} |`);
  for (const goal of goals) {
    lines.push(
      `| ${goal} | ${runs
        .map((r) => {
          const c = r.checks.find((x) => x.goal === goal);
          return c ? `${c.pass === null ? "N/A" : c.pass ? "PASS" : "**MISS**"}: ${c.detail.replace(/\|/g, "\\|")}` : "–";
        })
        .join(" | ")} |`,
    );
  }
  lines.push("", "| machine, per seed | load average | Token Router's replay: probes stalled, router CPU per request |", "| --- | --- | --- |");
  for (const r of runs) {
    const tr = r.policies.find((p) => p.policy === "token-router");
    const m = tr?.machine;
    lines.push(
      `| seed ${r.meta.seed}: ${r.meta.date.slice(0, 16)}Z, ${r.meta.seconds} s, nice ${r.meta.nice ?? 0} | ${r.meta.loadAverage.join(" → ")} | ${m ? `${m.stalls} of ${m.probes}, ${m.routerCpuMsPerRequest ?? "–"} ms` : "–"} |`,
    );
  }
  return lines.join("\n");
}
