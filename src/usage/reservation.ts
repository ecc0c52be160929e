/**
 * What admission reserves for a request: its worst case over every candidate that may serve it
 * (DESIGN §3). Pure: config, body and clock in, the ledger's `ReservationRequest` out.
 */
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { PricesMicros, ReservationRequest } from "../ledger/types";
import { estimatePromptTokensUpperBound } from "../pricing/estimate";
import { priceAt } from "../pricing/price-at";

/** How long after its longest possible run an unsettled reservation is charged by the alarm. */
const HOLD_MARGIN_MS = 60_000;

/** The prices of an origin with no `pricing`, and of a request no origin served. */
export const FREE: PricesMicros = { input: 0, cachedInput: 0, cacheWrite: 0, output: 0 };

/** The prices an origin charges at `at` (µ$ per million tokens); an origin without pricing is free. */
export function originPrices(config: RouterConfig, origin: string, at: number): PricesMicros {
  const pricing = config.origins[origin]?.pricing;
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

/** Each price at its highest among the origins that may serve the scenario. */
function worstPrices(config: RouterConfig, scenario: ScenarioConfig, at: number): PricesMicros {
  const worst = { ...FREE };
  for (const origin of servingOrigins(scenario)) {
    const p = originPrices(config, origin, at);
    worst.input = Math.max(worst.input, p.input);
    worst.cachedInput = Math.max(worst.cachedInput, p.cachedInput);
    worst.cacheWrite = Math.max(worst.cacheWrite, p.cacheWrite);
    worst.output = Math.max(worst.output, p.output);
  }
  return worst;
}

/** The client's own output cap: `max_completion_tokens` (current OpenAI name) or `max_tokens`. */
export function requestedOutputCap(body: Record<string, unknown>): number | null {
  const cap = body.max_completion_tokens ?? body.max_tokens;
  return typeof cap === "number" ? cap : null;
}

export function reservationFor(
  config: RouterConfig,
  scenarioName: string,
  scenario: ScenarioConfig,
  body: Record<string, unknown>,
  stream: boolean,
  at: number,
): ReservationRequest {
  // The longest a request can run: a flex wait, then the canary and every candidate to its total timeout.
  const holdMs = servingOrigins(scenario).reduce((sum, origin) => sum + (config.origins[origin]?.timeouts.totalMs ?? 0), HOLD_MARGIN_MS + (scenario.flex?.maxWaitMs ?? 0));
  return {
    endpoint: scenario.endpoint,
    scenario: scenarioName,
    stream,
    promptTokensUpper: estimatePromptTokensUpperBound(body),
    requestedOutputCap: requestedOutputCap(body),
    choices: scenario.endpoint === "chat" && typeof body.n === "number" ? body.n : 1,
    defaultOutputCap: scenario.maxOutputTokens,
    minOutputTokens: scenario.minOutputTokens,
    prices: worstPrices(config, scenario, at),
    holdMs,
  };
}

/**
 * The body an origin should get under the cap admission granted: the client's cap field lowered
 * (or `max_tokens` added when it set none). Returns the cap set, or null when nothing changed.
 */
export function applyOutputCap(body: Record<string, unknown>, cap: number | null): number | null {
  if (cap === null) return null;
  const requested = requestedOutputCap(body);
  if (requested !== null && requested <= cap) return null;
  if (body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) body.max_completion_tokens = cap;
  else body.max_tokens = cap;
  return cap;
}
