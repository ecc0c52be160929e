/**
 * The last step of a request (DESIGN §1, finish): the response the client gets, and, through
 * `waitUntil`, what the request leaves behind: its settlement (once), its origins' health samples,
 * its sampled decision and its shadow copy (with the answer, for the copy's eval pair). One
 * function per way a forward can end.
 */
import { affinityHeader, prefixSample } from "./prefix";
import { FREE } from "../config/origins";
import type { Usage } from "../openai/usage";
import { addUsageCost, usdText } from "../openai/cost";
import { toErrorResponse } from "../openai/errors";
import { setRateLimitHeaders } from "../openai/rate-limit-headers";
import { formatAttempts, type AttemptLog, type Forwarded } from "../proxy/forward";
import { failedSettlement, jsonSettlement, streamSettlement } from "../usage/record";
import type { Admission } from "./admit";
import type { RequestContext } from "./context";
import { reportBrokenStream, reportFailedAttempts, reportServed, requesterOf, type Requester } from "./health-report";
import type { Placement } from "./place";
import { keeper, responsesJson, responsesStream } from "./responses-answer";
import { forwardingOf } from "./send";
import type { Settlement } from "./settlement";
import { servedAnswer } from "./eval-pair";
import { shadowCopy } from "./shadow";
import { answerOfJson, gatesOn, judge, type GateAnswer, type GateResult } from "../outcomes/gates";

/** What every way of finishing shares. */
interface Finishing {
  ctx: RequestContext;
  admission: Admission;
  placement: Placement;
  settlement: Settlement;
  requester: Requester;
  /** The attempt that answered, when one did. */
  serving: AttemptLog | undefined;
  /** Writes the headers every answer carries onto `headers`, and returns them. */
  writeHeaders(headers: Headers): Headers;
}

/**
 * Writes the headers that say how the request was admitted, placed and served. With set() calls
 * (a plain-object init goes through workerd's generic conversion, which costs more), onto the
 * answer's own headers: a `Headers` given to `new Response` is copied, header by header.
 */
function writeResponseHeaders(headers: Headers, ctx: RequestContext, admission: Admission, placement: Placement, result: Forwarded, serving: AttemptLog | undefined): Headers {
  const { grant } = admission;
  headers.set("x-router-scenario", admission.model);
  headers.set("x-router-attempts", formatAttempts(result.attempts));
  const target = result.kind === "failed" ? null : result.target;
  if (target) {
    headers.set("x-router-origin", target.originName);
    headers.set("x-router-upstream-model", target.model);
  }
  if (admission.cap !== null) headers.set("x-router-max-tokens", String(admission.cap));
  for (const b of grant.softLimited) {
    const used = Math.round(((b.settled + b.reserved) / b.limit) * 100);
    headers.append("x-router-budget-warning", `${b.id}; metric=${b.metric}; period=${b.period}; used=${used}%`);
  }
  setRateLimitHeaders(headers, grant.rateLimit);
  headers.set("x-router-priority", placement.priority.priority);
  if (explained(ctx, admission)) headers.set("x-router-decision", JSON.stringify(placement.decision.explanation));
  if (admission.prefix) headers.set("x-router-affinity", affinityHeader(placement.decision, placement.affinity, serving?.origin ?? null));
  return headers;
}

/** Whether the client asked for the decision's explanation, and its key may see it. */
function explained(ctx: RequestContext, admission: Admission): boolean {
  return admission.grant.debug && ctx.request.headers.get("x-router-explain") === "1";
}

/**
 * The sampled decision entry (every explained or shadowed decision, else at most one a second per
 * scenario), then the shadow copy, whose result is added to that entry.
 */
function recordDecision(f: Finishing, result: Forwarded): void {
  const { ctx, admission, placement, serving } = f;
  const { decision } = placement;
  let decisionLogged: Promise<void> = Promise.resolve();
  const logged = ctx.isolate.shouldLogDecision(admission.model, explained(ctx, admission) || decision.shadow !== null, ctx.startedAt);
  // Most decisions are neither sampled nor shadowed: their log's stub (a hash of its name) is never made.
  if (!logged && !decision.shadow) return;
  const log = ctx.env.DECISION_LOG.getByName(admission.model);
  if (logged) {
    const entry = { requestId: ctx.requestId, at: ctx.startedAt, attempts: decision.attempts, shadow: decision.shadow, servedBy: serving?.origin ?? null, explanation: decision.explanation };
    decisionLogged = log.record(entry).catch((e: unknown) => console.error("decision log failed", e));
    ctx.waitUntil(decisionLogged);
  }
  if (!decision.shadow) return;
  const { upstream } = admission;
  const copy = {
    config: ctx.config,
    scenario: admission.model,
    shadow: decision.shadow,
    endpoint: upstream.endpoint,
    body: upstream.body,
    stream: admission.stream,
    requestId: ctx.requestId,
    requester: f.requester,
    stage: admission.scenario.migration?.stage ?? null,
    served: servedAnswer(ctx.config, ctx.startedAt, result, upstream.body.service_tier),
  };
  ctx.waitUntil(shadowCopy({ forwarding: forwardingOf(ctx), reporter: ctx.isolate.reporter, decisionLog: log }, copy, decisionLogged));
}

/**
 * Reports the attempt that served, with what the prefix index predicted for it when it reported
 * usage, and the answer's scenario and gate verdict (outcome counts). No answer (an origin's
 * error): no outcome.
 */
function reportAnswer(f: Finishing, usage?: Usage | null, outputTokens = usage?.completionTokens, gates?: GateResult | null): void {
  const { ctx, admission, placement, serving } = f;
  if (!serving) return;
  const sample = usage && admission.prefix ? prefixSample(admission.model, placement.decision, placement.affinity, serving.origin, usage) : undefined;
  const outcome = gates === undefined ? undefined : { scenario: admission.model, ...(gates ? { gate: gates.passed ? ("passed" as const) : ("failed" as const) } : {}) };
  const send = reportServed(ctx.isolate.reporter, serving, Date.now() - ctx.arrivedAt, outputTokens, sample, outcome);
  if (send) ctx.waitUntil(send);
}

/**
 * The scenario's quality gates' verdict on an answer (null: none on, or none applied). The answer
 * is read only when some gate is on: most scenarios have none, and their answers are never walked.
 */
function gatesOf(admission: Admission, answerOf: () => GateAnswer | null | undefined): GateResult | null {
  const gates = admission.scenario.qualityGates;
  if (!gatesOn(gates) || admission.upstream.endpoint === "embeddings") return null;
  const answer = answerOf();
  return answer ? judge(gates, admission.upstream.body, answer) : null;
}

/**
 * A non-streamed answer, with what it cost: `x-router-cost-usd` and `usage.cost` (when it has a
 * usage), or translated into a Responses `response` (stored before it is returned).
 */
/** A 200 with `body`, the answer's headers written onto its own, then `more`. */
function ok(f: Finishing, body: BodyInit, more: Record<string, string>): Response {
  const response = new Response(body);
  const headers = f.writeHeaders(response.headers);
  for (const name in more) headers.set(name, more[name]!);
  return response;
}

async function finishJson(f: Finishing, result: Extract<Forwarded, { kind: "json" }>): Promise<Response> {
  const { ctx, admission, settlement } = f;
  const gates = gatesOf(admission, () => answerOfJson(result.answer));
  reportAnswer(f, result.usage, undefined, gates);
  const served = { ...settlement.servedBy(result.target), status: 200, outcome: "ok" };
  const settled = { ...jsonSettlement(settlement.facts, served, result.usage, result.text.length, Date.now()), gates };
  ctx.waitUntil(settlement.settle(settled, result.usage));
  const more = { "content-type": "application/json", "x-router-cost-usd": usdText(settled.costMicros) };
  const turn = admission.responses;
  if (turn) {
    const completedAt = Math.floor(ctx.isolate.clock.now() / 1000);
    return ok(f, await responsesJson(turn, result.answer, settled.costMicros, completedAt, keeper(ctx, admission, turn)), more);
  }
  // The origin's own text unless there is a usage to price (an answer without one is passed as it came).
  if (typeof result.answer.usage !== "object" || result.answer.usage === null) return ok(f, result.text, more);
  addUsageCost(result.answer, settled.costMicros);
  return ok(f, JSON.stringify(result.answer), more);
}

function finishStream(f: Finishing, result: Extract<Forwarded, { kind: "stream" }>): Response {
  const { ctx, settlement, serving } = f;
  const served = { ...settlement.servedBy(result.target), status: 200 };
  ctx.waitUntil(
    result.outcome.then((o) => {
      if (o.end === "broken" || o.end === "timeout") {
        // It served the first token, then failed: the origin's health should know.
        const send = serving ? reportBrokenStream(ctx.isolate.reporter, serving, o.end, Date.now() - serving.began, f.requester) : null;
        if (send) ctx.waitUntil(send);
        return settlement.settle(streamSettlement(settlement.facts, served, o, Date.now()), o.usage ?? null);
      }
      // A stream's gates judge what the relay saw, when it ran to its end.
      const gates = o.end === "completed" ? gatesOf(f.admission, () => o.answer) : null;
      reportAnswer(f, o.usage, o.usage?.completionTokens ?? o.contentEvents, gates);
      return settlement.settle({ ...streamSettlement(settlement.facts, served, o, Date.now()), gates }, o.usage ?? null);
    }),
  );
  const turn = f.admission.responses;
  const body = turn ? responsesStream(result.body, { outcome: result.outcome, waitUntil: (w) => ctx.waitUntil(w) }, turn, ctx.isolate.clock.now, keeper(ctx, f.admission, turn)) : result.body;
  return ok(f, body, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
}

function finishOriginError(f: Finishing, result: Extract<Forwarded, { kind: "origin_error" }>): Response {
  const { ctx, settlement } = f;
  reportAnswer(f);
  const served = { ...settlement.servedBy(result.target), status: result.status, outcome: "origin_rejected" };
  ctx.waitUntil(settlement.settle(failedSettlement(settlement.facts, served, Date.now())));
  return toErrorResponse(result.failure, f.writeHeaders(new Headers()));
}

function finishFailed(f: Finishing, result: Extract<Forwarded, { kind: "failed" }>): Response {
  const { ctx, settlement } = f;
  const response = toErrorResponse(result.failure, f.writeHeaders(new Headers()));
  const served = { origin: null, model: null, prices: FREE, status: response.status, outcome: result.failure.kind };
  ctx.waitUntil(settlement.settle(failedSettlement(settlement.facts, served, Date.now())));
  console.warn(`request ${ctx.requestId}: every origin failed (${formatAttempts(result.attempts)})`);
  return response;
}

function finishCancelled(f: Finishing, result: Extract<Forwarded, { kind: "cancelled" }>): Response {
  f.settlement.cancelled(result.target);
  return toErrorResponse({ kind: "client_closed" }, f.writeHeaders(new Headers()));
}

/** The response to a forwarded request, with everything it leaves behind handed to `waitUntil`. */
export async function finish(ctx: RequestContext, admission: Admission, placement: Placement, settlement: Settlement, result: Forwarded): Promise<Response> {
  settlement.answered();
  const requester = requesterOf(admission.grant.tenantId, admission.request.body);
  for (const send of reportFailedAttempts(ctx.isolate.reporter, result.attempts, requester)) ctx.waitUntil(send);
  const serving = result.kind === "failed" || result.kind === "cancelled" ? undefined : result.attempts.at(-1);
  const writeHeaders = (headers: Headers) => writeResponseHeaders(headers, ctx, admission, placement, result, serving);
  const f: Finishing = { ctx, admission, placement, settlement, requester, serving, writeHeaders };
  recordDecision(f, result);
  switch (result.kind) {
    case "json":
      return finishJson(f, result);
    case "stream":
      return finishStream(f, result);
    case "origin_error":
      return finishOriginError(f, result);
    case "failed":
      return finishFailed(f, result);
    case "cancelled":
      return finishCancelled(f, result);
  }
}
