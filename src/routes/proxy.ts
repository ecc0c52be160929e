/**
 * `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and `/v1/responses`: the
 * request path of DESIGN §1, one named step after another. Admit (read, validate, authenticate, reserve: under the isolate's lease, or in
 * one round trip to the tenant's ledger), place (the pure decision over cached health, a flex wait),
 * send (forward with fallback before the first byte), finish (the response; settlement, health and
 * the decision log after it).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { chatRequestSchema, completionsRequestSchema, embeddingsRequestSchema, type ApiEndpoint } from "../openai/requests";
import { responsesRequestSchema } from "../openai/responses";
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
  {
    method: "post",
    path: "/v1/completions",
    tag: "OpenAI",
    auth: "tenant",
    summary: "Legacy text completions, streamed (SSE) or not, routed like chat",
    description: "`model` names a scenario; the scenario's origins must serve `/v1/completions`. `usage.cost` is the answer's price in USD.",
    body: completionsRequestSchema,
    responses: { 200: { description: "A text completion, or its chunks as server-sent events", stream: true } },
  },
  { method: "post", path: "/v1/embeddings", tag: "OpenAI", auth: "tenant", summary: "Embeddings", body: embeddingsRequestSchema, responses: { 200: { description: "`{object: list, data, model, usage}`" } } },
  {
    method: "post",
    path: "/v1/responses",
    tag: "OpenAI",
    auth: "tenant",
    summary: "The Responses API: passed through to origins that speak it, translated to chat completions for the rest",
    description:
      "Function tools, `text.format`, `previous_response_id` and `store` are served; built-in tools, `background`, `conversation`, `prompt`, `truncation: auto` and `context_management` are refused with a 400 naming the field.",
    body: responsesRequestSchema,
    responses: { 200: { description: "A response object, or its events (`response.created` ... `response.completed`) as server-sent events", stream: true } },
  },
);

/** The handler of one proxied endpoint. */
export function proxyHandler(endpoint: ApiEndpoint) {
  return async function proxy(c: Context<AppEnv>): Promise<Response> {
    const ctx = requestContext(c);
    const admission = await admit(ctx, endpoint);
    // Settled exactly once from here on: when it is answered, when the client leaves first, or
    // when the router itself fails (then nothing is charged, and nothing stays reserved).
    const settlement = new Settlement(ctx, admission);
    try {
      const placement = await place(ctx, admission);
      const result = await send(ctx, admission, placement, settlement);
      return await finish(ctx, admission, placement, settlement, result);
    } catch (e) {
      settlement.failed();
      throw e;
    }
  };
}
