/**
 * What a tenant's own key may read about its tenant: usage (`GET /v1/usage`, `/v1/usage/summary`,
 * one request's `GET /v1/usage/{request_id}`) and budgets (`GET /v1/budgets`). Scoped by the key's
 * tenant: one tenant never sees another's.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { verifiedCaller } from "../request/authenticate";
import { requestContext } from "../request/context";
import { usageQuerySchema, usageRecordResponse, usageResponse, usageSummaryResponse, usageSummarySchema } from "./usage-query";
import { documented } from "../openapi/registry";

/** The caller's ledger, once its key is verified. */
async function ownLedger(c: Context<AppEnv>) {
  return (await verifiedCaller(requestContext(c))).caller.stub;
}

documented(
  { method: "get", path: "/v1/usage", tag: "Tenant", auth: "tenant", summary: "The key's tenant's usage rows, filtered and paged, or exported", query: usageQuerySchema, responses: { 200: { description: "`{object: list, data, has_more, next_cursor}`, or CSV / JSON Lines" } } },
  { method: "get", path: "/v1/usage/summary", tag: "Tenant", auth: "tenant", summary: "The tenant's usage totals by day, model, origin, key, user, tag or metadata.<key> (or up to three columns: model,origin,day), with outcomes and cost per accepted outcome", query: usageSummarySchema, responses: { 200: { description: "`{object: list, group_by, data}`" } } },
  { method: "get", path: "/v1/usage/{request_id}", tag: "Tenant", auth: "tenant", summary: "One request's usage record (its `x-request-id`), with its cost in USD", responses: { 200: { description: "`{object: usage_record, requestId, ..., costMicros, costUsd, user, metadata, tags}`" } } },
  { method: "get", path: "/v1/budgets", tag: "Tenant", auth: "tenant", summary: "The tenant's budgets and where they stand", responses: { 200: { description: "`{object: list, data}`" } } },
);

export const tenantSelfRoutes = new Hono<AppEnv>()
  .get("/usage", async (c) => usageResponse(c, await ownLedger(c)))
  .get("/usage/summary", async (c) => usageSummaryResponse(c, await ownLedger(c)))
  .get("/usage/:request_id", async (c) => usageRecordResponse(c, await ownLedger(c)))
  .get("/budgets", async (c) => {
    const ctx = requestContext(c);
    const { caller } = await verifiedCaller(ctx);
    return c.json({ object: "list", data: await caller.stub.listBudgets(ctx.isolate.clock.now()) });
  });
