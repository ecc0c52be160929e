/**
 * Outcomes and decisions as one line of text each, for the evidence under a MISS: what the
 * router saw (every candidate's score terms or the rule that removed it) and what happened.
 */
import { clockTime, type DayClock } from "./clock";
import type { CandidateView, DecisionView, Outcome } from "./driver";

function candidate(c: CandidateView): string {
  if (c.excluded) return `${c.origin}: excluded ${c.excluded}`;
  const terms = [`ttft ${c.ttftMs ?? "?"} ms ${c.ttftSource ?? ""}`.trim(), `cv ${c.cv ?? "?"}`];
  if (c.errorRate) terms.push(`err ${c.errorRate}`);
  if (c.load !== null) terms.push(`load ${c.load}`);
  terms.push(`${c.priceMicros ?? "?"} µ$`);
  return `${c.origin}: ${c.score ?? "?"} (${terms.join(", ")})${c.demoted ? ` demoted ${c.demoted}` : ""}`;
}

/** "pool: excluded reserved | maas-lowcost: 0.21 (ttft 640 ms hourly, cv 0.9, 512 µ$) | ...". */
export function describeDecision(d: DecisionView | null): string {
  if (!d) return "no decision (refused before routing)";
  const wait = d.waitReason ? ` | waited: ${d.waitReason}` : "";
  return `${d.candidates.map(candidate).join(" | ")}${d.budgetPressure > 0 ? ` | budget pressure ${d.budgetPressure}` : ""}${wait}`;
}

/** "#1234 10:42 acme interactive → maas-lowcost 2345 ms [pool 503 → maas-lowcost 200]". */
export function describeOutcome(o: Outcome, clock: DayClock): string {
  const when = clockTime(clock, clock.epochMs + o.sentAt);
  const result = o.kind === "ok" ? `${o.origin} TTFT ${Math.round(o.ttftMs ?? 0)} ms` : `${o.kind}: ${o.code ?? o.error ?? o.status}`;
  const attempts = o.attempts.length > 1 || (o.attempts[0] && o.attempts[0].result !== "200") ? ` [${o.attempts.map((a) => `${a.origin} ${a.result}`).join(" → ")}]` : "";
  return `#${o.id} ${when} ${o.tenant} ${o.cls} → ${result}${attempts}`;
}

/** Counts by key, largest first, as "key ×n" items. */
export function tally<T>(items: readonly T[], key: (t: T) => string, top = 8): string[] {
  const counts = new Map<string, number>();
  for (const t of items) counts.set(key(t), (counts.get(key(t)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `${k} ×${n}`);
}
