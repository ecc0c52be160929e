/**
 * Questions asked of the config about origins and scenarios, by the request path, admission,
 * affinity, the admin API and the benchmarks alike. Pure.
 */
import type { PricesMicros } from "../ledger/types";
import { ownEntry } from "../lib/own";
import { priceAt } from "../pricing/price-at";
import type { RouterConfig, ScenarioConfig } from "./schema";

/** The prices of an origin with no `pricing`, and of a request no origin served. */
export const FREE: PricesMicros = { input: 0, cachedInput: 0, cacheWrite: 0, output: 0 };

/** The prices an origin charges at `at` (µ$ per million tokens); an origin without pricing is free. */
export function originPrices(config: RouterConfig, origin: string, at: number): PricesMicros {
  const pricing = ownEntry(config.origins, origin)?.pricing;
  if (!pricing) return FREE;
  const { input, cachedInput, cacheWrite, output } = priceAt(pricing, at);
  return { input, cachedInput, cacheWrite, output };
}

/** The origins that may serve a scenario's request: its candidates and its canary (a shadow only gets a copy). */
export function servingOrigins(scenario: ScenarioConfig): string[] {
  const origins = scenario.candidates.map((c) => c.origin);
  if (scenario.canary) origins.push(scenario.canary.origin);
  return origins;
}

/** Every origin a scenario may use, shadow included, once each: the health snapshots a decision reads. */
export function scenarioOrigins(scenario: ScenarioConfig): string[] {
  const names = servingOrigins(scenario);
  if (scenario.shadow) names.push(scenario.shadow.origin);
  return [...new Set(names)];
}

/** The scenario a model name names, if the config has it (inherited object keys never match). */
export function scenarioOf(config: RouterConfig, model: string): ScenarioConfig | undefined {
  return ownEntry(config.scenarios, model);
}
