/**
 * The prices in force at an instant: an origin's base prices with the multiplier of the first open
 * time window (off-peak discount, peak surcharge) applied.
 */
import { inWindow } from "../time/window";
import { BP_ONE, type Pricing } from "./schema";

/** The four prices, in integer µ$ per million tokens: all that cost arithmetic reads. */
export interface PriceRates {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
}

/** Prices at one instant, in integer µ$ per million tokens, and the multiplier that produced them. */
export interface Prices extends PriceRates {
  /** The multiplier applied, in basis points (10,000 = ×1). */
  multiplierBp: number;
}

/**
 * Rounds up so a discounted price never undercharges by a fraction of a µ$. Exact: price ≤ 5e8 and
 * bp ≤ 1e5, so the product ≤ 5e13 < 2^53; and a non-multiple of 10,000 divided by 10,000 stays at
 * least 1e-4 above its floor, far more than a double's spacing below 5e9, so `ceil` sees the truth.
 */
const scale = (price: number, bp: number) => (bp === BP_ONE ? price : Math.ceil((price * bp) / BP_ONE));

/**
 * The prices at `atMs`: the first window (in config order) that contains the instant sets the
 * multiplier; with none open, prices are the base ones (10,000 bp).
 * @example
 * const deepseek = pricingSchema.parse({ input: 0.27, output: 1.1, windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }] });
 * priceAt(deepseek, Date.UTC(2026, 10, 23, 17)).output // 550000 (off-peak, ×0.5)
 * priceAt(deepseek, Date.UTC(2026, 10, 23, 12)).output // 1100000
 */
export function priceAt(pricing: Pricing, atMs: number): Prices {
  const open = pricing.windows.find((window) => inWindow(window, atMs));
  return pricesAtMultiplier(pricing, open?.multiplierBp ?? BP_ONE);
}

/** The base prices with a multiplier (in basis points) applied, as inside a window that sets it. */
export function pricesAtMultiplier(pricing: Pricing, bp: number): Prices {
  return {
    input: scale(pricing.input, bp),
    cachedInput: scale(pricing.cachedInput, bp),
    cacheWrite: scale(pricing.cacheWrite, bp),
    output: scale(pricing.output, bp),
    multiplierBp: bp,
  };
}
