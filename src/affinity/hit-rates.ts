/**
 * A scenario's prefix-cache hit rates across its origins, from the counts each OriginMonitor keeps
 * (token-weighted: a long prompt weighs more than a short one).
 */
import type { PrefixCacheStats } from "../health/types";

export interface ScenarioHitRates {
  origins: Array<{ origin: string } & PrefixCacheStats>;
  total: Omit<PrefixCacheStats, "placements"> & { placements: PrefixCacheStats["placements"] };
}

/** Sums per-origin counts of one scenario and derives its rates. */
export function scenarioHitRates(byOrigin: ReadonlyArray<{ origin: string; stats: PrefixCacheStats | undefined }>): ScenarioHitRates {
  const origins = byOrigin.filter((o): o is { origin: string; stats: PrefixCacheStats } => o.stats !== undefined).map((o) => ({ origin: o.origin, ...o.stats }));
  const sum = (f: (s: PrefixCacheStats) => number) => origins.reduce((n, s) => n + f(s), 0);
  const promptTokens = sum((s) => s.promptTokens);
  const predictedTokens = sum((s) => s.predictedTokens);
  const reportedTokens = sum((s) => s.reportedTokens);
  const confirmedTokens = sum((s) => s.confirmedTokens);
  const rate = (n: number) => (promptTokens > 0 ? n / promptTokens : 0);
  return {
    origins,
    total: {
      requests: sum((s) => s.requests),
      promptTokens,
      predictedTokens,
      reportedTokens,
      confirmedTokens,
      placements: { sticky: sum((s) => s.placements.sticky), spill: sum((s) => s.placements.spill), cold: sum((s) => s.placements.cold), none: sum((s) => s.placements.none) },
      hitRate: rate(reportedTokens),
      predictedRate: rate(predictedTokens),
      precision: predictedTokens > 0 ? confirmedTokens / predictedTokens : null,
    },
  };
}
