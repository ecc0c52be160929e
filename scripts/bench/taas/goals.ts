/**
 * The issue's goals (#15), checked against the Token Router run and printed PASS/MISS; they never
 * fail the run. A MISS carries its evidence: the requests behind it, what the router decided for
 * them and why, read off the per-request outcomes.
 */
import { inSpan } from "../../../src/sim/day-profile";
import type { PolicyRun } from "./collect";
import { describeDecision, describeOutcome, tally } from "./explain";
import type { Outcome } from "./driver";
import { clockTime } from "./clock";
import { STALL_MS } from "./load-probe";
import { POOL_RESERVED, PREMIUM_BROWNOUT } from "./origins";
import { SLO_TTFT_MS, type Policy } from "./policies";
import { discounted, requestCost } from "./prices";
import type { PolicySummary } from "./summary";
import { hourOf } from "./stats";

export interface GoalCheck {
  goal: string;
  /** null: could not be judged (no such run). */
  pass: boolean | null;
  detail: string;
  /** For a MISS: the requests and decisions behind it. */
  evidence: string[];
}

const pct = (v: number | null) => (v === null ? "–" : `${(v * 100).toFixed(1)} %`);
const usd = (micros: number) => `$${(micros / 1e6).toFixed(4)}`;
const EXAMPLES = 8;

function examples(items: readonly Outcome[], run: PolicyRun, n = EXAMPLES): string[] {
  return items.slice(0, n).flatMap((o) => [`${describeOutcome(o, run.clock)}`, `    decision: ${describeDecision(o.decision)}`]);
}

const hourKey = (o: Outcome) => `${String(hourOf(o.sentAt)).padStart(2, "0")}h`;
const firstOrigin = (o: Outcome) => o.attempts[0]?.origin ?? o.origin ?? "none";

function sloEvidence(s: PolicySummary, run: PolicyRun): string[] {
  const m = s.machine;
  const missed = run.outcomes.filter((o) => o.cls === "interactive" && o.kind !== "refused" && !(o.kind === "ok" && o.ttftMs! <= SLO_TTFT_MS));
  if (missed.length === 0) return [];
  return [
    `${missed.length} interactive requests over ${SLO_TTFT_MS} ms or failed; ${m.sloMissesInStall} of them awaited their first token while the machine stalled (a probe ≥ ${STALL_MS} ms); without the ${m.interactiveInStall} requests any stall touched, attainment is ${pct(m.sloOutsideStalls)}.`,
    `by hour: ${tally(missed, hourKey, 12).join(", ")}`,
    `by first origin tried → origin served: ${tally(missed, (o) => `${firstOrigin(o)} → ${o.origin ?? o.code ?? "error"}`).join(", ")}`,
    `the pool, in their decisions: ${tally(missed, (o) => {
      const pool = o.decision?.candidates.find((c) => c.origin === "pool");
      return pool ? (pool.excluded ?? pool.demoted ?? "eligible") : "no decision";
    }).join(", ")}`,
    "examples (slowest first):",
    ...examples([...missed].sort((a, b) => (b.ttftMs ?? Infinity) - (a.ttftMs ?? Infinity)), run),
  ];
}

function cvEvidence(s: PolicySummary, run: PolicyRun, best: PolicySummary): string[] {
  const served = run.outcomes.filter((o) => o.cls === "interactive" && o.kind === "ok" && o.origin);
  const stats = (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean: m, cv: Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / v.length) / m };
  };
  const byOrigin = new Map<string, number[]>();
  for (const o of served) byOrigin.set(o.origin!, [...(byOrigin.get(o.origin!) ?? []), o.ttftMs!]);
  const slowest = [...served].sort((a, b) => b.ttftMs! - a.ttftMs!);
  const trimmed = stats(slowest.slice(3).map((o) => o.ttftMs!));
  return [
    `${s.label} CV ${s.interactive.cv?.toFixed(2)} (mean ${s.interactive.mean?.toFixed(0)} ms) vs ${best.label} ${best.interactive.cv?.toFixed(2)} (mean ${best.interactive.mean?.toFixed(0)} ms); CV is σ/mean, so a slower policy with the same spread scores steadier.`,
    `without its 3 slowest of ${served.length} interactive requests, Token Router's CV is ${trimmed.cv.toFixed(2)}.`,
    `by serving origin: ${[...byOrigin].map(([origin, v]) => `${origin} ${v.length}, mean ${stats(v).mean.toFixed(0)} ms, CV ${stats(v).cv.toFixed(2)}`).join("; ")}`,
    "the slowest:",
    ...examples(slowest, run, 5),
  ];
}

function faultEvidence(run: PolicyRun): string[] {
  const failed = run.outcomes.filter((o) => o.kind === "error" && o.attempts.length > 0 && o.attempts.at(-1)!.result !== "200");
  if (failed.length === 0) return [];
  const leftOut = (o: Outcome) => {
    const rules = o.decision?.candidates.filter((c) => c.excluded).map((c) => `${c.origin} ${c.excluded}`) ?? [];
    return rules.length > 0 ? `no fallback left; excluded: ${rules.join(", ")}` : "every candidate tried";
  };
  return [`${failed.length} requests whose last attempt failed: ${tally(failed, leftOut).join("; ")}`, ...examples(failed, run)];
}

/** Where Token Router paid more, or less, than MaaS-only would have for the same requests. */
function costEvidence(run: PolicyRun, maasRun: PolicyRun | undefined): string[] {
  const at = (o: Outcome) => run.clock.epochMs + o.sentAt;
  const tokens = (o: Outcome) => ({ promptTokens: o.promptTokens ?? 0, cachedTokens: o.cachedTokens ?? 0, completionTokens: o.completionTokens ?? 0 });
  const lines: string[] = [];
  const byClass = (r: PolicyRun, cls: string, origin?: string) => {
    const xs = r.outcomes.filter((o) => o.kind === "ok" && o.cls === cls && (origin === undefined || o.origin === origin));
    return { n: xs.length, cost: xs.reduce((a, o) => a + requestCost(o.origin ?? "", r.clock.epochMs + o.sentAt, tokens(o)), 0) };
  };
  for (const cls of ["interactive", "standard", "batch"]) {
    const parts = ["pool", "maas-lowcost", "maas-premium"].map((origin) => {
      const b = byClass(run, cls, origin);
      return `${origin} ${b.n} ${usd(b.cost)}`;
    });
    const maas = maasRun ? byClass(maasRun, cls) : null;
    lines.push(`${cls}: Token Router ${usd(byClass(run, cls).cost)} (${parts.join(", ")})${maas ? `; MaaS only ${usd(maas.cost)} (${maas.n})` : ""}`);
  }
  const premium = run.outcomes.filter((o) => o.kind === "ok" && o.origin === "maas-premium");
  const premiumCost = premium.reduce((a, o) => a + requestCost("maas-premium", at(o), tokens(o)), 0);
  const asLowcost = premium.reduce((a, o) => a + requestCost("maas-lowcost", at(o), tokens(o)), 0);
  const banded = premium.filter((o) => {
    const lowcost = o.decision?.candidates.find((c) => c.origin === "maas-lowcost");
    const mine = o.decision?.candidates.find((c) => c.origin === "maas-premium");
    return o.attempts.length === 1 && lowcost && mine && !lowcost.excluded && !lowcost.demoted && (lowcost.score ?? Infinity) < (mine.score ?? -Infinity);
  });
  lines.push(
    `maas-premium served ${premium.length} requests for ${usd(premiumCost)} (${usd(asLowcost)} at maas-lowcost's price then): ${tally(premium, (o) => `${o.cls} ${String(hourOf(o.sentAt)).padStart(2, "0")}h`, 6).join(", ")}`,
    `${banded.length} of them were placed past a better-scored maas-lowcost: within affinity placement's equals band (0.15), cold requests go by rendezvous order, not by score`,
  );
  const pool = run.outcomes.filter((o) => o.kind === "ok" && o.origin === "pool");
  lines.push(`the pool served ${pool.length} requests for ${usd(pool.reduce((a, o) => a + requestCost("pool", at(o), tokens(o)), 0))} (${usd(pool.reduce((a, o) => a + requestCost("maas-lowcost", at(o), tokens(o)), 0))} at maas-lowcost's price then)`);
  return lines;
}

function outageEvidence(run: PolicyRun): string[] {
  const hit = run.outcomes.filter((o) => o.cls === "interactive" && o.kind === "error" && inSpan(PREMIUM_BROWNOUT, run.clock.epochMs + o.sentAt));
  return hit.length === 0 ? [] : examples(hit, run);
}

function batchEvidence(run: PolicyRun): string[] {
  const batch = run.outcomes.filter((o) => o.cls === "batch" && o.kind === "ok" && o.origin);
  const dear = batch.filter((o) => !(o.origin === "pool" && !inSpan(POOL_RESERVED, run.clock.epochMs + o.sentAt)) && !discounted(o.origin!, run.clock.epochMs + o.sentAt));
  const tokens = (o: Outcome) => (o.promptTokens ?? 0) + (o.completionTokens ?? 0);
  const byHour = new Map<string, number>();
  for (const o of dear) byHour.set(`${hourKey(o)} ${o.origin}`, (byHour.get(`${hourKey(o)} ${o.origin}`) ?? 0) + tokens(o));
  const waited = batch.filter((o) => o.decision?.waitReason).length;
  return [
    `${dear.length} of ${batch.length} batch requests served at full price, ${dear.reduce((a, o) => a + tokens(o), 0)} tokens; by hour and origin (tokens): ${[...byHour].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, t]) => `${k} ${t}`).join(", ")}`,
    `${waited} batch requests waited for a cheaper window (flex); the wait is bounded by flex.maxWaitMs (schema max 600 000 ms = 10 virtual minutes).`,
    `the pool, in their decisions: ${tally(dear, (o) => {
      const pool = o.decision?.candidates.find((c) => c.origin === "pool");
      return pool ? (pool.excluded ?? pool.demoted ?? (o.origin === "pool" ? "chosen" : "eligible, outscored")) : "no decision";
    }).join(", ")}`,
    "examples:",
    ...examples(dear, run, 4),
  ];
}

function deadlineEvidence(run: PolicyRun): string[] {
  const missed = run.outcomes.filter((o) => o.cls === "batch" && o.kind !== "refused" && !(o.kind === "ok" && o.deadline !== null && o.doneAt <= o.deadline));
  return missed.length === 0 ? [] : [`${missed.length} batch requests late or failed:`, ...missed.slice(0, EXAMPLES).map((o) => `${describeOutcome(o, run.clock)}; done ${clockTime(run.clock, run.clock.epochMs + o.doneAt)}, deadline ${clockTime(run.clock, run.clock.epochMs + (o.deadline ?? 0))}, ${(o.totalMs / 1000).toFixed(1)} s real`)];
}

function budgetEvidence(s: PolicySummary, run: PolicyRun): string[] {
  const b = s.budget;
  if (!b) return [];
  const mine = run.outcomes.filter((o) => o.tenant === b.tenant);
  const refused = mine.filter((o) => o.kind === "refused");
  const after = b.softAt === null ? [] : mine.filter((o) => o.kind === "ok" && o.budgetWarning !== null && o.origin !== "pool" && o.origin !== "maas-lowcost");
  return [
    `spend ${usd(b.spendMicros)} of ${usd(b.limitMicros)} (${pct(b.spendMicros / b.limitMicros)}); soft limit at ${b.softAt === null ? "never" : clockTime(run.clock, run.clock.epochMs + b.softAt)}, first refused at ${b.cappedAt === null ? "never" : `${clockTime(run.clock, run.clock.epochMs + b.cappedAt)} with ${pct((b.spendAtCapMicros ?? 0) / b.limitMicros)} spent`}`,
    `admission reserved ${b.meanReservedMicros ?? "–"} µ$ per answered request on average, which then cost ${b.meanCostMicros ?? "–"} µ$: open reservations count against the budget until they settle`,
    `highest settled + reserved polled: ${b.peakPolledMicros === null ? "–" : usd(b.peakPolledMicros)}`,
    `refusals: ${refused.length}; first: ${refused[0] ? `${describeOutcome(refused[0], run.clock)} — ${refused[0].error?.slice(0, 140)}` : "none"}`,
    ...(after.length > 0 ? ["served outside the degrade path after the soft limit:", ...examples(after, run, 4)] : []),
    ...(Object.keys(b.afterCap.otherCodes).length > 0 ? [`other failures after the first refusal: ${JSON.stringify(b.afterCap.otherCodes)}`] : []),
  ];
}

/** The goals, judged on Token Router's run against the others. */
export function checkGoals(summaries: readonly PolicySummary[], runs: ReadonlyMap<Policy, PolicyRun>): GoalCheck[] {
  const tr = summaries.find((s) => s.policy === "token-router");
  const run = runs.get("token-router");
  if (!tr || !run) return [];
  const others = summaries.filter((s) => s !== tr);
  const check = (goal: string, pass: boolean | null, detail: string, evidence: () => string[]): GoalCheck => ({ goal, pass, detail, evidence: pass === false ? evidence() : [] });
  const checks: GoalCheck[] = [];

  // Latencies are real: beside each SLO figure, the same on the requests no stall of the machine
  // touched (load-probe.ts). Stalls cluster in busy hours, when origins are slow too, so that
  // figure leans optimistic; the verdict is the raw figure's.
  const calm = (s: PolicySummary) => s.machine.sloOutsideStalls;
  checks.push(
    check(
      "interactive SLO attainment ≥ 99 %",
      (tr.interactive.slo ?? 0) >= 0.99,
      `${pct(tr.interactive.slo)} under ${SLO_TTFT_MS} ms (${tr.interactive.overSlo} of ${tr.interactive.requests} over or failed); on the requests no stall touched ${pct(calm(tr))}`,
      () => sloEvidence(tr, run),
    ),
  );
  const cvs = summaries.filter((s) => s.interactive.cv !== null);
  const bestCv = cvs.reduce<PolicySummary | null>((best, s) => (best === null || s.interactive.cv! < best.interactive.cv! ? s : best), null);
  checks.push(
    check(
      "lowest interactive TTFT CV of all policies",
      bestCv === null ? null : bestCv === tr,
      `${cvs.map((s) => `${s.policy} ${s.interactive.cv!.toFixed(2)}`).join(", ")}; on the requests no stall touched ${cvs.map((s) => `${s.policy} ${s.machine.cvOutsideStalls?.toFixed(2) ?? "–"}`).join(", ")}`,
      () => cvEvidence(tr, run, bestCv!),
    ),
  );
  const maas = summaries.find((s) => s.policy === "maas-cheapest");
  checks.push(
    check(
      "total cost ≥ 25 % below MaaS only",
      maas ? tr.costMicros <= 0.75 * maas.costMicros : null,
      maas ? `${usd(tr.costMicros)} vs ${usd(maas.costMicros)}: ${pct(1 - tr.costMicros / maas.costMicros)} below (per 1,000 answered: ${usd(tr.costMicrosPer1k ?? 0)} vs ${usd(maas.costMicrosPer1k ?? 0)})` : "no MaaS-only run",
      () => costEvidence(run, runs.get("maas-cheapest")),
    ),
  );
  const bar = Math.min(0.99, tr.interactive.slo ?? 0);
  const cheaper = others.filter((s) => (s.interactive.slo ?? 0) >= bar && s.costMicros < tr.costMicros);
  const calmBar = Math.min(0.99, calm(tr) ?? 0);
  const calmCheaper = others.filter((s) => (calm(s) ?? 0) >= calmBar && s.costMicros < tr.costMicros);
  checks.push(
    check(
      "no policy meeting the same SLO is cheaper",
      cheaper.length === 0,
      `SLO bar ${pct(bar)}: ${others.map((s) => `${s.policy} ${pct(s.interactive.slo)} ${usd(s.costMicros)}`).join("; ")}; on the requests no stall touched, bar ${pct(calmBar)}: ${others.map((s) => `${s.policy} ${pct(calm(s))}`).join(", ")}, so ${calmCheaper.length === 0 ? "none cheaper" : `${calmCheaper.map((s) => s.policy).join(", ")} cheaper`}`,
      () => cheaper.map((s) => `${s.label}: SLO ${pct(s.interactive.slo)} at ${usd(s.costMicros)} < ${usd(tr.costMicros)}`),
    ),
  );
  checks.push(check("no interactive request fails because of the outage", tr.outageInteractiveErrors === 0, `${tr.outageInteractiveErrors} interactive errors sent during the brown-out`, () => outageEvidence(run)));
  checks.push(
    check(
      "every pre-first-token fault falls back",
      tr.faults.lastAttemptFailed === 0,
      `${tr.faults.failedAttempts} failed attempts, ${tr.faults.coveredByFallback} followed by another attempt, ${tr.faults.lastAttemptFailed} were the last`,
      () => faultEvidence(run),
    ),
  );
  checks.push(
    check(
      "a majority of batch tokens served in the discount window or the pool's idle hours",
      tr.batch.cheapShare === null ? null : tr.batch.cheapShare > 0.5,
      `${pct(tr.batch.cheapShare)} of ${tr.batch.tokens} batch tokens (discount window ${tr.batch.discountTokens}, pool ${tr.batch.poolTokens})`,
      () => batchEvidence(run),
    ),
  );
  checks.push(check("every batch deadline met", tr.batch.missedDeadline === 0, `${pct(tr.batch.deadlineMet)} of ${tr.batch.requests} within 2 virtual hours`, () => deadlineEvidence(run)));
  const b = tr.budget;
  if (b) {
    const peak = Math.max(b.spendMicros, b.peakLogMicros, b.peakPolledMicros ?? 0);
    checks.push(
      check(
        "the budgeted tenant's spend never exceeds its budget",
        peak <= b.limitMicros,
        `spend ${usd(b.spendMicros)}, highest settled + reserved polled ${b.peakPolledMicros === null ? "–" : usd(b.peakPolledMicros)} (${b.polls} polls), limit ${usd(b.limitMicros)}`,
        () => budgetEvidence(tr, run),
      ),
    );
    checks.push(check("the budgeted tenant's spend rises to its budget (≥ 95 %)", b.spendMicros >= 0.95 * b.limitMicros, `${pct(b.spendMicros / b.limitMicros)} of the budget`, () => budgetEvidence(tr, run)));
    checks.push(
      check(
        "past its soft limit its traffic shifts to cheaper origins",
        b.softAt === null ? null : b.outsideDegradeAfterSoft === 0 && Object.keys(b.tokensAfterSoft).length > 0,
        `soft limit ${b.softAt === null ? "never reached" : `at ${clockTime(run.clock, run.clock.epochMs + b.softAt)}`}; tokens before ${JSON.stringify(b.tokensBeforeSoft)}, after ${JSON.stringify(b.tokensAfterSoft)}; µ$ per 1k tokens ${b.microsPer1kBefore?.toFixed(0) ?? "–"} → ${b.microsPer1kAfter?.toFixed(0) ?? "–"}`,
        () => budgetEvidence(tr, run),
      ),
    );
    checks.push(
      check(
        "at the limit, requests are refused with insufficient_quota",
        b.cappedAt === null ? false : b.afterCap.otherRefusals === 0,
        b.cappedAt === null
          ? "never capped"
          : `first refused at ${clockTime(run.clock, run.clock.epochMs + b.cappedAt)} with ${pct((b.spendAtCapMicros ?? 0) / b.limitMicros)} spent; after it ${b.afterCap.refused} refused with insufficient_quota, ${b.afterCap.otherRefusals} refused otherwise, ${b.afterCap.ok} answered, ${b.afterCap.originFailures} failed at the origins`,
        () => budgetEvidence(tr, run),
      ),
    );
  }
  return checks;
}
