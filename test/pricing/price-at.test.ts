/** Prices at an instant: the first open window's multiplier, rounded up per price. */
import { describe, expect, it } from "vitest";
import { priceAt } from "../../src/pricing/price-at";
import { pricingSchema } from "../../src/pricing/schema";

const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);

describe("priceAt", () => {
  const deepseek = pricingSchema.parse({
    input: 0.27,
    cachedInput: 0.07,
    output: 1.1,
    windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }],
  });
  const base = { input: 270_000, cachedInput: 70_000, cacheWrite: 270_000, output: 1_100_000, multiplierBp: 10_000 };
  const offPeak = { input: 135_000, cachedInput: 35_000, cacheWrite: 135_000, output: 550_000, multiplierBp: 5_000 };

  it.each([
    ["16:29, peak", at(23, 16, 29), base],
    ["16:30, off-peak opens", at(23, 16, 30), offPeak],
    ["00:29 next day, still off-peak", at(24, 0, 29), offPeak],
    ["00:30, off-peak closed", at(24, 0, 30), base],
    ["12:00", at(24, 12), base],
  ])("DeepSeek-style off-peak at %s", (_name, atMs, expected) => {
    expect(priceAt(deepseek, atMs)).toEqual(expected);
  });

  it("applies the first open window only, in config order", () => {
    const pricing = pricingSchema.parse({
      input: 1,
      output: 2,
      windows: [
        { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00", multiplier: 1.5 },
        { from: "00:00", to: "24:00", multiplier: 0.9 },
      ],
    });
    expect(priceAt(pricing, at(23, 10))).toEqual({ input: 1_500_000, cachedInput: 1_500_000, cacheWrite: 1_500_000, output: 3_000_000, multiplierBp: 15_000 });
    expect(priceAt(pricing, at(23, 18))).toEqual({ input: 900_000, cachedInput: 900_000, cacheWrite: 900_000, output: 1_800_000, multiplierBp: 9_000 });
    expect(priceAt(pricing, at(28, 10)).multiplierBp).toBe(9_000); // Saturday: the weekday surcharge does not apply
  });

  it("rounds each discounted price up, never to a cheaper fraction", () => {
    // In µ$/Mtok: 3 × 0.5 = 1.5 → 2, 1 × 0.5 = 0.5 → 1, 7 × 0.5 = 3.5 → 4.
    const pricing = pricingSchema.parse({ input: 0.000003, cachedInput: 0.000001, cacheWrite: 0.000007, output: 0, windows: [{ from: "00:00", to: "24:00", multiplier: 0.5 }] });
    expect(priceAt(pricing, 0)).toEqual({ input: 2, cachedInput: 1, cacheWrite: 4, output: 0, multiplierBp: 5_000 });
    // 1 × 0.3333 = 0.3333 → 1, 7 × 0.3333 = 2.3331 → 3.
    const third = pricingSchema.parse({ input: 0.000001, cacheWrite: 0.000007, output: 0, windows: [{ from: "00:00", to: "24:00", multiplier: 0.3333 }] });
    expect(priceAt(third, 0)).toEqual({ input: 1, cachedInput: 1, cacheWrite: 3, output: 0, multiplierBp: 3_333 });
  });

  it("reaches 5e9 µ$/Mtok at the highest price and multiplier", () => {
    const pricing = pricingSchema.parse({ input: 500, output: 500, windows: [{ from: "00:00", to: "24:00", multiplier: 10 }] });
    expect(priceAt(pricing, 0).output).toBe(5_000_000_000);
  });
});
