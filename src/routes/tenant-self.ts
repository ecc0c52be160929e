/**
 * What a tenant's own key may read about its tenant: usage (`GET /v1/usage`, `/v1/usage/summary`)
 * and budgets (`GET /v1/budgets`). Scoped by the key's tenant: one tenant never sees another's.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { admitted, callerOf } from "./tenant-auth";
import { usageResponse, usageSummaryResponse } from "./usage-query";

/** The caller's ledger, once its key is verified. */
async function ownLedger(c: Context<AppEnv>) {
  const caller = await callerOf(c.env, c.req.raw);
  admitted(await caller.ledger.admit({ key: caller.key, requestId: c.get("requestId"), at: Date.now(), model: null, reserve: null }), null, caller);
  return caller.ledger;
}

export const tenantSelfRoutes = new Hono<AppEnv>()
  .get("/usage", async (c) => usageResponse(c, await ownLedger(c)))
  .get("/usage/summary", async (c) => usageSummaryResponse(c, await ownLedger(c)))
  .get("/budgets", async (c) => c.json({ object: "list", data: await (await ownLedger(c)).listBudgets(Date.now()) }));
