/**
 * The origins' prices as the router computes them (src/pricing: integer µ$ per million tokens,
 * windows applied), for the benchmark's own arithmetic: the budget's size, the cross-check of the
 * router's costs, and the chart's "price in force".
 */
import { costMicros } from "../../../src/pricing/cost";
import { priceAt, type Prices } from "../../../src/pricing/price-at";
import { pricingSchema, type Pricing } from "../../../src/pricing/schema";
import { ORIGINS, routerOrigins, type OriginName } from "./origins";

const PRICING: Readonly<Record<OriginName, Pricing>> = Object.fromEntries(
  ORIGINS.map((o) => [o, pricingSchema.parse(routerOrigins("http://unused")[o]!.pricing ?? { input: 0, output: 0 })]),
) as Record<OriginName, Pricing>;

const isOrigin = (o: string): o is OriginName => (ORIGINS as readonly string[]).includes(o);

/** An origin's prices at a virtual instant (µ$ per million tokens). */
export function pricesAt(origin: OriginName, virtualMs: number): Prices {
  return priceAt(PRICING[origin], virtualMs);
}

/** The origin's list prices, no window applied. */
export function listPrices(origin: OriginName): Prices {
  const { input, cachedInput, cacheWrite, output } = PRICING[origin];
  return { input, cachedInput, cacheWrite, output, multiplierBp: 10_000 };
}

export interface Tokens {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/** What a request costs at an origin at a virtual instant, in µ$, as the router settles it. */
export function requestCost(origin: string, virtualMs: number, t: Tokens): number {
  if (!isOrigin(origin)) return 0;
  return costMicros(pricesAt(origin, virtualMs), { ...t, cacheWriteTokens: 0 });
}

/** Whether an origin's price window discounts it at a virtual instant. */
export function discounted(origin: string, virtualMs: number): boolean {
  return isOrigin(origin) && pricesAt(origin, virtualMs).multiplierBp < 10_000;
}
