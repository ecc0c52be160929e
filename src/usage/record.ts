/**
 * Building a request's usage record from how it was served. Origins' reported usage wins; when an
 * origin reported none (a stream cut short, a provider that omits it), tokens are estimated from
 * what the router saw, and the record says so.
 */
import type { UsageRecord } from "../ledger/types";
import { estimateTokens, type Usage } from "../openai/usage";
import type { StreamOutcome } from "../proxy/sse-relay";

export interface RequestFacts {
  requestId: string;
  keyId: string;
  endpoint: UsageRecord["endpoint"];
  scenario: string;
  stream: boolean;
  /** Size of the client's request body: the prompt estimate when no usage is reported. */
  requestBytes: number;
  startedAt: number;
}

interface Served {
  origin: string | null;
  model: string | null;
  status: number;
  outcome: string;
}

function record(facts: RequestFacts, served: Served, usage: Usage, source: UsageRecord["usageSource"], endedAt: number): UsageRecord {
  return {
    requestId: facts.requestId,
    at: facts.startedAt,
    keyId: facts.keyId,
    endpoint: facts.endpoint,
    scenario: facts.scenario,
    origin: served.origin,
    model: served.model,
    stream: facts.stream,
    promptTokens: usage.promptTokens,
    cachedTokens: usage.cachedTokens,
    completionTokens: usage.completionTokens,
    usageSource: source,
    status: served.status,
    outcome: served.outcome,
    latencyMs: Math.max(0, endedAt - facts.startedAt),
  };
}

/** A non-streamed answer: the origin's usage, or an estimate from the bodies' sizes. */
export function jsonUsageRecord(facts: RequestFacts, served: Served, usage: Usage | null, responseBytes: number, endedAt: number): UsageRecord {
  if (usage) return record(facts, served, usage, "origin", endedAt);
  const estimate = { promptTokens: estimateTokens(facts.requestBytes), cachedTokens: 0, completionTokens: estimateTokens(responseBytes) };
  return record(facts, served, estimate, "estimated", endedAt);
}

/** A streamed answer, however it ended: what the origin reported, else one token per content event. */
export function streamUsageRecord(facts: RequestFacts, served: Omit<Served, "outcome">, outcome: StreamOutcome, endedAt: number): UsageRecord {
  const how = outcome.end === "completed" ? "ok" : `stream_${outcome.end}`;
  if (outcome.usage) return record(facts, { ...served, outcome: how }, outcome.usage, "origin", endedAt);
  const estimate = { promptTokens: estimateTokens(facts.requestBytes), cachedTokens: 0, completionTokens: outcome.contentEvents };
  return record(facts, { ...served, outcome: how }, estimate, "estimated", endedAt);
}

/** A request no origin served: nothing was used. */
export function failedUsageRecord(facts: RequestFacts, served: Served, endedAt: number): UsageRecord {
  return record(facts, served, { promptTokens: 0, cachedTokens: 0, completionTokens: 0 }, "origin", endedAt);
}
