/**
 * Prices in config: USD per million tokens in, integer µ$ per million tokens and basis points out;
 * refusals name the zod path of the offending field.
 */
import { describe, expect, it } from "vitest";
import { pricingSchema } from "../../src/pricing/schema";

const ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

describe("pricingSchema", () => {
  it("converts a DeepSeek-style price list with an off-peak window", () => {
    expect(
      pricingSchema.parse({ input: 0.27, cachedInput: 0.07, output: 1.1, windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }] }),
    ).toEqual({
      input: 270_000,
      cachedInput: 70_000,
      cacheWrite: 270_000,
      output: 1_100_000,
      windows: [{ days: ALL_DAYS, from: "16:30", to: "00:30", timeZone: "UTC", multiplierBp: 5_000 }],
    });
  });

  it("defaults cachedInput and cacheWrite to input, windows to none", () => {
    expect(pricingSchema.parse({ input: 3, output: 15 })).toEqual({
      input: 3_000_000,
      cachedInput: 3_000_000,
      cacheWrite: 3_000_000,
      output: 15_000_000,
      windows: [],
    });
  });

  it.each([
    ["0.3 (not exact in binary)", 0.3, 300_000],
    ["0.07", 0.07, 70_000],
    ["1.1", 1.1, 1_100_000],
    ["half a µ$/Mtok rounds up", 0.0000005, 1],
    ["below half a µ$/Mtok rounds to 0", 0.0000004, 0],
    ["the cap", 500, 500_000_000],
    ["free", 0, 0],
  ])("rounds %s USD/Mtok to the nearest µ$/Mtok", (_name, usd, micros) => {
    expect(pricingSchema.parse({ input: usd, output: 0 }).input).toBe(micros);
  });

  it.each([
    [0.5, 5_000],
    [1.5, 15_000],
    [0.33333, 3_333],
    [0.0001, 1],
    [10, 100_000],
  ])("turns multiplier %s into %s bp", (multiplier, bp) => {
    const pricing = pricingSchema.parse({ input: 1, output: 1, windows: [{ from: "00:00", to: "24:00", multiplier }] });
    expect(pricing.windows[0]!.multiplierBp).toBe(bp);
  });

  it.each<[string, Record<string, unknown>, (string | number)[]]>([
    ["a negative price", { input: -1, output: 1 }, ["input"]],
    ["a price over 500 USD/Mtok", { input: 1, output: 500.01 }, ["output"]],
    ["a price as a string", { input: "1", output: 1 }, ["input"]],
    ["an infinite price", { input: 1, output: Infinity }, ["output"]],
    ["NaN", { input: 1, output: 1, cachedInput: NaN }, ["cachedInput"]],
    ["a missing output price", { input: 1 }, ["output"]],
    ["a negative cache-write price", { input: 1, output: 1, cacheWrite: -0.1 }, ["cacheWrite"]],
    ["an unknown field", { input: 1, output: 1, currency: "EUR" }, []],
    ["a zero multiplier", { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00", multiplier: 0 }] }, ["windows", 0, "multiplier"]],
    ["a multiplier rounding to 0 bp", { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00", multiplier: 0.00004 }] }, ["windows", 0, "multiplier"]],
    ["a multiplier over 10", { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00", multiplier: 10.5 }] }, ["windows", 0, "multiplier"]],
    ["a missing multiplier", { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00" }] }, ["windows", 0, "multiplier"]],
    [
      "an empty second window",
      { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00", multiplier: 2 }, { from: "05:00", to: "05:00", multiplier: 2 }] },
      ["windows", 1, "to"],
    ],
    ["a window in an unknown zone", { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00", multiplier: 2, timeZone: "Asia/Nowhere" }] }, ["windows", 0, "timeZone"]],
    ["an unknown window field", { input: 1, output: 1, windows: [{ from: "00:00", to: "01:00", multiplier: 2, price: 3 }] }, ["windows", 0]],
  ])("refuses %s", (_name, input, path) => {
    const result = pricingSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(path);
  });
});
