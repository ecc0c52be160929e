/**
 * `POST /<origin>/v1/responses`: the Responses API as an origin that speaks it natively serves it
 * (OpenAI; vLLM and SGLang in recent versions), for the profiles that do (`PROFILE_SPECS`). The
 * answer is the chat completion the same request would get (`chat.ts`: same prompt rendering,
 * cache, prefill queue, timing and faults), in the Responses shape: the request is read as chat
 * with the router's own translation, and the chat answer (or each streamed chunk, as it is paced)
 * translated back. Like a server started without a response store, it keeps nothing:
 * `previous_response_id` is refused.
 */
import { chatCompletionChunkSchema, chatCompletionSchema, encodeEvent, fromChatCompletion, parseResponsesRequest, ResponsesStreamTranslator, toChatRequest, type ResponseStreamEvent } from "../openai/responses";
import { ChatRequestSchema, completionOf, eventStream, startCompletion } from "./chat";
import { chatChunks, pacedEvents, untilLastToken } from "./chat-stream";
import type { RequestContext } from "./context";
import { errorResponse, invalidRequest } from "./errors";
import { jsonResponse } from "./faults";

const encoder = new TextEncoder();

/**
 * Serves one Responses request whose JSON body has already been parsed.
 * @example
 * await handleResponses({ model: "m", input: "hi" }, ctx)
 */
export async function handleResponses(body: unknown, ctx: RequestContext): Promise<Response> {
  const parsed = parseResponsesRequest(body);
  if (!parsed.ok) return errorResponse({ status: 400, message: parsed.failure.message, param: parsed.failure.param ?? undefined });
  const request = parsed.request;
  if (request.previous_response_id != null) {
    return errorResponse({ status: 400, message: "This server stores no responses; send the whole conversation in 'input'.", param: "previous_response_id" });
  }
  const chat = ChatRequestSchema.safeParse(toChatRequest(request));
  if (!chat.success) return invalidRequest("response", chat.error);
  const started = startCompletion(chat.data, ctx);
  if (started instanceof Response) return started;
  const { plan, end } = started;
  const ids = { responseId: `resp_${plan.id.replace(/^chatcmpl-/, "")}`, createdAt: plan.created };

  if (request.stream === true) {
    const translator = new ResponsesStreamTranslator(request, ids);
    const encode = (events: ResponseStreamEvent[]) => encoder.encode(events.map(encodeEvent).join(""));
    // Every chunk is translated as it is paced; the usage chunk only feeds `response.completed`.
    const shape = chatChunks(plan, true, (chunk) => encode(translator.push(chatCompletionChunkSchema.parse(chunk))));
    const events = pacedEvents(plan.choices, plan, {
      ...shape,
      usage: () => {
        shape.usage();
        return null;
      },
      end: () => encode(translator.finish(Math.floor(ctx.now() / 1000))),
      error: (message) => encode(translator.fail({ message, code: "server_error" })),
    }, ctx);
    return eventStream(events, ctx, end);
  }

  await untilLastToken(plan.choices, plan, ctx.lifetime.signal, end);
  const completion = chatCompletionSchema.parse(completionOf(plan, ctx));
  const response = fromChatCompletion(completion, request, { ...ids, completedAt: Math.floor(ctx.now() / 1000) });
  if (ctx.fault?.omitCacheDetails && response.usage) {
    const { input_tokens_details: _, ...usage } = response.usage;
    return jsonResponse(JSON.stringify({ ...response, usage }), ctx.fault, ctx.lifetime, end);
  }
  return jsonResponse(JSON.stringify(response), ctx.fault, ctx.lifetime, end);
}
