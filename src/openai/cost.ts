/**
 * A request's cost where clients read it (issue #17): `usage.cost` in USD, as OpenRouter reports it
 * (https://openrouter.ai/docs/use-cases/usage-accounting), and the `x-router-cost-usd` header of a
 * non-streamed answer. The router keeps money in integer micro-dollars; these are its exact
 * decimal renderings (a micro-dollar is 1e-6 USD, which a JSON number prints exactly).
 */
import { MICROS_PER_USD } from "../pricing/schema";

/**
 * Micro-dollars as a USD number (`usage.cost`).
 * @example
 * usdOf(16) // 0.000016
 */
export function usdOf(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * Micro-dollars as the `x-router-cost-usd` header's text: a decimal with six places.
 * @example
 * usdText(1_234_567) // "1.234567"
 * usdText(16)        // "0.000016"
 */
export function usdText(micros: number): string {
  const whole = Math.floor(micros / MICROS_PER_USD);
  return `${whole}.${String(micros - whole * MICROS_PER_USD).padStart(6, "0")}`;
}

/** Sets `usage.cost` on an answer (or a chunk) that carries a `usage` object; others are left as they are. */
export function addUsageCost(answer: Record<string, unknown>, micros: number): void {
  const usage = answer.usage;
  if (typeof usage === "object" && usage !== null && !Array.isArray(usage)) (usage as Record<string, unknown>).cost = usdOf(micros);
}
