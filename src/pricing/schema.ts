/**
 * An origin's prices in config. People write USD per million tokens, as providers publish them;
 * the router computes in integer micro-dollars (µ$, 1 USD = 1,000,000 µ$) so that sums of many
 * small charges never drift, and the schema's output is already in those units.
 */
import { z } from "zod";
import { windowEndsDiffer, windowEndsDifferIssue, windowShape } from "../time/window";

/** Micro-dollars per dollar. */
export const MICROS_PER_USD = 1_000_000;

/** Basis points in a multiplier of 1 (10,000 bp = ×1). */
export const BP_ONE = 10_000;

/**
 * The highest accepted price, in USD per million tokens. It bounds every product in the cost
 * arithmetic (see `cost.ts`); today's dearest models list well under it.
 */
export const MAX_USD_PER_MTOK = 500;

/** The highest accepted window multiplier: a surcharge of ×10 keeps prices ≤ 5,000 USD/Mtok. */
export const MAX_MULTIPLIER = 10;

const usdPerMtok = z.number().min(0).max(MAX_USD_PER_MTOK);

const pricedWindowSchema = z
  .object({
    ...windowShape,
    /**
     * Applied to every price while the window is open, e.g. 0.5 for an off-peak discount. At least
     * one basis point: a smaller multiplier would round to a free origin.
     */
    multiplier: z.number().min(1 / BP_ONE, "at least 0.0001 (one basis point)").max(MAX_MULTIPLIER),
  })
  .strict()
  .refine(windowEndsDiffer, windowEndsDifferIssue);

const toMicros = (usd: number) => Math.round(usd * MICROS_PER_USD);

/**
 * Prices in config (USD per million tokens), validated and converted to integer µ$ per million
 * tokens, with window multipliers in basis points. `cachedInput` and `cacheWrite` default to
 * `input` (a provider without prompt caching charges cached tokens like any other).
 * @example
 * pricingSchema.parse({
 *   input: 0.27, cachedInput: 0.07, output: 1.1,
 *   windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }], // DeepSeek-style off-peak
 * })
 * // { input: 270000, cachedInput: 70000, cacheWrite: 270000, output: 1100000,
 * //   windows: [{ days: ["mon", ..., "sun"], from: "16:30", to: "00:30", timeZone: "UTC", multiplierBp: 5000 }] }
 */
export const pricingSchema = z
  .object({
    input: usdPerMtok,
    cachedInput: usdPerMtok.optional(),
    cacheWrite: usdPerMtok.optional(),
    output: usdPerMtok,
    /** Checked in order; the first open window's multiplier applies. */
    windows: z.array(pricedWindowSchema).default(() => []),
  })
  .strict()
  .transform((p) => ({
    input: toMicros(p.input),
    cachedInput: toMicros(p.cachedInput ?? p.input),
    cacheWrite: toMicros(p.cacheWrite ?? p.input),
    output: toMicros(p.output),
    windows: p.windows.map(({ multiplier, ...window }) => ({ ...window, multiplierBp: Math.round(multiplier * BP_ONE) })),
  }));

/** Prices as written in config (USD per million tokens). */
export type PricingInput = z.input<typeof pricingSchema>;

/** Validated prices: integer µ$ per million tokens, multipliers in basis points. */
export type Pricing = z.output<typeof pricingSchema>;

/** A window of a {@link Pricing}, with its multiplier in basis points. */
export type PricedWindow = Pricing["windows"][number];
