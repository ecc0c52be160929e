/**
 * The third step of a request (DESIGN §1, forward): the placed attempts handed to the forwarder,
 * which tries them in order with fallback before the first byte (`proxy/forward.ts`). Each attempt
 * is counted where placement will look for it next time: requests in flight, recent load, what the
 * origin's prefix cache now holds.
 */
import { gatesOn } from "../outcomes/gates";
import { PROVIDER_PROFILES } from "../config/providers";
import type { RouterConfig } from "../config/schema";
import { secretReader } from "../env";
import { ownEntry } from "../lib/own";
import { nativeRequest } from "../openai/responses";
import { costMicros } from "../pricing/cost";
import { forward, type Forwarded, type Target } from "../proxy/forward";
import type { Decision } from "../routing/decide";
import { requestedOutputCap } from "../usage/reservation";
import type { Admission } from "./admit";
import type { RequestContext } from "./context";
import type { Placement } from "./place";
import type { Settlement } from "./settlement";

function targetsOf(config: RouterConfig, decision: Decision): Target[] {
  return decision.attempts.map((a) => ({ originName: a.origin, origin: config.origins[a.origin]!, model: a.model }));
}

/** The forwarding settings every attempt of this request shares (a shadow copy takes them too). */
export function forwardingOf(ctx: RequestContext) {
  const { isolate, config } = ctx;
  return {
    clientHeaders: ctx.request.headers,
    readSecret: secretReader(ctx.env),
    scrub: isolate.scrub,
    heartbeatMs: config.limits.streamHeartbeatMs,
    cooldowns: isolate.cooldowns,
    responsesRefusals: isolate.responsesRefusals,
    now: isolate.clock.now,
  };
}

/** Forwards the admitted, placed request; a decision with no attempt is the 503 it says when to retry. */
export async function send(ctx: RequestContext, admission: Admission, placement: Placement, settlement: Settlement): Promise<Forwarded> {
  const { config, isolate } = ctx;
  const { decision, parts } = placement;
  const { prefix, scenario, upstream } = admission;
  if (decision.attempts.length === 0) {
    const retryAfterSeconds = decision.availableAt === null ? null : (decision.availableAt - isolate.clock.now()) / 1000;
    return { kind: "failed", failure: { kind: "no_origin_available", retryAfterSeconds }, attempts: [] };
  }
  const cacheSize = (origin: string) => ownEntry(config.origins, origin)?.cache?.capacityTokens;
  return forward({
    ...forwardingOf(ctx),
    endpoint: upstream.endpoint,
    body: upstream.body,
    // The cap is the chat request's, which admission may have lowered (or set) for a budget.
    responses: admission.responses ? nativeRequest(admission.responses.request, admission.responses.originHistory, requestedOutputCap(upstream)) : null,
    stream: admission.stream,
    clientWantsUsage: admission.clientWantsUsage,
    targets: targetsOf(config, decision),
    requestId: ctx.requestId,
    client: ctx.client,
    costOf: (target, usage) => costMicros(settlement.servedBy(target).prices, usage),
    // For the quality gates, and for a shadowed request's eval pair (its agreement with the copy).
    collectAnswer: (gatesOn(scenario.qualityGates) || decision.shadow !== null) && upstream.endpoint !== "embeddings",
    onAttempt: (target) => {
      settlement.calls(target);
      const origin = target.originName;
      isolate.reporter.begin(origin);
      const now = isolate.clock.now();
      isolate.recentRequests.add(origin, 1, now);
      if (!parts) return;
      isolate.recentLoad.add(origin, parts.promptTokens, now);
      const capacity = cacheSize(origin);
      if (capacity) isolate.cacheModel.sent(origin, capacity, parts, now);
    },
    promptCacheKey:
      prefix && decision.attempts.some((a) => PROVIDER_PROFILES[config.origins[a.origin]!.provider].promptCacheKey)
        ? isolate.promptCacheKeys.keyFor(admission.grant.tenantId, prefix.fp.anchor, prefix.sessionKey, scenario.affinity.promptCacheKeyRpm, ctx.startedAt)
        : null,
  });
}
