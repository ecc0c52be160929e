/**
 * The router's accounting checked from outside: every answered request's usage row against what
 * the client received (tokens) and what the benchmark prices it at (the same prices, the client's
 * virtual send time), and the usage log's tokens per origin against the simulator's own counters.
 */
import type { UsageRow } from "./admin";
import type { DayClock } from "./clock";
import type { Outcome } from "./driver";
import { ORIGINS } from "./origins";
import { requestCost } from "./prices";

export interface CrossCheck {
  /** Answered requests with no usage row, and rows that match no request of the day. */
  missingRows: number;
  strayRows: number;
  /** Answered requests whose row's tokens differ from the usage chunk the client got. */
  tokenMismatches: number;
  /** Σ of the rows' cost vs Σ of the client-side price of the same requests (µ$). */
  routerCostMicros: number;
  clientCostMicros: number;
  /** Rows whose cost differs from the client-side price (a price window's edge, mostly). */
  costMismatches: number;
  /** Per origin: prompt / cached / completion tokens, usage log (status 200) vs simulator. */
  perOrigin: Record<string, { log: [number, number, number]; sim: [number, number, number] | null }>;
}

interface SimOriginStats {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

function simOrigin(simStats: unknown, origin: string): SimOriginStats | null {
  const o = (simStats as { origins?: Record<string, SimOriginStats> } | null)?.origins?.[origin];
  return o ?? null;
}

export function crossCheck(outcomes: readonly Outcome[], rows: readonly UsageRow[], simStats: unknown, clock: DayClock): CrossCheck {
  const byId = new Map(rows.map((r) => [r.requestId, r]));
  const ids = new Set(outcomes.map((o) => o.requestId).filter((id): id is string => id !== null));
  let missingRows = 0;
  let tokenMismatches = 0;
  let clientCost = 0;
  let costMismatches = 0;
  for (const o of outcomes) {
    if (o.kind !== "ok" || o.requestId === null) continue;
    const row = byId.get(o.requestId);
    if (!row) {
      missingRows++;
      continue;
    }
    if (row.promptTokens !== o.promptTokens || row.cachedTokens !== o.cachedTokens || row.completionTokens !== o.completionTokens) tokenMismatches++;
    const cost = requestCost(o.origin ?? "", clock.epochMs + o.sentAt, { promptTokens: o.promptTokens ?? 0, cachedTokens: o.cachedTokens ?? 0, completionTokens: o.completionTokens ?? 0 });
    clientCost += cost;
    if (cost !== row.costMicros) costMismatches++;
  }
  const perOrigin: CrossCheck["perOrigin"] = {};
  for (const origin of ORIGINS) {
    const served = rows.filter((r) => r.origin === origin && r.status === 200);
    const sum = (f: (r: UsageRow) => number) => served.reduce((a, r) => a + f(r), 0);
    const sim = simOrigin(simStats, origin);
    perOrigin[origin] = {
      log: [sum((r) => r.promptTokens), sum((r) => r.cachedTokens), sum((r) => r.completionTokens)],
      sim: sim ? [sim.promptTokens, sim.cachedTokens, sim.completionTokens] : null,
    };
  }
  return {
    missingRows,
    strayRows: rows.filter((r) => !ids.has(r.requestId)).length,
    tokenMismatches,
    routerCostMicros: rows.reduce((a, r) => a + r.costMicros, 0),
    clientCostMicros: clientCost,
    costMismatches,
    perOrigin,
  };
}
