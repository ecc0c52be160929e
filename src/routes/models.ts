/**
 * `GET /v1/models` and `GET /v1/models/{model}`: the scenarios (model aliases) this key may use,
 * in OpenAI's list shape, so SDKs' `models.list()` and `models.retrieve()` work unchanged.
 */
import { Hono } from "hono";
import { activeConfig } from "../config/load";
import type { AppEnv } from "../env";
import { RouterError } from "../openai/errors";
import { admitted, callerOf, mayUse } from "./tenant-auth";

/** Scenarios have no creation time; a fixed one keeps responses stable. */
const CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z

function modelObject(id: string) {
  return { id, object: "model" as const, created: CREATED, owned_by: "token-router" };
}

export const modelRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const caller = await callerOf(c.env, c.req.raw);
    const admission = admitted(await caller.ledger.admit({ key: caller.key, requestId: c.get("requestId"), at: Date.now(), model: null, reserve: null }), null, caller);
    const ids = Object.keys(activeConfig(c.env).scenarios).filter((id) => mayUse(admission.allowedModels, id));
    return c.json({ object: "list", data: ids.map(modelObject) });
  })
  .get("/:model{.+}", async (c) => {
    const caller = await callerOf(c.env, c.req.raw);
    const admission = admitted(await caller.ledger.admit({ key: caller.key, requestId: c.get("requestId"), at: Date.now(), model: null, reserve: null }), null, caller);
    const model = c.req.param("model");
    const scenarios = activeConfig(c.env).scenarios;
    if (!Object.hasOwn(scenarios, model) || !mayUse(admission.allowedModels, model)) {
      throw new RouterError({ kind: "model_not_found", model });
    }
    return c.json(modelObject(model));
  });
