/**
 * The budgeted tenant's budget as the router's ledger reports it, read every quarter of a virtual
 * hour during the replay: spend (settled) and what open reservations hold, over the day. The
 * ledger's invariant is settled + reserved ≤ limit; this is the outside view of it.
 */
import { budgets, type BudgetState } from "./admin";
import { virtualAt, type DayClock } from "./clock";

export interface BudgetSample {
  /** Virtual ms from the day's start. */
  at: number;
  periodKey: string;
  settled: number;
  reserved: number;
  limit: number;
}

/** Starts polling; `stop()` ends it and returns the samples. */
export function pollBudget(routerUrl: string, tenant: string, budgetId: string, clock: DayClock): { stop(): Promise<BudgetSample[]> } {
  const samples: BudgetSample[] = [];
  let stopped = false;
  const everyMs = clock.dayRealMs / 96;
  const loop = (async () => {
    while (!stopped) {
      const at = Math.round(virtualAt(clock, Date.now()) - clock.epochMs);
      try {
        const b: BudgetState | undefined = (await budgets(routerUrl, tenant)).find((x) => x.id === budgetId);
        if (b) samples.push({ at, periodKey: b.periodKey, settled: b.settled, reserved: b.reserved, limit: b.limit });
      } catch {
        // a missed sample is only a gap in the series
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return samples;
    },
  };
}
