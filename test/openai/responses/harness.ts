/**
 * A stand-in for the router's wiring of `/v1/responses`, in a few lines, so the pure translation can
 * be driven end to end: the official SDK → `parseResponsesRequest` → `toChatRequest` (with the
 * stored history of `previous_response_id`) → the simulator's chat completions → `fromChatCompletion`
 * or `ResponsesStreamTranslator` → the SDK. Stored responses live in a Map, as they will in a
 * tenant's object. Ids are sequential and times fixed, so answers are exact.
 */
import OpenAI from "openai";
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  conversationItems,
  encodeEvent,
  fromChatCompletion,
  parseResponsesRequest,
  ResponsesStreamTranslator,
  storedResponse,
  toChatRequest,
  type ChatRequestBody,
  type StoredResponse,
} from "../../../src/openai/responses";
import { createSimulator } from "../../../src/sim";

export const CREATED_AT = 1_700_000_000;
export const COMPLETED_AT = 1_700_000_001;

/** What a test can see of the harness. */
export interface Harness {
  client: OpenAI;
  /** Stored responses by id. */
  store: Map<string, StoredResponse>;
  /** The chat bodies sent to the simulator, in order. */
  chatBodies: ChatRequestBody[];
}

function error(status: number, message: string, param: string | null = null): Response {
  return Response.json({ error: { message, type: "invalid_request_error", param, code: null } }, { status });
}

/** A fresh harness: a fresh simulator, an empty store. */
export function responsesHarness(): Harness {
  const sim = createSimulator({ origins: { a: {} } }, { now: () => CREATED_AT * 1000 });
  const store = new Map<string, StoredResponse>();
  const chatBodies: ChatRequestBody[] = [];
  let seq = 0;

  async function create(body: unknown): Promise<Response> {
    const parsed = parseResponsesRequest(body);
    if (!parsed.ok) return error(400, parsed.failure.message, parsed.failure.param);
    const request = parsed.request;
    // The chain behind previous_response_id, walked from the newest back, handed over oldest first.
    const chain: StoredResponse[] = [];
    for (let id = request.previous_response_id; id; ) {
      const stored = store.get(id);
      if (!stored) return error(404, `Previous response with id '${id}' not found.`, "previous_response_id");
      chain.unshift(stored);
      id = stored.response.previous_response_id;
    }
    const chat = toChatRequest(request, conversationItems(chain));
    chatBodies.push(chat);
    const upstream = await sim.fetch(new Request("http://sim/a/v1/chat/completions", { method: "POST", body: JSON.stringify(chat) }));
    const ids = { responseId: `resp_${++seq}`, createdAt: CREATED_AT };
    const keep = (response: StoredResponse["response"]): void => {
      if (request.store !== false) store.set(response.id, storedResponse(request, response));
    };
    if (!request.stream) {
      const response = fromChatCompletion(chatCompletionSchema.parse(await upstream.json()), request, { ...ids, completedAt: COMPLETED_AT });
      keep(response);
      return Response.json(response);
    }
    const translator = new ResponsesStreamTranslator(request, ids);
    let out = "";
    for (const event of (await upstream.text()).split("\n\n")) {
      if (!event.startsWith("data: ")) continue;
      const data = event.slice("data: ".length);
      const events = data === "[DONE]" ? translator.finish(COMPLETED_AT) : translator.push(chatCompletionChunkSchema.parse(JSON.parse(data)));
      for (const e of events) out += encodeEvent(e);
    }
    if (translator.response) keep(translator.response);
    return new Response(out, { headers: { "content-type": "text/event-stream" } });
  }

  async function serve(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/v1/responses" && request.method === "POST") return create(await request.json());
    const id = pathname.match(/^\/v1\/responses\/([^/]+)$/)?.[1] ?? "";
    const stored = store.get(id);
    if (!stored) return error(404, `No response with id '${id}'.`);
    if (request.method === "GET") return Response.json(stored.response);
    store.delete(id);
    return Response.json({ id, object: "response", deleted: true });
  }

  const client = new OpenAI({ apiKey: "sk-test", baseURL: "http://router/v1", maxRetries: 0, fetch: (input, init) => serve(new Request(input, init)) });
  return { client, store, chatBodies };
}
