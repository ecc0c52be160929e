/**
 * `GET /v1/responses/{id}` and `DELETE /v1/responses/{id}`: a tenant's own stored responses
 * (https://platform.openai.com/docs/api-reference/responses/get, /delete). The key is verified by
 * its tenant's ledger first, and only that tenant's ledger is asked: an id of another tenant's
 * response is unknown here. An id the router could not have made is a 404 without any round trip.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { RouterError } from "../openai/errors";
import type { StoredResponse } from "../openai/responses";
import { verifiedCaller } from "../request/authenticate";
import { requestContext } from "../request/context";
import { documented } from "../openapi/registry";

/** The ids `responseIdOf` makes. */
const RESPONSE_ID = /^resp_[0-9a-f]{32}$/;

/** The id in the path, the caller's ledger and the router's clock; throws 404 for an id never made here. */
async function lookup(c: Context<AppEnv>): Promise<{ id: string; ledger: Awaited<ReturnType<typeof verifiedCaller>>["caller"]["stub"]; at: number }> {
  const ctx = requestContext(c);
  const { caller } = await verifiedCaller(ctx);
  const id = c.req.param("id") ?? "";
  if (!RESPONSE_ID.test(id)) throw notFound(id);
  return { id, ledger: caller.stub, at: ctx.isolate.clock.now() };
}

function notFound(id: string): RouterError {
  return new RouterError({ kind: "not_found", what: `Response with id '${id.slice(0, 128)}'` });
}

documented(
  { method: "get", path: "/v1/responses/{id}", tag: "OpenAI", auth: "tenant", summary: "A stored response (`store: true`), until the tenant's response retention ends", responses: { 200: { description: "The response object" } } },
  { method: "delete", path: "/v1/responses/{id}", tag: "OpenAI", auth: "tenant", summary: "Delete a stored response", responses: { 200: { description: "`{id, object: response, deleted: true}`" } } },
);

export const responseRoutes = new Hono<AppEnv>()
  .get("/:id", async (c) => {
    const { id, ledger, at } = await lookup(c);
    const body = await ledger.getResponse(id, at);
    if (body === null) throw notFound(id);
    return c.json((JSON.parse(body) as StoredResponse).response);
  })
  .delete("/:id", async (c) => {
    const { id, ledger, at } = await lookup(c);
    if (!(await ledger.deleteResponse(id, at))) throw notFound(id);
    return c.json({ id, object: "response", deleted: true });
  });
