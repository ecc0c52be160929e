/**
 * The pure statistics of origin health: EWMA and variance against hand computations of Finch's
 * recurrence, the coefficient of variation's guards, and hour-of-day buckets in time zones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  coefficientOfVariation,
  emptyHourlyProfile,
  hourOfDay,
  recordHourly,
  updateEwma,
  type Ewma,
} from "../../src/health/stats";

const fold = (xs: number[], alpha?: number): Ewma => xs.reduce<Ewma | null>((e, x) => updateEwma(e, x, alpha), null)!;

describe("updateEwma (Finch 2009, §9)", () => {
  // By hand, with diff = x − mean, incr = α·diff, mean' = mean + incr, var' = (1 − α)(var + diff·incr):
  it.each<[string, number[], number | undefined, Ewma]>([
    ["one sample starts the mean, variance 0", [42], 0.1, { mean: 42, variance: 0, samples: 1 }],
    // 4 → (4, 0); 8: diff 4, incr 2 → (6, 0.5·8 = 4); 2: diff −4, incr −2 → (4, 0.5·(4 + 8) = 6)
    ["α = 0.5: 4, 8, 2", [4, 8, 2], 0.5, { mean: 4, variance: 6, samples: 3 }],
    // 100 → (100, 0); 200: diff 100, incr 10 → (110, 0.9·1000 = 900); 100: diff −10, incr −1 → (109, 0.9·910 = 819)
    ["α = 0.1: 100, 200, 100", [100, 200, 100], 0.1, { mean: 109, variance: 819, samples: 3 }],
    // default α = 0.1: 100 → (100, 0); 120: diff 20, incr 2 → (102, 0.9·40 = 36)
    ["default α: 100, 120", [100, 120], undefined, { mean: 102, variance: 36, samples: 2 }],
    ["constant samples have no variance", [10, 10, 10], 0.25, { mean: 10, variance: 0, samples: 3 }],
    ["α = 1 keeps only the last sample", [3, 7], 1, { mean: 7, variance: 0, samples: 2 }],
  ])("%s", (_, xs, alpha, expected) => {
    const e = fold(xs, alpha);
    expect(e.samples).toBe(expected.samples);
    expect(e.mean).toBeCloseTo(expected.mean, 10);
    expect(e.variance).toBeCloseTo(expected.variance, 10);
  });

  it("keeps the mean within the samples' range and the variance non-negative", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        (xs, alpha) => {
          const e = fold(xs, alpha);
          const eps = 1e-6 * Math.max(1, ...xs);
          expect(e.mean).toBeGreaterThanOrEqual(Math.min(...xs) - eps);
          expect(e.mean).toBeLessThanOrEqual(Math.max(...xs) + eps);
          expect(e.variance).toBeGreaterThanOrEqual(-eps);
        },
      ),
    );
  });
});

describe("coefficientOfVariation", () => {
  it.each<[string, { mean: number; variance: number }, number | null]>([
    ["√400 / 200", { mean: 200, variance: 400 }, 0.1],
    ["√819 / 109", { mean: 109, variance: 819 }, Math.sqrt(819) / 109],
    ["no spread", { mean: 10, variance: 0 }, 0],
    ["zero mean", { mean: 0, variance: 0 }, null],
    ["negative mean", { mean: -5, variance: 1 }, null],
    ["NaN mean", { mean: Number.NaN, variance: 1 }, null],
    ["infinite variance", { mean: 1, variance: Number.POSITIVE_INFINITY }, null],
    ["a rounding-negative variance counts as 0", { mean: 10, variance: -1e-12 }, 0],
  ])("%s", (_, e, expected) => {
    const cv = coefficientOfVariation(e);
    if (expected === null) expect(cv).toBeNull();
    else expect(cv).toBeCloseTo(expected, 12);
  });
});

describe("hour-of-day profile", () => {
  it.each<[string, number, string | undefined, number]>([
    ["UTC 12:34", Date.UTC(2026, 10, 23, 12, 34), undefined, 12],
    ["UTC midnight", Date.UTC(2026, 10, 23, 0, 0), "UTC", 0],
    ["UTC 23:59:59.999", Date.UTC(2026, 10, 23, 23, 59, 59, 999), "UTC", 23],
    ["Kathmandu (UTC+05:45) 18:19", Date.UTC(2026, 10, 23, 12, 34), "Asia/Kathmandu", 18],
    ["Kathmandu 17:59", Date.UTC(2026, 10, 23, 12, 14), "Asia/Kathmandu", 17],
    ["Kolkata (UTC+05:30) 23:59", Date.UTC(2026, 10, 23, 18, 29), "Asia/Kolkata", 23],
    ["Kolkata 00:00 the next day", Date.UTC(2026, 10, 23, 18, 30), "Asia/Kolkata", 0],
    ["New York in winter (UTC−5) 22:30 the day before", Date.UTC(2026, 10, 23, 3, 30), "America/New_York", 22],
    ["New York in summer (UTC−4) 23:30 the day before", Date.UTC(2026, 6, 1, 3, 30), "America/New_York", 23],
  ])("%s", (_, at, timeZone, hour) => {
    expect(hourOfDay(at, timeZone)).toBe(hour);
  });

  it("folds each sample into its hour's bucket and leaves the others and the input alone", () => {
    const empty = emptyHourlyProfile();
    let p = recordHourly(empty, Date.UTC(2026, 0, 5, 9, 5), 100, { alpha: 0.5 });
    p = recordHourly(p, Date.UTC(2026, 0, 6, 9, 55), 300, { alpha: 0.5 }); // another day, same hour
    p = recordHourly(p, Date.UTC(2026, 0, 5, 10, 0), 200, { alpha: 0.5 });
    expect(empty).toEqual(Array(24).fill(null));
    expect(p[9]).toEqual({ mean: 200, variance: 10_000, samples: 2 });
    expect(p[10]).toEqual({ mean: 200, variance: 0, samples: 1 });
    expect(p.filter((b) => b !== null)).toHaveLength(2);
    // 09:05 UTC is 14:50 in Kathmandu.
    const k = recordHourly(empty, Date.UTC(2026, 0, 5, 9, 5), 100, { timeZone: "Asia/Kathmandu" });
    expect(k.findIndex((b) => b !== null)).toBe(14);
  });
});
