/**
 * What admission reserves for a request: its worst case over every candidate that may serve it
 * (DESIGN §3). Pure: config, body and clock in, the ledger's `ReservationRequest` out.
 */
import { FREE, originPrices, servingOrigins } from "../config/origins";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { PricesMicros, ReservationRequest } from "../ledger/types";
import type { ApiEndpoint, ProxyRequest } from "../openai/requests";
import { estimatePromptTokensUpperBound } from "../pricing/estimate";

/** How long after its longest possible run an unsettled reservation is charged by the alarm. */
const HOLD_MARGIN_MS = 60_000;

/** Each price at its highest among the origins that may serve the scenario, at the tier the request asks for. */
function worstPrices(config: RouterConfig, scenario: ScenarioConfig, at: number, tier: unknown): PricesMicros {
  const worst = { ...FREE };
  for (const origin of servingOrigins(scenario)) {
    const p = originPrices(config, origin, at, tier);
    worst.input = Math.max(worst.input, p.input);
    worst.cachedInput = Math.max(worst.cachedInput, p.cachedInput);
    worst.cacheWrite = Math.max(worst.cacheWrite, p.cacheWrite);
    worst.output = Math.max(worst.output, p.output);
  }
  return worst;
}

/**
 * The client's own output cap: chat's `max_completion_tokens` (current OpenAI name) or `max_tokens`,
 * legacy completions' `max_tokens`; embeddings have none.
 */
export function requestedOutputCap(request: ProxyRequest): number | null {
  switch (request.endpoint) {
    case "chat":
      return request.body.max_completion_tokens ?? request.body.max_tokens ?? null;
    case "completions":
      return request.body.max_tokens ?? null;
    case "embeddings":
      return null;
  }
}

/** How many answers may each use the whole cap: chat's `n`; per prompt, the larger of `n` and `best_of` (all generated and billed). */
function choicesOf(request: ProxyRequest): number {
  if (request.endpoint === "chat") return request.body.n ?? 1;
  if (request.endpoint === "embeddings") return 1;
  const { prompt, n, best_of: bestOf } = request.body;
  const prompts = typeof prompt === "string" || typeof prompt[0] === "number" ? 1 : prompt.length;
  return prompts * Math.max(n ?? 1, bestOf ?? 1);
}

/**
 * How long a request of the scenario may hold its reservation before the alarm charges it: the
 * longest it can run (a flex wait, then the canary and every candidate to its total timeout) and a
 * minute of margin.
 */
export function holdMsOf(config: RouterConfig, scenario: ScenarioConfig): number {
  return servingOrigins(scenario).reduce((sum, origin) => sum + (config.origins[origin]?.timeouts.totalMs ?? 0), HOLD_MARGIN_MS + (scenario.flex?.maxWaitMs ?? 0));
}

/** The longest hold of any scenario: how long after its window a lease's requests may still settle. */
export function longestHoldMs(config: RouterConfig): number {
  return Math.max(HOLD_MARGIN_MS, ...Object.values(config.scenarios).map((s) => holdMsOf(config, s)));
}

/** What to reserve for `request` (`endpoint`: what the client called, for the row of a reservation that expires). */
export function reservationFor(config: RouterConfig, scenarioName: string, scenario: ScenarioConfig, request: ProxyRequest, endpoint: ApiEndpoint, at: number): ReservationRequest {
  const holdMs = holdMsOf(config, scenario);
  return {
    endpoint,
    scenario: scenarioName,
    stream: request.endpoint !== "embeddings" && request.body.stream === true,
    promptTokensUpper: estimatePromptTokensUpperBound(request.body),
    requestedOutputCap: requestedOutputCap(request),
    choices: choicesOf(request),
    defaultOutputCap: scenario.maxOutputTokens,
    minOutputTokens: scenario.minOutputTokens,
    prices: worstPrices(config, scenario, at, request.body.service_tier),
    holdMs,
  };
}

/**
 * The request an origin should get under the cap admission granted, and the cap the router set:
 * the client's cap lowered, or the router's added when it set none (chat's `max_completion_tokens`,
 * legacy completions' `max_tokens`; the upstream body moves it to the provider's field), or the
 * request as it came and null when the client's own cap is within the grant. The client's body is
 * never changed.
 */
export function withOutputCap(request: ProxyRequest, cap: number | null): { request: ProxyRequest; cap: number | null } {
  const requested = requestedOutputCap(request);
  if (cap === null || request.endpoint === "embeddings" || (requested !== null && requested <= cap)) return { request, cap: null };
  if (request.endpoint === "completions") return { request: { endpoint: "completions", body: { ...request.body, max_tokens: cap } }, cap };
  const body = request.body;
  const field = body.max_tokens != null && body.max_completion_tokens == null ? "max_tokens" : "max_completion_tokens";
  return { request: { endpoint: "chat", body: { ...body, [field]: cap } }, cap };
}
