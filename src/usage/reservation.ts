/**
 * What admission reserves for a request: its worst case over every candidate that may serve it
 * (DESIGN §3). Pure: config, body and clock in, the ledger's `ReservationRequest` out.
 */
import { FREE, originPrices, servingOrigins } from "../config/origins";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { PricesMicros, ReservationRequest } from "../ledger/types";
import type { ChatRequest, ProxyRequest } from "../openai/requests";
import { estimatePromptTokensUpperBound } from "../pricing/estimate";

/** How long after its longest possible run an unsettled reservation is charged by the alarm. */
const HOLD_MARGIN_MS = 60_000;

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

/** The client's own output cap: `max_completion_tokens` (current OpenAI name) or `max_tokens`; embeddings have none. */
export function requestedOutputCap(request: ProxyRequest): number | null {
  if (request.endpoint !== "chat") return null;
  return request.body.max_completion_tokens ?? request.body.max_tokens ?? null;
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

export function reservationFor(config: RouterConfig, scenarioName: string, scenario: ScenarioConfig, request: ProxyRequest, at: number): ReservationRequest {
  const holdMs = holdMsOf(config, scenario);
  const chat = request.endpoint === "chat" ? request.body : null;
  return {
    endpoint: scenario.endpoint,
    scenario: scenarioName,
    stream: chat?.stream === true,
    promptTokensUpper: estimatePromptTokensUpperBound(request.body),
    requestedOutputCap: requestedOutputCap(request),
    choices: chat?.n ?? 1,
    defaultOutputCap: scenario.maxOutputTokens,
    minOutputTokens: scenario.minOutputTokens,
    prices: worstPrices(config, scenario, at),
    holdMs,
  };
}

/**
 * The body an origin should get under the cap admission granted, and the cap the router set:
 * the client's cap field lowered (or `max_tokens` added when it set none), or the body as it came
 * and null when the client's own cap is within the grant. The client's body is never changed.
 */
export function withOutputCap(body: ChatRequest, cap: number | null): { body: ChatRequest; cap: number | null } {
  if (cap === null) return { body, cap: null };
  const requested = body.max_completion_tokens ?? body.max_tokens ?? null;
  if (requested !== null && requested <= cap) return { body, cap: null };
  const field = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
  return { body: { ...body, [field]: cap }, cap };
}
