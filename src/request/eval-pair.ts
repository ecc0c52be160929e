/**
 * The served side of a shadow eval pair (`migration/evals.ts`): the answer the client got, as
 * measured once it is complete (a stream once it ended). The shadow copy waits for it, then keeps
 * both sides together in the scenario's DecisionLog.
 */
import { originPrices } from "../config/origins";
import type { RouterConfig } from "../config/schema";
import type { ComparableAnswer } from "../migration/agreement";
import type { EvalSide } from "../migration/evals";
import type { Usage } from "../openai/usage";
import { costMicros } from "../pricing/cost";
import type { AttemptLog, Forwarded } from "../proxy/forward";

/**
 * A side as measured, with its answer when it arrived whole: the JSON text, or what the relay
 * collected of a stream that completed (what agreement compares).
 */
export interface MeasuredAnswer {
  side: EvalSide;
  answer: ComparableAnswer | null;
}

const NO_USAGE: Usage = { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, cacheReported: false };

/**
 * One side of a pair from the attempts that made it. The TTFT runs from the first attempt's start
 * to the answer (or first token) of the one that served, fallback included: what the client waited.
 * Its cost is at the prices of the request's `service_tier` where the origin was sent it.
 */
export function measuredSide(config: RouterConfig, at: number, attempts: readonly AttemptLog[], ok: boolean, usage: Usage | null, tier: unknown = null): EvalSide {
  const first = attempts[0];
  const last = attempts.at(-1);
  const measured = usage ?? NO_USAGE;
  return {
    origin: last && ok ? last.origin : null,
    ok,
    result: String(last?.result ?? "not_sent"),
    ttftMs: ok && first && last ? last.began - first.began + last.ms : null,
    latencyMs: first ? Date.now() - first.began : 0,
    promptTokens: measured.promptTokens,
    cachedTokens: measured.cachedTokens,
    completionTokens: measured.completionTokens,
    cacheReported: measured.cacheReported,
    costMicros: last && usage ? costMicros(originPrices(config, last.origin, at, tier), usage) : 0,
  };
}

/**
 * The answer the client got, once complete; null when the client went away (there is nothing to
 * compare). Never rejects.
 */
export function servedAnswer(config: RouterConfig, at: number, result: Forwarded, tier: unknown = null): Promise<MeasuredAnswer | null> {
  switch (result.kind) {
    case "json":
      return Promise.resolve({ side: measuredSide(config, at, result.attempts, true, result.usage, tier), answer: result.text });
    case "stream":
      return result.outcome.then(
        (o) => (o.end === "cancelled" ? null : { side: measuredSide(config, at, result.attempts, o.end === "completed", o.usage, tier), answer: o.end === "completed" ? (o.answer ?? null) : null }),
        () => null,
      );
    case "origin_error":
    case "failed":
      return Promise.resolve({ side: measuredSide(config, at, result.attempts, false, null), answer: null });
    case "cancelled":
      return Promise.resolve(null);
  }
}
