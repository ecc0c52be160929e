/**
 * `GET /v1/models` and `GET /v1/models/{model}`: the scenarios (model aliases) this key may use,
 * in OpenAI's list shape, so SDKs' `models.list()` and `models.retrieve()` work unchanged.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { RouterError } from "../openai/errors";
import { mayUse, verifiedCaller } from "../request/authenticate";
import { requestContext } from "../request/context";
import { documented } from "../openapi/registry";

/** Scenarios have no creation time; a fixed one keeps responses stable. */
const CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z

function modelObject(id: string) {
  return { id, object: "model" as const, created: CREATED, owned_by: "token-router" };
}

documented(
  { method: "get", path: "/v1/models", tag: "OpenAI", auth: "tenant", summary: "The scenarios (model names) this key may use", responses: { 200: { description: "`{object: list, data: [{id, object: model, created, owned_by}]}`" } } },
  { method: "get", path: "/v1/models/{model}", tag: "OpenAI", auth: "tenant", summary: "One model", responses: { 200: { description: "`{id, object: model, created, owned_by}`" } } },
);

export const modelRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const ctx = requestContext(c);
    const { admission } = await verifiedCaller(ctx);
    const ids = Object.keys(ctx.config.scenarios).filter((id) => mayUse(admission.allowedModels, id));
    return c.json({ object: "list", data: ids.map(modelObject) });
  })
  .get("/:model{.+}", async (c) => {
    const ctx = requestContext(c);
    const { admission } = await verifiedCaller(ctx);
    const model = c.req.param("model");
    if (!Object.hasOwn(ctx.config.scenarios, model) || !mayUse(admission.allowedModels, model)) {
      throw new RouterError({ kind: "model_not_found", model });
    }
    return c.json(modelObject(model));
  });
