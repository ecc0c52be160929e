/**
 * Building a request's settlement from how it was served: tokens and their cost in integer
 * micro-dollars. Origins' reported usage wins; when an origin reported none (a stream cut short, a
 * provider that omits it), tokens are estimated from what the router saw, and the record says so.
 */
import type { Attribution, PricesMicros, SettleRequest } from "../ledger/types";
import { estimateTokens, type Usage } from "../openai/usage";
import { costMicros } from "../pricing/cost";
import type { StreamOutcome } from "../proxy/sse-relay";

export interface RequestFacts {
  requestId: string;
  keyId: string;
  endpoint: SettleRequest["endpoint"];
  scenario: string;
  stream: boolean;
  /** Size of the client's request body: the prompt estimate when no usage is reported. */
  requestBytes: number;
  /** When the request arrived, by the router's clock: the usage row's `at`, its budget period. */
  startedAt: number;
  /** When it arrived, by the real clock: latencies are measured from it (`endedAt` is real too). */
  arrivedAt: number;
  /** What admission reserved: an estimate never charges more than this. */
  reservedMicros: number;
  /** Who the request is for, as it said. */
  attribution: Attribution;
}

export interface Served {
  origin: string | null;
  model: string | null;
  /** The serving origin's prices at the request's start. */
  prices: PricesMicros;
  status: number;
  outcome: string;
}

const NOTHING: Usage = { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, cacheReported: false };

function settlement(facts: RequestFacts, served: Served, usage: Usage, source: SettleRequest["usageSource"], endedAt: number): SettleRequest {
  const cost = costMicros(served.prices, usage);
  const { promptTokens, cachedTokens, cacheWriteTokens, completionTokens } = usage;
  return {
    requestId: facts.requestId,
    at: facts.startedAt,
    keyId: facts.keyId,
    endpoint: facts.endpoint,
    scenario: facts.scenario,
    origin: served.origin,
    model: served.model,
    stream: facts.stream,
    promptTokens,
    cachedTokens,
    cacheWriteTokens,
    completionTokens,
    // Reported usage is the truth and is charged as it is; our own estimate stays within the reservation.
    costMicros: source === "origin" ? cost : Math.min(cost, facts.reservedMicros),
    usageSource: source,
    status: served.status,
    outcome: served.outcome,
    latencyMs: Math.max(0, endedAt - facts.arrivedAt),
    ...facts.attribution,
  };
}

/** A non-streamed answer: the origin's usage, or an estimate from the bodies' sizes. */
export function jsonSettlement(facts: RequestFacts, served: Served, usage: Usage | null, responseBytes: number, endedAt: number): SettleRequest {
  if (usage) return settlement(facts, served, usage, "origin", endedAt);
  const estimate = { ...NOTHING, promptTokens: estimateTokens(facts.requestBytes), completionTokens: estimateTokens(responseBytes) };
  return settlement(facts, served, estimate, "estimated", endedAt);
}

/** A streamed answer, however it ended: what the origin reported, else one token per content event. */
export function streamSettlement(facts: RequestFacts, served: Omit<Served, "outcome">, outcome: StreamOutcome, endedAt: number): SettleRequest {
  const how = outcome.end === "completed" ? "ok" : `stream_${outcome.end}`;
  if (outcome.usage) return settlement(facts, { ...served, outcome: how }, outcome.usage, "origin", endedAt);
  const estimate = { ...NOTHING, promptTokens: estimateTokens(facts.requestBytes), completionTokens: outcome.contentEvents };
  return settlement(facts, { ...served, outcome: how }, estimate, "estimated", endedAt);
}

/** A request no origin served: nothing was used, nothing is charged. */
export function failedSettlement(facts: RequestFacts, served: Served, endedAt: number): SettleRequest {
  return settlement(facts, served, NOTHING, "origin", endedAt);
}

/**
 * A request whose client went away before any answer. An origin that was being called has worked on
 * the prompt (and may bill it): the prompt is charged as estimated, within the reservation. Nothing
 * is charged when no origin was called yet.
 */
export function cancelledSettlement(facts: RequestFacts, served: Served, endedAt: number): SettleRequest {
  if (served.origin === null) return settlement(facts, served, NOTHING, "origin", endedAt);
  return settlement(facts, served, { ...NOTHING, promptTokens: estimateTokens(facts.requestBytes) }, "estimated", endedAt);
}
