/** The Markdown report: the per-policy table, the pool by hour, the accounting cross-checks, the goals and their evidence. */
import type { DayClock } from "./clock";
import { clockTime } from "./clock";
import type { GoalCheck } from "./goals";
import { STALL_MS } from "./load-probe";
import { ORIGINS } from "./origins";
import { SLO_TTFT_MS } from "./policies";
import { share } from "./stats";
import type { PolicySummary } from "./summary";

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)} %`);
const ms = (v: number | null) => (v === null ? "–" : `${Math.round(v)} ms`);
export const usd = (micros: number | null, digits = 4) => (micros === null ? "–" : `$${(micros / 1e6).toFixed(digits)}`);

export function policyTable(summaries: readonly PolicySummary[], clock: DayClock): string {
  const lines = [
    `| policy | cost | per 1k answered | interactive TTFT p50 | p99 | CV | SLO ≤ ${SLO_TTFT_MS} ms | batch on time | batch tokens: discount window + pool idle hours | client errors | budget: first refused | spend / budget |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of summaries) {
    const b = s.budget;
    lines.push(
      `| ${s.label} | ${usd(s.costMicros)} | ${usd(s.costMicrosPer1k)} | ${ms(s.interactive.p50)} | ${ms(s.interactive.p99)} | ${s.interactive.cv?.toFixed(2) ?? "–"} | ${pct(s.interactive.slo)} | ${pct(s.batch.deadlineMet)} | ${pct(share(s.batch.discountTokens, s.batch.tokens), 0)} + ${pct(share(s.batch.poolTokens, s.batch.tokens), 0)} = ${pct(s.batch.cheapShare, 0)} | ${s.errors} | ` +
        `${b?.cappedAt == null ? "never" : clockTime(clock, clock.epochMs + b.cappedAt)} | ${b ? pct(b.spendMicros / b.limitMicros) : "–"} |`,
    );
  }
  return lines.join("\n");
}

export function originTable(summaries: readonly PolicySummary[]): string {
  const lines = [`| policy | ${ORIGINS.map((o) => `${o} requests / tokens`).join(" | ")} | refused (quota) | errors by class |`, `| --- | ${ORIGINS.map(() => "---:").join(" | ")} | ---: | --- |`];
  for (const s of summaries) {
    lines.push(
      `| ${s.label} | ${ORIGINS.map((o) => `${s.requestsByOrigin[o] ?? 0} / ${((s.tokensByOrigin[o] ?? 0) / 1e6).toFixed(2)} M`).join(" | ")} | ${s.refused} | ${Object.entries(s.errorsByClass).map(([c, n]) => `${c} ${n}`).join(", ") || "–"} |`,
    );
  }
  return lines.join("\n");
}

export function poolTable(summaries: readonly PolicySummary[]): string {
  const head = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  const lines = [`| pool load, by hour (UTC) | ${head.join(" | ")} |`, `| --- | ${head.map(() => "---:").join(" | ")} |`];
  for (const s of summaries) lines.push(`| ${s.label} | ${s.poolUtilization.map((u) => (u * 100).toFixed(0)).join(" | ")} |`);
  return lines.join("\n");
}

export function crossCheckTable(summaries: readonly PolicySummary[]): string {
  const lines = [
    "| policy | usage rows missing / stray | token mismatches | router cost vs client-side price | rows priced differently | tokens: usage log vs simulator (prompt / cached / completion) |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const s of summaries) {
    const c = s.crossCheck;
    const sim = ORIGINS.map((o) => {
      const p = c.perOrigin[o];
      if (!p) return `${o}: –`;
      const same = p.sim !== null && p.log.every((v, i) => v === p.sim![i]);
      return same ? `${o}: equal` : `${o}: ${p.log.join("/")} vs ${p.sim?.join("/") ?? "–"}`;
    });
    lines.push(`| ${s.label} | ${c.missingRows} / ${c.strayRows} | ${c.tokenMismatches} | ${usd(c.routerCostMicros)} vs ${usd(c.clientCostMicros)} | ${c.costMismatches} | ${sim.join("; ")} |`);
  }
  return lines.join("\n");
}

/** The machine during each run: what load could have added to the real-time figures. */
export function machineTable(summaries: readonly PolicySummary[]): string {
  const lines = [
    `| policy | replays: CPU idle before, probes stalled | load average (start → end) | probe round trip p50 / p99: router, simulator | probes ≥ ${STALL_MS} ms | send lag p99 | router CPU per request, busiest hour | interactive awaiting a token during a stall (missed the SLO) | without them: SLO, p99, CV |`,
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of summaries) {
    const m = s.machine;
    lines.push(
      `| ${s.label} | ${m.tries.map((t) => `${pct(t.idleBefore, 0)}, ${pct(t.stallShare)}`).join("; ") || "–"} | ${m.loadAverage.join(" → ")} | ${ms(m.routerP50)} / ${ms(m.routerP99)}, ${ms(m.simP50)} / ${ms(m.simP99)} | ${m.stalls} of ${m.probes} | ${ms(m.sendLagP99)} | ${m.routerCpuMsPerRequest === null ? "–" : `${m.routerCpuMsPerRequest} ms, ${pct(m.routerCpuPeakShare, 0)} of a core`} | ${m.interactiveInStall} of ${s.interactive.requests} (${m.sloMissesInStall}) | ${pct(m.sloOutsideStalls)}, ${ms(m.p99OutsideStalls)}, ${m.cvOutsideStalls?.toFixed(2) ?? "–"} |`,
    );
  }
  return lines.join("\n");
}

export function goalLines(checks: readonly GoalCheck[]): string[] {
  const out: string[] = [];
  for (const c of checks) {
    const verdict = c.pass === null ? "N/A " : c.pass ? "PASS" : "MISS";
    out.push(`- **${verdict}** ${c.goal}: ${c.detail}`);
    for (const e of c.evidence) out.push(`    - ${e.replace(/\|/g, "\\|")}`);
  }
  return out;
}
