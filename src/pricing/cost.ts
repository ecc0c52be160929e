/**
 * What a request costs, in integer micro-dollars (µ$), and how many output tokens a budget affords.
 *
 * EXACTNESS. Prices are integers of µ$ per million tokens, at most 5e8 (500 USD/Mtok, the schema's
 * cap) times a window multiplier of at most 10: p ≤ 5e9. Token counts are clamped to
 * {@link MAX_TOKENS} = 1e9, far past any context window. A plain `t × p` could reach 5e18 > 2^53,
 * so each price is split into whole dollars and the rest, p = hi × 1e6 + lo (hi ≤ 5,000,
 * lo < 1e6):
 *
 *   Σ t·p / 1e6 = Σ t·hi + (Σ t·lo) / 1e6,  with Σ t·hi ≤ 4 × 1e9 × 5e3 = 2e13
 *                                           and   Σ t·lo < 4 × 1e9 × 1e6 = 4e15 < 2^53 ≈ 9.007e15,
 *
 * so every intermediate is an integer held exactly in a double. (With the typical bound of 1e7
 * tokens per request and undiscounted prices ≤ 5e8, even the unsplit products stay ≤ 5e15.)
 * The budget side uses BigInt: remaining µ$ × 1e6 exceeds 2^53 once a budget passes 9 billion µ$.
 */
import type { PriceRates } from "./price-at";
import { MICROS_PER_USD } from "./schema";

/** Token counts of one request as the origin reports them (OpenAI's `usage`). */
export interface Usage {
  /** All prompt tokens, cached and cache-write tokens INCLUDED (OpenAI's `prompt_tokens`). */
  promptTokens: number;
  /** Prompt tokens served from the origin's cache (OpenAI's `prompt_tokens_details.cached_tokens`). */
  cachedTokens: number;
  /** Prompt tokens written to the origin's cache, for providers that bill writes separately. */
  cacheWriteTokens: number;
  completionTokens: number;
}

/** The largest token count the cost arithmetic prices exactly; larger counts are clamped to it. */
export const MAX_TOKENS = 1_000_000_000;

/** Prices are per million tokens. */
const PER = MICROS_PER_USD;

/**
 * A reported token count made safe for the arithmetic: a non-negative integer ≤ {@link MAX_TOKENS}.
 * Negative and NaN count as 0 (an origin's garbage must not refund the tenant); fractions round
 * down (a count is an integer; an origin reporting 1.5 is broken, not owed half a token).
 */
function tokens(n: number): number {
  if (!(n > 0)) return 0;
  return n >= MAX_TOKENS ? MAX_TOKENS : Math.floor(n);
}

/** Whole µ$ per token of a price in µ$ per million tokens (the `hi` of the split above). */
const whole = (price: number) => Math.floor(price / PER);

/**
 * The cost of a request in integer µ$, rounded up once at the end (never per component, which would
 * overcharge up to 3 µ$ and make the sum depend on how usage is split):
 *
 *   ceil((uncached × input + cached × cachedInput + cacheWrite × cacheWrite + completion × output) / 1e6)
 *
 * where uncached = max(0, prompt − cached − cacheWrite), because `promptTokens` includes both.
 * Prices must be integers ≤ 5e9 (as {@link priceAt} returns); token counts are sanitised.
 * @example
 * const p = { input: 270_000, cachedInput: 70_000, cacheWrite: 270_000, output: 1_100_000 };
 * costMicros(p, { promptTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0 }) // 1 (ceil of 0.27)
 * costMicros(p, { promptTokens: 1000, cachedTokens: 800, cacheWriteTokens: 0, completionTokens: 100 })
 * // ceil((200 × 270000 + 800 × 70000 + 100 × 1100000) / 1e6) = ceil(220) = 220
 */
export function costMicros(prices: PriceRates, usage: Usage): number {
  const cached = tokens(usage.cachedTokens);
  const cacheWrite = tokens(usage.cacheWriteTokens);
  const uncached = Math.max(0, tokens(usage.promptTokens) - cached - cacheWrite);
  const completion = tokens(usage.completionTokens);
  const hiIn = whole(prices.input);
  const hiCached = whole(prices.cachedInput);
  const hiWrite = whole(prices.cacheWrite);
  const hiOut = whole(prices.output);
  const wholeMicros = uncached * hiIn + cached * hiCached + cacheWrite * hiWrite + completion * hiOut;
  const rest =
    uncached * (prices.input - hiIn * PER) +
    cached * (prices.cachedInput - hiCached * PER) +
    cacheWrite * (prices.cacheWrite - hiWrite * PER) +
    completion * (prices.output - hiOut * PER);
  // Integer ceil(rest / 1e6): `%` on doubles is exact, so no float division decides the rounding.
  const remainder = rest % PER;
  return wholeMicros + (rest - remainder) / PER + (remainder > 0 ? 1 : 0);
}

/** Token counts summed over many requests (a report's window): no bound but integers. */
export interface TokenTotals {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/**
 * What `totals` cost at `prices`, in integer µ$, rounded up once: the {@link costMicros} formula
 * (no cache writes) on sums too large for its clamp, in BigInt. For a report's estimates, not a
 * charge (a charge is per request, each rounded up).
 * @example
 * totalCostMicros({ input: 1_000_000, cachedInput: 500_000, cacheWrite: 1_000_000, output: 2_000_000 }, { promptTokens: 5e9, cachedTokens: 0, completionTokens: 1 }) // 5000000002
 */
export function totalCostMicros(prices: PriceRates, totals: TokenTotals): number {
  const count = (n: number) => BigInt(n > 0 ? Math.floor(n) : 0);
  const cached = count(totals.cachedTokens);
  const prompt = count(totals.promptTokens);
  const uncached = prompt > cached ? prompt - cached : 0n;
  const sum = uncached * BigInt(prices.input) + cached * BigInt(prices.cachedInput) + count(totals.completionTokens) * BigInt(prices.output);
  const per = BigInt(PER);
  return Number((sum + per - 1n) / per);
}

/**
 * The most output tokens a request can be allowed while its worst-case cost, with the prompt at
 * its upper bound and nothing cached, stays within `remainingMicros`: the largest n ≥ 0 with
 *
 *   costMicros(prices, { promptTokens: promptUpperBound, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: n }) ≤ remainingMicros.
 *
 * Returns `Infinity` when output is free and the prompt fits, -1 when not even the prompt fits.
 * Since ceil(x / 1e6) ≤ R ⇔ x ≤ R × 1e6 for an integer R, n = floor((R × 1e6 − prompt × input) / output),
 * computed in BigInt so large budgets stay exact. The answer is capped at {@link MAX_TOKENS}, the
 * largest count {@link costMicros} prices exactly (no model emits that many). A fractional budget
 * counts as its floor; `Infinity` affords anything.
 * @example
 * const p = { input: 270_000, cachedInput: 70_000, cacheWrite: 270_000, output: 1_100_000 };
 * maxAffordableOutputTokens(p, 1000, 1000) // 663: 1000 × 0.27 + 663 × 1.1 = 999.3 µ$ → 1000 µ$
 * maxAffordableOutputTokens(p, 1000, 269) // -1: the prompt alone costs 270 µ$
 */
export function maxAffordableOutputTokens(prices: PriceRates, promptUpperBound: number, remainingMicros: number): number {
  if (Number.isNaN(remainingMicros)) return -1;
  if (remainingMicros === Infinity) return Infinity;
  const remaining = Math.floor(remainingMicros);
  if (remaining < 0) return -1;
  const budget = BigInt(remaining) * BigInt(PER);
  const promptCost = BigInt(tokens(promptUpperBound)) * BigInt(prices.input);
  if (promptCost > budget) return -1;
  if (prices.output <= 0) return Infinity;
  const n = (budget - promptCost) / BigInt(prices.output);
  return n >= BigInt(MAX_TOKENS) ? MAX_TOKENS : Number(n);
}
