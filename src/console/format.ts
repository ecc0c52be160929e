/** How the console writes numbers, money and times (pure; `en-US` grouping, UTC times). */

/**
 * Micro-dollars as dollars: 2 decimals from a dollar up (and for nothing), 4 from a cent, every
 * micro-dollar below that (a request on a cheap pool costs a few µ$: `$0.000021`, never `$0.0000`).
 */
export function usd(micros: number): string {
  const dollars = micros / 1_000_000;
  const abs = Math.abs(dollars);
  const digits = abs === 0 || abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  return `$${dollars.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

/** The last `days` days up to `now`, as `YYYY-MM-DD` (UTC), oldest first. */
export function lastDays(now: number, days: number): string[] {
  return Array.from({ length: days }, (_, i) => new Date(now - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A share (0..1) as a percentage with one decimal. */
export function pct(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

export function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** An instant as `2026-04-26 14:03:12 UTC`. */
export function time(at: number | null): string {
  if (at === null) return "—";
  return `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** How long ago `at` was, from `now`: `42 s ago`, `3 min ago`, `5 h ago`, `2 d ago`. */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export type NumberFormat = "int" | "usd" | "pct" | "ms" | "ratio";

export function formatNumber(value: number, format: NumberFormat): string {
  switch (format) {
    case "int":
      return int(value);
    case "usd":
      return usd(value);
    case "pct":
      return pct(value);
    case "ms":
      return ms(value);
    case "ratio":
      return value.toFixed(2);
  }
}

/**
 * TTFT percentiles estimated from an EWMA's mean and variance, assuming a log-normal distribution
 * (latencies are skewed right): σ² = ln(1 + v/m²), μ = ln m − σ²/2, p = exp(μ + zσ). The monitors
 * keep moments, not quantiles; the console labels these as estimates.
 */
export function lognormalQuantiles(mean: number, variance: number): { p50: number; p90: number } | null {
  if (!(mean > 0) || !(variance >= 0)) return null;
  const s2 = Math.log(1 + variance / (mean * mean));
  const mu = Math.log(mean) - s2 / 2;
  const s = Math.sqrt(s2);
  return { p50: Math.exp(mu), p90: Math.exp(mu + 1.2815515655446004 * s) };
}
