/**
 * Questions asked of the config about origins and scenarios, by the request path, admission,
 * affinity, the admin API and the benchmarks alike. Pure.
 */
import type { PricesMicros } from "../ledger/types";
import { ownEntry } from "../lib/own";
import { priceAt } from "../pricing/price-at";
import type { Pricing } from "../pricing/schema";
import { PROVIDER_PROFILES } from "./providers";
import type { OriginConfig, RouterConfig, ScenarioConfig, ServiceTier } from "./schema";

/** The prices of an origin with no `pricing`, and of a request no origin served. */
export const FREE: PricesMicros = { input: 0, cachedInput: 0, cacheWrite: 0, output: 0 };

/**
 * The `service_tier` a request asking for `tier` is sent to `origin` with: the tier itself when the
 * origin's config prices it (`serviceTiers`), else null (the field is stripped).
 * @example
 * forwardedTier({ ...openai, serviceTiers: { priority: prices } }, "priority") // "priority"
 * forwardedTier(openai, "priority")                                             // null
 */
export function forwardedTier(origin: OriginConfig, tier: unknown): ServiceTier | null {
  if (typeof tier !== "string" || !origin.serviceTiers) return null;
  return ownEntry(origin.serviceTiers, tier) ? (tier as ServiceTier) : null;
}

/**
 * Whether a `POST /v1/responses` is sent to `origin` as it is (a Responses request) rather than
 * translated to chat: its `responsesApi`, else its provider's default.
 * @example
 * speaksResponses({ ...vllmPool, responsesApi: true }) // true
 * speaksResponses(vllmPool)                             // false
 */
export function speaksResponses(origin: OriginConfig): boolean {
  return origin.responsesApi ?? PROVIDER_PROFILES[origin.provider].responsesApi;
}

/**
 * The prices an origin charges at `at` (µ$ per million tokens), for a request that asked for
 * `tier`: the tier's own prices when the origin is sent it, else its `pricing`; free without.
 */
export function originPrices(config: RouterConfig, origin: string, at: number, tier: unknown = null): PricesMicros {
  const o = ownEntry(config.origins, origin);
  if (!o) return FREE;
  const forwarded = forwardedTier(o, tier);
  const pricing: Pricing | undefined = forwarded ? o.serviceTiers![forwarded] : o.pricing;
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

/**
 * The scenario as it serves a request to `endpoint` upstream: chat and legacy completions are
 * served by chat scenarios, completions only by the origins whose provider serves them (the
 * canary and the shadow likewise dropped when theirs does not); embeddings by embeddings
 * scenarios. Null when the scenario cannot serve the endpoint at all.
 */
export function scenarioServing(config: RouterConfig, scenario: ScenarioConfig, endpoint: "chat" | "embeddings" | "completions"): ScenarioConfig | null {
  if (scenario.endpoint !== (endpoint === "embeddings" ? "embeddings" : "chat")) return null;
  if (endpoint !== "completions") return scenario;
  const serves = (origin: string) => PROVIDER_PROFILES[config.origins[origin]!.provider].completions;
  const candidates = scenario.candidates.filter((c) => serves(c.origin));
  if (candidates.length === 0) return null;
  const { canary, shadow, ...rest } = scenario;
  return {
    ...rest,
    candidates,
    ...(canary && serves(canary.origin) ? { canary } : {}),
    ...(shadow && serves(shadow.origin) ? { shadow } : {}),
  };
}
