/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: the request path of DESIGN §1, one named
 * step after another. Admit (read, validate, authenticate, reserve: under the isolate's lease, or in
 * one round trip to the tenant's ledger), place (the pure decision over cached health, a flex wait),
 * send (forward with fallback before the first byte), finish (the response; settlement, health and
 * the decision log after it).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { chatRequestSchema, embeddingsRequestSchema, type ProxyRequest } from "../openai/requests";
import { admit } from "../request/admit";
import { requestContext } from "../request/context";
import { finish } from "../request/finish";
import { place } from "../request/place";
import { send } from "../request/send";
import { Settlement } from "../request/settlement";
import { documented } from "../openapi/registry";

documented(
  {
    method: "post",
    path: "/v1/chat/completions",
    tag: "OpenAI",
    auth: "tenant",
    summary: "Chat completions, streamed (SSE) or not, routed to the scenario's origins",
    description: "`model` names a scenario. Fields the router does not use pass through to the origin untouched.",
    body: chatRequestSchema,
    responses: { 200: { description: "A chat completion, or its chunks as server-sent events", stream: true } },
  },
  { method: "post", path: "/v1/embeddings", tag: "OpenAI", auth: "tenant", summary: "Embeddings", body: embeddingsRequestSchema, responses: { 200: { description: "`{object: list, data, model, usage}`" } } },
);

/** The handler of one proxied endpoint. */
export function proxyHandler(endpoint: ProxyRequest["endpoint"]) {
  return async function proxy(c: Context<AppEnv>): Promise<Response> {
    const ctx = requestContext(c);
    const admission = await admit(ctx, endpoint);
    // Settled exactly once from here on: when it is answered, when the client leaves first, or
    // when the router itself fails (then nothing is charged, and nothing stays reserved).
    const settlement = new Settlement(ctx, admission);
    try {
      const placement = await place(ctx, admission);
      const result = await send(ctx, admission, placement, settlement);
      return finish(ctx, admission, placement, settlement, result);
    } catch (e) {
      settlement.failed();
      throw e;
    }
  };
}
