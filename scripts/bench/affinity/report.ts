/**
 * From the replies of one replay to the numbers the benchmark reports, and from those to the
 * Markdown table, the target checks and the chart.
 */
import { costMicros } from "../../../src/pricing/cost";
import type { PriceRates } from "../../../src/pricing/price-at";
import { renderPanels, type BarPanel, type Rgb } from "./chart";
import type { RequestResult } from "./driver";
import type { ModelResult } from "./model";

export interface PolicySummary {
  policy: string;
  requests: number;
  ok: number;
  errors: number;
  /** Up to 5 distinct error messages with their counts. */
  errorSamples: { message: string; count: number }[];
  promptTokens: number;
  cachedTokens: number;
  /** Σ cached / Σ prompt over the answered requests. */
  hitRate: number;
  ttftP50: number;
  ttftP90: number;
  ttftP99: number;
  /** TTFT p90 by `service_tier`. */
  ttftP90ByTier: Record<string, number>;
  /** Integer µ$ per 1,000 answered requests (each request priced as the router does, rounded up). */
  costMicrosPer1k: number;
  /** Answered requests per origin (`x-router-origin`), every configured origin listed. */
  perOrigin: Record<string, number>;
  /** max / mean of `perOrigin`. */
  imbalance: number;
  /** `x-router-affinity` values seen (the header's first token), with counts. */
  affinityHeader: Record<string, number>;
  /** How late requests were sent (driver lag), ms. */
  lagP99Ms: number;
  lagMaxMs: number;
  maxInFlight: number;
  wallSeconds: number;
  /** `GET /_sim/stats` after the replay, when the simulator has it. */
  simStats: unknown;
  /** The router's calls to tenants' ledgers during the replay, per request (its own count); null when unread. */
  ledgerCallsPerRequest: number | null;
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const sortedOf = (values: number[]) => values.sort((a, b) => a - b);

export function summarize(
  policy: string,
  results: readonly RequestResult[],
  origins: readonly string[],
  prices: ReadonlyMap<string, PriceRates>,
  extra: { wallMs: number; maxInFlight: number; simStats: unknown; ledgerCalls?: number | null },
): PolicySummary {
  const ok = results.filter((r) => r.error === null);
  let prompt = 0;
  let cached = 0;
  let cost = 0;
  const perOrigin: Record<string, number> = Object.fromEntries(origins.map((o) => [o, 0]));
  const affinityHeader: Record<string, number> = {};
  const byTier = new Map<string, number[]>();
  for (const r of ok) {
    prompt += r.promptTokens ?? 0;
    cached += r.cachedTokens ?? 0;
    const price = r.origin ? prices.get(r.origin) : undefined;
    if (price) {
      cost += costMicros(price, {
        promptTokens: r.promptTokens ?? 0,
        cachedTokens: r.cachedTokens ?? 0,
        cacheWriteTokens: 0,
        completionTokens: r.completionTokens ?? 0,
      });
    }
    if (r.origin) perOrigin[r.origin] = (perOrigin[r.origin] ?? 0) + 1;
    if (r.affinity) {
      const kind = r.affinity.split(/[;,\s]/)[0] ?? r.affinity;
      affinityHeader[kind] = (affinityHeader[kind] ?? 0) + 1;
    }
    if (r.ttftMs !== null) byTier.set(r.tier, [...(byTier.get(r.tier) ?? []), r.ttftMs]);
  }
  const ttfts = sortedOf(ok.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs])));
  const counts = Object.values(perOrigin);
  const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
  const errors = new Map<string, number>();
  for (const r of results) if (r.error) errors.set(r.error, (errors.get(r.error) ?? 0) + 1);
  const lags = sortedOf(results.map((r) => r.lagMs));
  return {
    policy,
    requests: results.length,
    ok: ok.length,
    errors: results.length - ok.length,
    errorSamples: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([message, count]) => ({ message, count })),
    promptTokens: prompt,
    cachedTokens: cached,
    hitRate: prompt > 0 ? cached / prompt : 0,
    ttftP50: quantile(ttfts, 0.5),
    ttftP90: quantile(ttfts, 0.9),
    ttftP99: quantile(ttfts, 0.99),
    ttftP90ByTier: Object.fromEntries([...byTier].map(([tier, v]) => [tier, Math.round(quantile(sortedOf(v), 0.9))])),
    // Integer arithmetic: Σ of integer µ$ × 1000, one rounding (up) at the end.
    costMicrosPer1k: ok.length > 0 ? Math.ceil((cost * 1000) / ok.length) : 0,
    perOrigin,
    imbalance: mean > 0 ? Math.max(...counts) / mean : 0,
    affinityHeader,
    lagP99Ms: Math.round(quantile(lags, 0.99)),
    lagMaxMs: Math.round(lags.at(-1) ?? 0),
    maxInFlight: extra.maxInFlight,
    wallSeconds: Math.round(extra.wallMs / 100) / 10,
    simStats: extra.simStats,
    ledgerCallsPerRequest: extra.ledgerCalls == null || results.length === 0 ? null : extra.ledgerCalls / results.length,
  };
}

export interface TargetCheck {
  name: string;
  pass: boolean;
  detail: string;
}

/** The benchmark's targets: affinity against round-robin, the ideal and the load bound. */
export function targetChecks(summaries: readonly PolicySummary[], idealRate: number, epsilon: number): TargetCheck[] {
  const rr = summaries.find((s) => s.policy === "round-robin");
  const aff = summaries.find((s) => s.policy === "affinity");
  if (!aff) return [];
  const checks: TargetCheck[] = [];
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  if (rr) {
    const ratio = rr.hitRate > 0 ? aff.hitRate / rr.hitRate : Infinity;
    checks.push({ name: "affinity hit rate ≥ 3× round-robin", pass: ratio >= 3, detail: `${pct(aff.hitRate)} vs ${pct(rr.hitRate)}: ${ratio.toFixed(2)}×` });
  }
  const ofIdeal = idealRate > 0 ? aff.hitRate / idealRate : 0;
  checks.push({ name: "affinity hit rate ≥ 80 % of ideal", pass: ofIdeal >= 0.8, detail: `${pct(aff.hitRate)} vs ideal ${pct(idealRate)}: ${pct(ofIdeal)}` });
  if (rr) {
    const ratio = aff.ttftP90 > 0 ? rr.ttftP90 / aff.ttftP90 : Infinity;
    checks.push({ name: "affinity TTFT p90 ≥ 3× lower than round-robin", pass: ratio >= 3, detail: `${aff.ttftP90.toFixed(0)} ms vs ${rr.ttftP90.toFixed(0)} ms: ${ratio.toFixed(2)}×` });
  }
  checks.push({
    name: `max origin load ≤ (1+ε)× mean (ε = ${epsilon})`,
    pass: aff.imbalance <= 1 + epsilon + 1e-9,
    detail: `${aff.imbalance.toFixed(2)}× (${Object.values(aff.perOrigin).join(" / ")})`,
  });
  return checks;
}

export const usd = (micros: number) => `$${(micros / 1_000_000).toFixed(2)}`;

export function markdownTable(summaries: readonly PolicySummary[], idealRate: number): string {
  const lines = [
    "| policy | cache hit | of ideal | TTFT p50 | TTFT p90 | TTFT p99 | cost / 1k req | load max/mean | requests per origin | ledger calls / req | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.policy} | ${(s.hitRate * 100).toFixed(1)} % | ${idealRate > 0 ? ((s.hitRate / idealRate) * 100).toFixed(0) : "–"} % | ` +
        `${s.ttftP50.toFixed(0)} ms | ${s.ttftP90.toFixed(0)} ms | ${s.ttftP99.toFixed(0)} ms | ${usd(s.costMicrosPer1k)} | ` +
        `${s.imbalance.toFixed(2)} | ${Object.values(s.perOrigin).join(" / ")} | ${s.ledgerCallsPerRequest === null ? "–" : s.ledgerCallsPerRequest.toFixed(3)} | ${s.errors} |`,
    );
  }
  lines.push(`| ideal (one unbounded cache) | ${(idealRate * 100).toFixed(1)} % | 100 % | | | | | | | | |`);
  return lines.join("\n");
}

export function modelTable(models: readonly ModelResult[]): string {
  const lines = ["| policy (offline model) | cache hit | TTFT p50 | TTFT p90 | TTFT p99 | load max/mean |", "| --- | ---: | ---: | ---: | ---: | ---: |"];
  for (const m of models) {
    lines.push(
      `| ${m.policy} | ${(m.hitRate * 100).toFixed(1)} % | ${m.ttftP50.toFixed(0)} ms | ${m.ttftP90.toFixed(0)} ms | ${m.ttftP99.toFixed(0)} ms | ${m.imbalance.toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

const POLICY_COLORS: Record<string, Rgb> = {
  "round-robin": [214, 96, 77],
  "least-loaded": [230, 160, 60],
  "session-hash": [110, 150, 200],
  affinity: [60, 140, 90],
};
const colorOf = (policy: string): Rgb => POLICY_COLORS[policy] ?? [140, 140, 140];

/** The four panels: hit rate (with the ideal), TTFT p50/p90/p99, cost per 1k requests, load imbalance (with 1+ε). */
export function chartPng(title: string, summaries: readonly PolicySummary[], idealRate: number, epsilon: number): Buffer {
  const groups = summaries.map((s) => s.policy);
  const groupColors = summaries.map((s) => colorOf(s.policy));
  const panels: BarPanel[] = [
    {
      title: "CACHE HIT RATE (TOKENS)",
      groups,
      groupColors,
      series: [{ name: "hit", color: [60, 140, 90], values: summaries.map((s) => s.hitRate * 100) }],
      format: (v) => `${v.toFixed(0)}%`,
      axisMax: 100,
      refs: [{ value: idealRate * 100, label: `IDEAL ${(idealRate * 100).toFixed(0)}%`, color: [90, 90, 90] }],
    },
    {
      title: "TTFT (MS)",
      groups,
      series: [
        { name: "P50", color: [150, 190, 225], values: summaries.map((s) => s.ttftP50) },
        { name: "P90", color: [70, 120, 190], values: summaries.map((s) => s.ttftP90) },
        { name: "P99", color: [30, 50, 110], values: summaries.map((s) => s.ttftP99) },
      ],
      format: (v) => v.toFixed(0),
    },
    {
      title: "COST PER 1,000 REQUESTS",
      groups,
      groupColors,
      series: [{ name: "cost", color: [120, 120, 120], values: summaries.map((s) => s.costMicrosPer1k / 1_000_000) }],
      format: (v) => `$${v.toFixed(2)}`,
    },
    {
      title: "LOAD IMBALANCE (MAX/MEAN REQUESTS)",
      groups,
      groupColors,
      series: [{ name: "imbalance", color: [120, 120, 120], values: summaries.map((s) => s.imbalance) }],
      format: (v) => v.toFixed(2),
      refs: [{ value: 1 + epsilon, label: `1+ε = ${(1 + epsilon).toFixed(2)}`, color: [200, 60, 60] }],
    },
  ];
  return renderPanels(title, panels);
}
