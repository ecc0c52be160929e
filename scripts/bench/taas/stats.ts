/** Small statistics the report needs: quantiles, mean, coefficient of variation, hourly buckets. */
import { HOUR_MS } from "./trace";

/** Nearest-rank quantile of values (sorted here). */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Standard deviation over mean (population), or null for fewer than two values. */
export function cv(values: readonly number[]): number | null {
  const m = mean(values);
  if (m === null || values.length < 2 || m <= 0) return null;
  const variance = values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length;
  return Math.sqrt(variance) / m;
}

/** The hour (0-23) of a virtual offset from the day's start; clamped into the day. */
export function hourOf(offsetMs: number): number {
  return Math.min(23, Math.max(0, Math.floor(offsetMs / HOUR_MS)));
}

/** 24 zeros. */
export const hours = (): number[] => Array.from({ length: 24 }, () => 0);

export const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);
