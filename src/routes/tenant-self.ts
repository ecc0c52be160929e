/**
 * What a tenant's own key may read about its tenant: usage (`GET /v1/usage`, `/v1/usage/summary`,
 * one request's `GET /v1/usage/{request_id}`) and budgets (`GET /v1/budgets`). Scoped by the key's
 * tenant: one tenant never sees another's.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { verifiedCaller } from "../request/authenticate";
import { requestContext } from "../request/context";
import { usageRecordResponse, usageResponse, usageSummaryResponse } from "./usage-query";

/** The caller's ledger, once its key is verified. */
async function ownLedger(c: Context<AppEnv>) {
  return (await verifiedCaller(requestContext(c))).caller.stub;
}

export const tenantSelfRoutes = new Hono<AppEnv>()
  .get("/usage", async (c) => usageResponse(c, await ownLedger(c)))
  .get("/usage/summary", async (c) => usageSummaryResponse(c, await ownLedger(c)))
  .get("/usage/:request_id", async (c) => usageRecordResponse(c, await ownLedger(c)))
  .get("/budgets", async (c) => {
    const ctx = requestContext(c);
    const { caller } = await verifiedCaller(ctx);
    return c.json({ object: "list", data: await caller.stub.listBudgets(ctx.isolate.clock.now()) });
  });
