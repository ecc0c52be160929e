/**
 * Costs in integer µ$: rounding once at the end, cached and cache-write accounting, sanitised
 * counts, exactness at the extremes against a BigInt reference, and seeded randomized checks of
 * monotonicity and of maxAffordableOutputTokens (cost(n) ≤ remaining < cost(n + 1)).
 */
import { describe, expect, it } from "vitest";
import { costMicros, MAX_TOKENS, maxAffordableOutputTokens, type Usage } from "../../src/pricing/cost";
import type { PriceRates } from "../../src/pricing/price-at";
import { mulberry32 } from "../../src/sim/hash";

const deepseek: PriceRates = { input: 270_000, cachedInput: 70_000, cacheWrite: 270_000, output: 1_100_000 };
const sonnet: PriceRates = { input: 3_000_000, cachedInput: 300_000, cacheWrite: 3_750_000, output: 15_000_000 };

const usage = (promptTokens: number, completionTokens = 0, cachedTokens = 0, cacheWriteTokens = 0): Usage => ({
  promptTokens,
  cachedTokens,
  cacheWriteTokens,
  completionTokens,
});

/** The definition, in BigInt: ceil(Σ tokens × price / 1e6), uncached = max(0, prompt − cached − write). */
function referenceCost(p: PriceRates, u: Usage): bigint {
  const uncached = BigInt(Math.max(0, u.promptTokens - u.cachedTokens - u.cacheWriteTokens));
  const total =
    uncached * BigInt(p.input) +
    BigInt(u.cachedTokens) * BigInt(p.cachedInput) +
    BigInt(u.cacheWriteTokens) * BigInt(p.cacheWrite) +
    BigInt(u.completionTokens) * BigInt(p.output);
  return (total + 999_999n) / 1_000_000n;
}

/** Seeded draws: uniform integers, and log-uniform ones so small and huge magnitudes both occur. */
function draws(seed: number) {
  const random = mulberry32(seed);
  const int = (max: number) => Math.floor(random() * (max + 1));
  const logInt = (max: number) => Math.min(max, Math.floor(Math.exp(random() * Math.log(max + 1))) - 1);
  const price = () => (random() < 0.1 ? 0 : random() < 0.5 ? logInt(5_000_000_000) : int(5_000_000_000));
  return { random, int, logInt, price };
}

describe("costMicros", () => {
  it.each<[string, PriceRates, Usage, number]>([
    ["nothing", deepseek, usage(0), 0],
    ["1 token at 0.27 USD/Mtok: ceil(0.27)", deepseek, usage(1), 1],
    ["3 tokens: ceil(0.81)", deepseek, usage(3), 1],
    ["4 tokens: ceil(1.08)", deepseek, usage(4), 2],
    ["a million tokens", deepseek, usage(1_000_000), 270_000],
    ["1 in + 1 out rounds once: ceil(0.27 + 1.1)", deepseek, usage(1, 1), 2],
    ["1 in + 1 out at 0.27 each: ceil(0.54), not 1 + 1", { ...deepseek, output: 270_000 }, usage(1, 1), 1],
    ["800 of 1000 cached: 200 × 0.27 + 800 × 0.07", deepseek, usage(1000, 0, 800), 110],
    ["with output: + 100 × 1.1", deepseek, usage(1000, 100, 800), 220],
    // 1000 × 3 + 6000 × 0.3 + 3000 × 3.75 + 500 × 15 = 3000 + 1800 + 11250 + 7500
    ["cache reads and writes, Anthropic-style", sonnet, usage(10_000, 500, 6_000, 3_000), 23_550],
    // cached + written exceed prompt: no negative uncached refund. 80 × 0.07 + 50 × 0.27 = 19.1
    ["cached + written over the prompt", deepseek, usage(100, 0, 80, 50), 20],
    ["free", { input: 0, cachedInput: 0, cacheWrite: 0, output: 0 }, usage(1_000_000, 1_000_000), 0],
  ])("%s", (_name, prices, u, expected) => {
    expect(costMicros(prices, u)).toBe(expected);
  });

  it.each<[string, Usage, Usage]>([
    ["negative counts as 0", usage(-5, -1, -3, -2), usage(0)],
    ["fractions round down", usage(1000.9, 10.5, 800.2, 0.7), usage(1000, 10, 800)],
    ["NaN counts as 0", usage(NaN, 7, NaN, NaN), usage(0, 7)],
    ["Infinity is clamped", usage(Infinity), usage(MAX_TOKENS)],
  ])("sanitises counts: %s", (_name, dirty, clean) => {
    expect(costMicros(sonnet, dirty)).toBe(costMicros(sonnet, clean));
  });

  it("is exact at the extremes: 1e9 tokens of each kind at ~5e9 µ$/Mtok", () => {
    const p: PriceRates = { input: 4_999_999_999, cachedInput: 4_999_999_997, cacheWrite: 4_999_999_999, output: 4_999_999_999 };
    const u = usage(3 * MAX_TOKENS, MAX_TOKENS - 1, MAX_TOKENS - 3, MAX_TOKENS - 7);
    const clamped = usage(MAX_TOKENS, MAX_TOKENS - 1, MAX_TOKENS - 3, MAX_TOKENS - 7);
    expect(BigInt(costMicros(p, u))).toBe(referenceCost(p, clamped));
  });

  it("equals the BigInt definition and never decreases when a count grows (2,000 seeded cases)", () => {
    const { random, int, logInt, price } = draws(7);
    let monotonic = 0;
    for (let i = 0; i < 2000; i++) {
      const p: PriceRates = { input: price(), cachedInput: price(), cacheWrite: price(), output: price() };
      const prompt = logInt(MAX_TOKENS);
      // Mostly OpenAI's invariant (cached + written ≤ prompt); sometimes an origin breaking it.
      const cached = random() < 0.8 ? int(prompt) : logInt(MAX_TOKENS);
      const written = random() < 0.8 ? int(Math.max(0, prompt - cached)) : logInt(MAX_TOKENS);
      const u = usage(prompt, logInt(MAX_TOKENS), cached, written);
      const cost = costMicros(p, u);
      expect(BigInt(cost), JSON.stringify({ p, u })).toBe(referenceCost(p, u));
      // Grow one count: the cost must not fall (cached and written tokens stay within the prompt).
      const grown = { ...u };
      const more = logInt(1_000_000);
      const field = (["promptTokens", "completionTokens", "cachedTokens", "cacheWriteTokens"] as const)[Math.floor(random() * 4)]!;
      grown[field] = Math.min(MAX_TOKENS, grown[field] + more);
      if (field !== "promptTokens" && field !== "completionTokens") grown.promptTokens = Math.min(MAX_TOKENS, grown.promptTokens + more);
      if (grown.cachedTokens + grown.cacheWriteTokens > grown.promptTokens) continue; // outside OpenAI's invariant
      expect(costMicros(p, grown), JSON.stringify({ p, u, grown })).toBeGreaterThanOrEqual(cost);
      monotonic++;
    }
    expect(monotonic).toBeGreaterThan(1000);
  });
});

describe("maxAffordableOutputTokens", () => {
  it.each<[string, PriceRates, number, number, number]>([
    // 1000 × 0.27 = 270 µ$ of prompt; 730 µ$ / 1.1 = 663.6 → 663 (cost 999.3 → 1000; 664 would be 1001).
    ["the example", deepseek, 1000, 1000, 663],
    ["the prompt exactly fits", deepseek, 1000, 270, 0],
    ["the prompt does not fit", deepseek, 1000, 269, -1],
    ["rounding up gives a free fraction: 1 token at 0.27 costs 1", deepseek, 1, 1, 0],
    ["an empty budget and a free prompt", { ...deepseek, input: 0 }, 1000, 0, 0],
    ["a negative remainder", deepseek, 0, -1, -1],
    ["a fractional budget counts as its floor", deepseek, 1000, 1000.99, 663],
    ["NaN affords nothing", deepseek, 0, NaN, -1],
    ["an unlimited budget", deepseek, 1000, Infinity, Infinity],
    ["free output once the prompt fits", { ...deepseek, output: 0 }, 1000, 270, Infinity],
    ["free output, prompt too dear", { ...deepseek, output: 0 }, 1000, 269, -1],
    ["a huge budget is capped at MAX_TOKENS", deepseek, 0, 9e15, MAX_TOKENS],
  ])("%s", (_name, prices, prompt, remaining, expected) => {
    expect(maxAffordableOutputTokens(prices, prompt, remaining)).toBe(expected);
  });

  it("stays exact where remaining × 1e6 passes 2^53", () => {
    // 10 billion µ$ (10,000 USD) left, a 1e9-token prompt at 9.99 USD/Mtok: doubles would round here.
    const p: PriceRates = { input: 9_990_001, cachedInput: 0, cacheWrite: 0, output: 4_999_999_999 };
    const remaining = 10_000_000_123;
    const n = maxAffordableOutputTokens(p, MAX_TOKENS, remaining);
    expect(n).toBe(Number((BigInt(remaining) * 1_000_000n - BigInt(MAX_TOKENS) * 9_990_001n) / 4_999_999_999n));
    expect(costMicros(p, usage(MAX_TOKENS, n))).toBeLessThanOrEqual(remaining);
    expect(costMicros(p, usage(MAX_TOKENS, n + 1))).toBeGreaterThan(remaining);
  });

  it("returns the largest n with cost(n) ≤ remaining < cost(n + 1) (2,000 seeded cases)", () => {
    const { random, int, logInt, price } = draws(11);
    const seen = { refused: 0, tight: 0, capped: 0 };
    for (let i = 0; i < 2000; i++) {
      const p: PriceRates = { input: price(), cachedInput: 0, cacheWrite: 0, output: Math.max(1, price()) };
      const prompt = logInt(10_000_000);
      const promptCost = costMicros(p, usage(prompt));
      // Budgets around the prompt's own cost, up to far past it; some below it.
      const remaining = random() < 0.1 ? promptCost - 1 - int(10) : promptCost + logInt(1e12);
      const n = maxAffordableOutputTokens(p, prompt, remaining);
      const what = JSON.stringify({ p, prompt, remaining, n });
      if (n === -1) {
        expect(promptCost, what).toBeGreaterThan(remaining);
        seen.refused++;
        continue;
      }
      expect(Number.isInteger(n) && n >= 0, what).toBe(true);
      expect(costMicros(p, usage(prompt, n)), what).toBeLessThanOrEqual(remaining);
      if (n === MAX_TOKENS) {
        seen.capped++;
        continue;
      }
      expect(costMicros(p, usage(prompt, n + 1)), what).toBeGreaterThan(remaining);
      seen.tight++;
    }
    expect(seen.tight).toBeGreaterThan(1200);
    expect(seen.refused).toBeGreaterThan(100);
    expect(seen.capped).toBeGreaterThan(10);
  });
});
