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
 * last hour (ids carry their arrival's millisecond), this isolate first sends the rows its leases
 * hold for the tenant (the client's next call often lands on the isolate that answered it; rows of
 * the exact path are sent within milliseconds anyway) and looks again, then looks a few more times
 * over 1.75 s for a row another isolate is still reporting. Only then is it a 404. A few such waits
 * per tenant run at once in an isolate; past them, a missing row is a 404 at once, so made-up
 * recent ids cannot hold requests open or multiply ledger calls without bound.
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
import type { LedgerClient } from "../lease/ledger-client";

const FEEDBACK_BODY_LIMIT = 16 * 1024;
const HOUR_MS = 3_600_000;

/** How long after its arrival a request's row may still be on its way (a long stream's ends late). */
const SETTLING_MS = HOUR_MS;
/** How far ahead of this isolate's clock another isolate's may be. */
const CLOCK_SKEW_MS = 5_000;
/** The longest wait for this isolate's own reports before looking again. */
const REPORT_WAIT_MS = 500;
/** The waits before each further look for a row still on its way: the first at once (after this isolate's reports). */
const LOOK_AGAIN_MS = [0, 250, 500, 1_000];
/** Waits for rows on their way that may run at once per tenant in this isolate. */
const MAX_WAITING_PER_TENANT = 4;

/** Per tenant, the feedback requests of this isolate now waiting for a row. */
const waiting = new Map<string, number>();

/**
 * Whether a request with this id may have been answered without its row reaching the ledger yet.
 * Ids carry the arrival as the Worker's own clock had it (`Date.now()`, see app.ts), so they are
 * compared with that clock, not with the router's (which benchmarks may shift).
 */
function maySettleSoon(requestId: string, now: number): boolean {
  const arrived = requestIdTime(requestId);
  return arrived !== null && arrived <= now + CLOCK_SKEW_MS && now - arrived <= SETTLING_MS;
}

/** Whether the ledger's answer is final: recorded, or refused for a reason other than a missing row. */
function final(result: FeedbackResult): boolean {
  return result.ok || result.reason !== "not_found";
}

/** Records the feedback, waiting (briefly) for a row that may be on its way: see the module comment. */
async function recordWhenSettled(ctx: RequestContext, tenantId: string, ledger: LedgerClient, requestId: string, feedback: Feedback, windowMs: number): Promise<FeedbackResult> {
  const first = await ledger.recordFeedback(requestId, feedback, windowMs);
  if (final(first) || !maySettleSoon(requestId, Date.now())) return first;
  const already = waiting.get(tenantId) ?? 0;
  if (already >= MAX_WAITING_PER_TENANT) return first;
  waiting.set(tenantId, already + 1);
  try {
    const { leases, clock } = ctx.isolate;
    const sent = leases.reportNow(tenantId);
    // The reports outlive this request if it ends first (the client went away, a wait ran out).
    for (const work of leases.drain()) ctx.waitUntil(work);
    await Promise.race([sent, clock.sleep(REPORT_WAIT_MS)]);
    let result = first;
    for (const wait of LOOK_AGAIN_MS) {
      if (wait > 0) await clock.sleep(wait);
      result = await ledger.recordFeedback(requestId, feedback, windowMs);
      if (final(result)) break;
    }
    return result;
  } finally {
    const left = (waiting.get(tenantId) ?? 1) - 1;
    if (left > 0) waiting.set(tenantId, left);
    else waiting.delete(tenantId);
  }
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
  const result = await recordWhenSettled(ctx, admission.tenantId, caller.ledger, body.request_id, feedback, ctx.config.outcomes.feedbackWindowHours * HOUR_MS);
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
