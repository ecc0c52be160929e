/**
 * A `POST /v1/responses` request made ready for the request path (issue #17): validated, its
 * `previous_response_id` conversation rebuilt from the tenant's stored responses, and translated to
 * the chat completions request it stands for. From there it is admitted, placed and forwarded like
 * any chat request (budgets, limits, leases, routing, affinity: the chained history is the start of
 * the prompt it fingerprints), and its answer is translated back (`responses-answer.ts`).
 *
 * WHAT IS PASSED THROUGH. An origin that speaks the Responses API (`speaksResponses`: the `openai`
 * provider by default, any origin with `responsesApi: true`, such as a vLLM pool) is sent the
 * Responses request itself, at `/responses`, whenever an attempt goes to it (fallback included):
 * what it adds over chat (its own handling of items, `text.format`, `include`, reasoning) is the
 * client's. Every other origin is sent the chat translation. Either way the request was validated
 * here first: what the router refuses (built-in tools, `background`, ...) is refused for both.
 *
 * WHY THE STATE STAYS THE ROUTER'S. A stored response must stay readable and chainable whichever
 * origin served it, and fallback may move a conversation between origins from one turn to the
 * next; an origin's own store would hold only the turns it served, under its own ids. So a native
 * origin is sent `store: false` and the whole conversation in `input` (`previous_response_id`
 * removed: its ids are the router's), with the output cap in `max_output_tokens`
 * (`openai/responses/native.ts`); its answer is read back as chat (`proxy/forward.ts`) and becomes
 * the client's `response` under the router's ids, priced, settled and stored exactly as a
 * translated one.
 */
import type { Caller } from "./authenticate";
import type { RequestContext } from "./context";
import { RouterError } from "../openai/errors";
import { chatRequestSchema, validate, type ChatRequest } from "../openai/requests";
import {
  asOriginInput,
  conversationItems,
  parseResponsesRequest,
  toChatRequest,
  type InputItem,
  type ResponseIds,
  type ResponsesRequest,
  type StoredResponse,
} from "../openai/responses";

/** Largest request body that may be stored (`store`, the default): a stored row holds at most 2 MB. */
export const MAX_STORED_REQUEST_BYTES = 1024 * 1024;

/** A Responses request on its way: the request, the ids its response will carry. */
export interface ResponsesTurn {
  request: ResponsesRequest;
  ids: ResponseIds;
  /** Whether its response is stored (`store`, true unless set to false). */
  store: boolean;
  /** The stored conversation as a Responses origin is sent it (`nativeRequest`): empty without `previous_response_id`. */
  originHistory: InputItem[];
}

/**
 * The id of the response to a request: `resp_` and the request id's hex, so a response names the
 * usage record of the request that made it (`GET /v1/usage/req_…`).
 */
export function responseIdOf(requestId: string): string {
  return `resp_${requestId.replace(/^req_/, "")}`;
}

/**
 * Validates a Responses body, rebuilds its conversation and translates it: the turn and the chat
 * request to forward. Throws the 400 (or the 404 of an unknown `previous_response_id`) it deserves.
 */
export async function responsesTurn(ctx: Pick<RequestContext, "requestId" | "startedAt">, caller: Pick<Caller, "ledger">, value: unknown, bytes: number): Promise<{ turn: ResponsesTurn; chat: ChatRequest }> {
  const parsed = parseResponsesRequest(value);
  if (!parsed.ok) throw new RouterError(parsed.failure);
  const request = parsed.request;
  const store = request.store !== false;
  if (store && bytes > MAX_STORED_REQUEST_BYTES) {
    throw new RouterError({
      kind: "invalid_body",
      message: `A request of more than ${MAX_STORED_REQUEST_BYTES} bytes cannot be stored; send 'store': false (it then cannot be continued with previous_response_id).`,
      param: "store",
    });
  }
  const history = request.previous_response_id ? await storedConversation(ctx, caller, request.previous_response_id) : [];
  const chat = validate(chatRequestSchema, toChatRequest(request, conversationItems(history)));
  const ids = { responseId: responseIdOf(ctx.requestId), createdAt: Math.floor(ctx.startedAt / 1000) };
  return { turn: { request, ids, store, originHistory: conversationItems(history, asOriginInput) }, chat };
}

/** The stored responses the conversation ending at `id` is made of, oldest first. */
async function storedConversation(ctx: Pick<RequestContext, "startedAt">, caller: Pick<Caller, "ledger">, id: string): Promise<StoredResponse[]> {
  const chain = await caller.ledger.responseChain(id, ctx.startedAt);
  if (chain.ok) return chain.bodies.map((body) => JSON.parse(body) as StoredResponse);
  if (chain.reason === "not_found") {
    throw new RouterError({ kind: "not_found", what: `Previous response with id '${chain.id.slice(0, 128)}'`, param: "previous_response_id" });
  }
  throw new RouterError({ kind: "invalid_body", message: "The conversation behind 'previous_response_id' is too long to continue; start a new one.", param: "previous_response_id" });
}
