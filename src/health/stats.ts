/**
 * Statistics of an origin's health, as pure functions of samples and instants: an exponentially
 * weighted moving average with its variance, the coefficient of variation, and an hour-of-day
 * profile. Everything is plain data (JSON round-trips unchanged), so the OriginMonitor stores it as
 * is and the router's scorer reads it without a class in between.
 */
import { localTime } from "../time/local-time";

/** The weight of the newest sample when none is configured: about the last 10-20 samples matter. */
export const DEFAULT_ALPHA = 0.1;

/** An exponentially weighted mean and variance, and how many samples went into them. */
export interface Ewma {
  mean: number;
  variance: number;
  samples: number;
}

/**
 * Folds one sample into an EWMA, or starts one (mean = x, variance = 0) from null. West's
 * incremental form as given by Finch, "Incremental calculation of weighted mean and variance"
 * (University of Cambridge, 2009), §9, with α the newest sample's weight:
 *
 *   diff     = x − mean
 *   incr     = α · diff
 *   mean'    = mean + incr
 *   variance' = (1 − α) · (variance + diff · incr)
 *
 * One pass, O(1) state, and the variance stays ≥ 0 whatever the order of samples.
 * @example
 * updateEwma(updateEwma(null, 4, 0.5), 8, 0.5) // { mean: 6, variance: 4, samples: 2 }
 */
export function updateEwma(previous: Ewma | null, x: number, alpha: number = DEFAULT_ALPHA): Ewma {
  if (previous === null) return { mean: x, variance: 0, samples: 1 };
  const diff = x - previous.mean;
  const incr = alpha * diff;
  return {
    mean: previous.mean + incr,
    variance: (1 - alpha) * (previous.variance + diff * incr),
    samples: previous.samples + 1,
  };
}

/**
 * The coefficient of variation, √variance / mean: spread relative to size, so a 2 s ± 0.2 s origin
 * and a 200 ms ± 20 ms one are equally steady. Null when it means nothing: a mean that is not
 * positive (error rates of 0, say) or a value that is not finite.
 * @example
 * coefficientOfVariation({ mean: 200, variance: 400 }) // 0.1
 * coefficientOfVariation({ mean: 0, variance: 0 })     // null
 */
export function coefficientOfVariation(e: { mean: number; variance: number }): number | null {
  if (!(e.mean > 0) || !Number.isFinite(e.mean) || !Number.isFinite(e.variance)) return null;
  const cv = Math.sqrt(Math.max(0, e.variance)) / e.mean;
  return Number.isFinite(cv) ? cv : null;
}

/** 24 buckets, index = hour of day (0-23) in the profile's time zone; null until a sample lands. */
export type HourlyProfile = Array<Ewma | null>;

/** A profile with no samples. */
export function emptyHourlyProfile(): HourlyProfile {
  return Array.from({ length: 24 }, () => null);
}

/**
 * The hour of day (0-23) of an instant in an IANA time zone. UTC is computed directly; other zones
 * go through {@link localTime} (ICU), so half- and quarter-hour zones fall in the right bucket.
 * @example
 * hourOfDay(Date.UTC(2026, 10, 23, 12, 34), "UTC")            // 12
 * hourOfDay(Date.UTC(2026, 10, 23, 12, 34), "Asia/Kathmandu") // 18 (18:19, UTC+05:45)
 */
export function hourOfDay(atMs: number, timeZone = "UTC"): number {
  if (timeZone === "UTC") return new Date(atMs).getUTCHours();
  return Math.floor(localTime(atMs, timeZone).minuteOfDay / 60);
}

/**
 * Folds a sample taken at `atMs` into its hour's bucket; the other buckets are shared, not copied.
 * @example
 * const p = recordHourly(emptyHourlyProfile(), Date.UTC(2026, 0, 1, 9, 30), 250);
 * p[9] // { mean: 250, variance: 0, samples: 1 }
 */
export function recordHourly(
  profile: HourlyProfile,
  atMs: number,
  x: number,
  options: { alpha?: number; timeZone?: string } = {},
): HourlyProfile {
  const hour = hourOfDay(atMs, options.timeZone);
  const next = profile.slice();
  next[hour] = updateEwma(profile[hour] ?? null, x, options.alpha ?? DEFAULT_ALPHA);
  return next;
}
