/**
 * A scenario's prefix-cache hit rates across its origins, from the counts each OriginMonitor keeps
 * (token-weighted: a long prompt weighs more than a short one).
 */
import { addPrefixCounts, NO_PREFIX_COUNTS, prefixStats, type PrefixCacheCounts } from "../health/monitor-state";
import type { PrefixCacheStats } from "../health/types";

export interface ScenarioHitRates {
  origins: Array<{ origin: string } & PrefixCacheStats>;
  total: PrefixCacheStats;
}

/** Sums per-origin counts of one scenario and derives its rates as each monitor does. */
export function scenarioHitRates(byOrigin: ReadonlyArray<{ origin: string; stats: PrefixCacheStats | undefined }>): ScenarioHitRates {
  const origins = byOrigin.filter((o): o is { origin: string; stats: PrefixCacheStats } => o.stats !== undefined).map((o) => ({ origin: o.origin, ...o.stats }));
  const total = origins.reduce<PrefixCacheCounts>(addPrefixCounts, NO_PREFIX_COUNTS);
  return { origins, total: prefixStats(total) };
}
