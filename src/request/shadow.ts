/**
 * Shadow copies: a scenario's `shadow` origin gets a copy of its share of requests; the answer is
 * measured, priced and discarded (DESIGN §4), and kept as an eval pair beside the answer the
 * client got (`migration/evals.ts`).
 */
import type { RouterConfig } from "../config/schema";
import type { DecisionLog } from "../decisions/decision-log";
import type { HealthReporter } from "../health/reporter";
import { compareAnswers, wantsJson, type ComparableAnswer } from "../migration/agreement";
import type { EvalPair, EvalSide } from "../migration/evals";
import type { Usage } from "../openai/usage";
import { forward, type ForwardRequest } from "../proxy/forward";
import type { UpstreamEndpoint } from "../proxy/upstream-request";
import { measuredSide, type MeasuredAnswer } from "./eval-pair";
import { reportFailedAttempts, reportServed, type Requester } from "./health-report";

/** What a shadow copy needs: how to forward, where to report, where its result is written. */
export interface ShadowDeps {
  /** The forwarding settings of the request being copied (its headers, secrets, scrubber, cool-downs, clock). */
  forwarding: Pick<ForwardRequest, "clientHeaders" | "readSecret" | "scrub" | "heartbeatMs" | "cooldowns" | "now">;
  reporter: HealthReporter;
  decisionLog: Pick<DurableObjectStub<DecisionLog>, "recordShadow">;
}

/** What is copied, and where to. */
export interface ShadowCopy {
  config: RouterConfig;
  scenario: string;
  shadow: { origin: string; model: string };
  endpoint: UpstreamEndpoint;
  body: Record<string, unknown>;
  stream: boolean;
  requestId: string;
  /** Whose request is copied: the copy's failures are the tenant's as much as the original's. */
  requester: Requester;
  /** The scenario's migration stage, or null: recorded with the pair. */
  stage: string | null;
  /** The answer the client got, once complete (see eval-pair.ts); null: no pair. */
  served: Promise<MeasuredAnswer | null>;
}

/**
 * Mirrors the request to the scenario's shadow origin: measured and reported to its monitor, its
 * answer read to the end and discarded. Nothing of it reaches the client, and it never throws.
 * `decisionLogged` is the write of the request's decision entry, which the result is added to.
 */
export async function shadowCopy(deps: ShadowDeps, copy: ShadowCopy, decisionLogged: Promise<void>): Promise<void> {
  const { reporter } = deps;
  const { config, shadow, requestId } = copy;
  const at = (deps.forwarding.now ?? Date.now)();
  const started = Date.now();
  try {
    const result = await forward({
      ...deps.forwarding,
      endpoint: copy.endpoint,
      body: copy.body,
      stream: copy.stream,
      clientWantsUsage: false,
      // A streamed copy's answer is collected as it is read, for its agreement with the served one.
      collectAnswer: copy.endpoint !== "embeddings",
      targets: [{ originName: shadow.origin, origin: config.origins[shadow.origin]!, model: shadow.model }],
      requestId,
      onAttempt: (target) => reporter.begin(target.originName),
    });
    const sends = reportFailedAttempts(reporter, result.attempts, copy.requester);
    const attempt = result.attempts.at(-1);
    let usage: Usage | null = null;
    let answered = result.kind === "json";
    let answer: ComparableAnswer | null = null;
    if (result.kind === "json") {
      usage = result.usage;
      answer = result.text;
    }
    if (result.kind === "stream") {
      const reader = result.body.getReader();
      while (!(await reader.read()).done);
      const outcome = await result.outcome;
      usage = outcome.usage;
      answered = outcome.end === "completed";
      answer = answered ? (outcome.answer ?? null) : null;
    }
    const latencyMs = Date.now() - started;
    const side = measuredSide(config, at, result.attempts, answered, usage, copy.body.service_tier);
    if (attempt && result.kind !== "failed") sends.push(reportServed(reporter, attempt, latencyMs, usage?.completionTokens) ?? Promise.resolve());
    const pair = await evalPair(copy, at, side, answer);
    // A fast shadow can finish before its decision entry is written: annotate only after it is.
    await decisionLogged;
    sends.push(
      deps.decisionLog
        .recordShadow(
          requestId,
          {
            origin: shadow.origin,
            model: shadow.model,
            result: String(attempt?.result ?? "not_sent"),
            latencyMs,
            promptTokens: side.promptTokens,
            cachedTokens: side.cachedTokens,
            completionTokens: side.completionTokens,
            // At the shadow origin's prices: the operator's cost, never a tenant budget's.
            costMicros: side.costMicros,
          },
          pair ?? undefined,
        )
        .then(() => undefined),
    );
    await Promise.all(sends);
  } catch (e) {
    console.error(`request ${requestId}: shadow copy to ${shadow.origin} failed`, e);
  }
}

/**
 * The copy's pair: its own side beside the answer the client got (waited for: a stream ends after
 * its copy, often), with their agreement when both answers arrived whole, streamed or not.
 */
async function evalPair(copy: ShadowCopy, at: number, candidate: EvalSide, answer: ComparableAnswer | null): Promise<EvalPair | null> {
  const served = await copy.served;
  if (!served) return null;
  const agreement = served.answer !== null && answer !== null && served.side.ok && candidate.ok ? compareAnswers(served.answer, answer, wantsJson(copy.body)) : null;
  return { requestId: copy.requestId, at, stage: copy.stage, baseline: served.side, candidate, agreement };
}
