/**
 * `POST /v1/feedback` (issue #19 §1): a tenant says whether an answer it got was accepted. With the
 * tenant's own key, for its own requests only: the request id is looked up in the key's tenant's
 * ledger alone, so another tenant's id and an unknown one get the same 404. Within the operator's
 * window (`outcomes.feedbackWindowHours`) from the request; past it, 409 `feedback_window_closed`.
 *
 * Last write wins: each feedback replaces the one before on the same request (a rater may change
 * their mind); sending the same feedback again leaves the same row. The counts an origin's monitor
 * keeps move by the change (the ledger says what was replaced), so they follow the same rule.
 *
 * A request's usage row reaches the ledger a moment after its answer ends: a request admitted
 * under a lease waits for the lease's next report (200 ms), batched with others. Feedback sent at
 * once must not get a 404 for that: when the id is not found but is one of this router's from the
 * last hour (ids carry their arrival's millisecond), this isolate first sends the rows it holds (the
 * client's next call often lands on the isolate that answered it), then looks again a few times
 * over 1.75 s for a row another isolate is still reporting. Only then is it a 404.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { feedbackSchema } from "../outcomes/schema";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { documented } from "../openapi/registry";
import { readJsonBody } from "../proxy/read-body";
import { verifiedCaller } from "../request/authenticate";
import { requestContext, type RequestContext } from "../request/context";
import { requestIdTime } from "../lib/request-id";
import type { Feedback, FeedbackResult } from "../ledger/types";

const FEEDBACK_BODY_LIMIT = 16 * 1024;
const HOUR_MS = 3_600_000;

/** How long after its arrival a request's row may still be on its way (a long stream's ends late). */
const SETTLING_MS = HOUR_MS;
/** How far ahead of this isolate's clock another isolate's may be. */
const CLOCK_SKEW_MS = 5_000;
/** The waits before each further look for a row still on its way. */
const LOOK_AGAIN_MS = [250, 500, 1_000];

/** Whether a request with this id may have been answered without its row reaching the ledger yet. */
function maySettleSoon(requestId: string, now: number): boolean {
  const arrived = requestIdTime(requestId);
  return arrived !== null && arrived <= now + CLOCK_SKEW_MS && now - arrived <= SETTLING_MS;
}

/** Records the feedback, waiting (briefly) for a row that may be on its way: see the module comment. */
async function recordWhenSettled(ctx: RequestContext, tenantId: string, stub: { recordFeedback(id: string, f: Feedback, windowMs: number): Promise<FeedbackResult> }, requestId: string, feedback: Feedback, windowMs: number): Promise<FeedbackResult> {
  let result = await stub.recordFeedback(requestId, feedback, windowMs);
  if (result.ok || result.reason !== "not_found" || !maySettleSoon(requestId, feedback.at)) return result;
  await ctx.isolate.leases.reportNow(tenantId);
  for (const wait of [0, ...LOOK_AGAIN_MS]) {
    if (wait > 0) await ctx.isolate.clock.sleep(wait);
    result = await stub.recordFeedback(requestId, feedback, windowMs);
    if (result.ok || result.reason !== "not_found") return result;
  }
  return result;
}

documented({
  method: "post",
  path: "/v1/feedback",
  tag: "Tenant",
  auth: "tenant",
  summary: "Say whether an answer was accepted (last write wins), within the operator's feedback window",
  description:
    "`request_id` is the answer's `x-request-id`. Unknown ids and other tenants' ids get the same 404; past `outcomes.feedbackWindowHours`, 409 `feedback_window_closed`; a request that got no answer, 409 `request_not_answered`.",
  body: feedbackSchema,
  responses: { 200: { description: "`{object: feedback, request_id, accepted, score, reason, at, replaced, scenario, origin}`" } },
});

export const feedbackRoutes = new Hono<AppEnv>().post("/", async (c) => {
  const ctx = requestContext(c);
  const { caller, admission } = await verifiedCaller(ctx);
  const body = validate(feedbackSchema, (await readJsonBody(c.req.raw, FEEDBACK_BODY_LIMIT)).value);
  const at = ctx.isolate.clock.now();
  const feedback = { accepted: body.accepted, score: body.score ?? null, reason: body.reason ?? null, at };
  const result = await recordWhenSettled(ctx, admission.tenantId, caller.stub, body.request_id, feedback, ctx.config.outcomes.feedbackWindowHours * HOUR_MS);
  if (!result.ok) {
    switch (result.reason) {
      case "not_found":
        throw new RouterError({ kind: "not_found", what: `Request '${body.request_id.slice(0, 128)}'`, param: "request_id" });
      case "window_closed":
        throw new RouterError({
          kind: "conflict",
          code: "feedback_window_closed",
          message: `Feedback on request '${body.request_id}' closed at ${new Date(result.closedAt).toISOString()} (${ctx.config.outcomes.feedbackWindowHours} hours after the request).`,
        });
      case "not_answered":
        throw new RouterError({ kind: "conflict", code: "request_not_answered", message: `Request '${body.request_id}' got no answer to judge (its status was ${result.status}).` });
    }
  }
  const { record, previous } = result;
  if (record.origin !== null) {
    const counted = ctx.env.ORIGIN_MONITOR.getByName(record.origin)
      .countFeedback(record.scenario, previous?.accepted ?? null, feedback.accepted)
      .catch((e: unknown) => console.error(`feedback on ${record.requestId}: monitor not told`, e));
    ctx.waitUntil(counted);
  }
  return c.json({
    object: "feedback",
    request_id: record.requestId,
    accepted: feedback.accepted,
    score: feedback.score,
    reason: feedback.reason,
    at,
    replaced: previous !== null,
    scenario: record.scenario,
    origin: record.origin,
  });
});
