/**
 * The budgeted tenant's day: when its soft limit and its limit were reached (from the router's own
 * answers: the first `x-router-budget-warning`, the first `insufficient_quota`), its spend over the
 * day (usage log, cumulative; and the ledger's settled + reserved as polled), what it was refused
 * with after the cap, and where its tokens went before and after the soft limit.
 */
import type { UsageRow } from "./admin";
import type { BudgetSpec } from "./admin";
import type { BudgetSample } from "./budget-poll";
import type { Outcome } from "./driver";
import { DEGRADE } from "./policies";
import { DAY_MS } from "./trace";

export interface BudgetView {
  tenant: string;
  limitMicros: number;
  softLimitMicros: number;
  /** Σ of the tenant's usage rows for the day (µ$). */
  spendMicros: number;
  /** Highest cumulative spend of the usage log in arrival order, and highest settled + reserved polled. */
  peakLogMicros: number;
  peakPolledMicros: number | null;
  /** Polls taken during the day in the day's budget period. */
  polls: number;
  /** Virtual ms from the day's start; null when never reached. */
  softAt: number | null;
  cappedAt: number | null;
  refused: number;
  /** The usage log's spend of the requests sent before the first refusal (µ$). */
  spendAtCapMicros: number | null;
  /**
   * After the first refusal: requests answered, refused with `insufficient_quota`, refused before
   * any origin was tried with another code (what the goal forbids), and failed at the origins
   * (not the budget's doing), with their codes.
   */
  afterCap: { ok: number; refused: number; otherRefusals: number; originFailures: number; otherCodes: Record<string, number> };
  /** Tokens served per origin, before and after the soft limit. */
  tokensBeforeSoft: Record<string, number>;
  tokensAfterSoft: Record<string, number>;
  /** Requests served outside the degrade path after the soft limit. */
  outsideDegradeAfterSoft: number;
  /**
   * What admission reserved for the tenant's answered requests against what they cost (means, µ$):
   * the reservation is the worst case (prompt bytes as tokens, the dearest candidate's prices), and
   * open reservations count against the budget until settled.
   */
  meanReservedMicros: number | null;
  meanCostMicros: number | null;
  /** µ$ per 1,000 tokens before and after the soft limit (router's costs). */
  microsPer1kBefore: number | null;
  microsPer1kAfter: number | null;
}

export function budgetView(spec: BudgetSpec, outcomes: readonly Outcome[], rows: readonly UsageRow[], samples: readonly BudgetSample[]): BudgetView {
  const mine = outcomes.filter((o) => o.tenant === spec.tenant).sort((a, b) => a.sentAt - b.sentAt);
  const rowOf = new Map(rows.map((r) => [r.requestId, r]));
  const softAt = mine.find((o) => o.budgetWarning !== null)?.sentAt ?? null;
  const cappedAt = mine.find((o) => o.kind === "refused")?.sentAt ?? null;
  let cumulative = 0;
  let peakLog = 0;
  let spend = 0;
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  const cost = { before: 0, after: 0, tokensBefore: 0, tokensAfter: 0 };
  let outsideDegrade = 0;
  const answered = { n: 0, reserved: 0, cost: 0 };
  for (const o of mine) {
    const row = o.requestId ? rowOf.get(o.requestId) : undefined;
    if (!row) continue;
    cumulative += row.costMicros;
    spend += row.costMicros;
    peakLog = Math.max(peakLog, cumulative);
    if (o.kind !== "ok" || !o.origin) continue;
    answered.n++;
    answered.reserved += row.reservedMicros;
    answered.cost += row.costMicros;
    const tokens = row.promptTokens + row.completionTokens;
    const late = o.budgetWarning !== null;
    const bucket = late ? after : before;
    bucket[o.origin] = (bucket[o.origin] ?? 0) + tokens;
    if (late) {
      cost.after += row.costMicros;
      cost.tokensAfter += tokens;
      if (!DEGRADE.includes(o.origin as (typeof DEGRADE)[number])) outsideDegrade++;
    } else {
      cost.before += row.costMicros;
      cost.tokensBefore += tokens;
    }
  }
  const afterCap = { ok: 0, refused: 0, otherRefusals: 0, originFailures: 0, otherCodes: {} as Record<string, number> };
  let spendAtCap: number | null = null;
  if (cappedAt !== null) {
    spendAtCap = mine.filter((x) => x.sentAt < cappedAt).reduce((a, o) => a + ((o.requestId ? rowOf.get(o.requestId)?.costMicros : 0) ?? 0), 0);
    for (const o of mine.filter((x) => x.sentAt >= cappedAt)) {
      if (o.kind === "ok") afterCap.ok++;
      else if (o.kind === "refused") afterCap.refused++;
      else {
        if (o.attempts.length === 0) afterCap.otherRefusals++;
        else afterCap.originFailures++;
        const code = `${o.attempts.length === 0 ? "refused" : "origin"}: ${o.code ?? o.error ?? "unknown"}`;
        afterCap.otherCodes[code] = (afterCap.otherCodes[code] ?? 0) + 1;
      }
    }
  }
  // The period the router files the day under: that of the polls taken during the day.
  const during = samples.filter((s) => s.at >= 0 && s.at < DAY_MS);
  const dayPeriod = during[Math.floor(during.length / 2)]?.periodKey;
  const inDay = during.filter((s) => s.periodKey === dayPeriod);
  return {
    tenant: spec.tenant,
    limitMicros: spec.limitMicros,
    softLimitMicros: spec.softLimitMicros,
    spendMicros: spend,
    peakLogMicros: peakLog,
    peakPolledMicros: inDay.length > 0 ? Math.max(...inDay.map((s) => s.settled + s.reserved)) : null,
    polls: inDay.length,
    softAt,
    cappedAt,
    refused: mine.filter((o) => o.kind === "refused").length,
    spendAtCapMicros: spendAtCap,
    afterCap,
    tokensBeforeSoft: before,
    tokensAfterSoft: after,
    outsideDegradeAfterSoft: outsideDegrade,
    meanReservedMicros: answered.n > 0 ? Math.round(answered.reserved / answered.n) : null,
    meanCostMicros: answered.n > 0 ? Math.round(answered.cost / answered.n) : null,
    microsPer1kBefore: cost.tokensBefore > 0 ? (cost.before * 1000) / cost.tokensBefore : null,
    microsPer1kAfter: cost.tokensAfter > 0 ? (cost.after * 1000) / cost.tokensAfter : null,
  };
}
