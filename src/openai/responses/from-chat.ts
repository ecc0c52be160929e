/**
 * A chat completion turned into a Responses API `response` (not streamed).
 *
 * The first choice becomes `output`: a `message` item when it has text or a refusal (one
 * `output_text` part, then one `refusal` part), then one `function_call` item per tool call, in
 * order, as the Responses API lists a message before the calls made in the same turn.
 * `finish_reason` "length" makes the response (and its items) `incomplete` with reason
 * `max_output_tokens`, "content_filter" with reason `content_filter`; anything else `completed`.
 */
import type { ChatCompletion } from "./chat-completion";
import type { ResponsesRequest } from "./request";
import {
  fallbackCallId,
  itemId,
  outcomeOf,
  outputLogprob,
  responseObject,
  responseUsage,
  wantsLogprobs,
  type OutputItem,
  type OutputMessage,
  type ResponseIds,
  type ResponseObject,
} from "./response-object";

/** The ids of a finished response: those of `ResponseIds`, and when it completed. */
export interface FinishedResponseIds extends ResponseIds {
  /** Unix seconds. */
  completedAt: number;
}

/**
 * The `response` for a chat completion the origin returned for `toChatRequest(request)`.
 * @example
 * fromChatCompletion(chatBody, request, { responseId: "resp_1", createdAt: 1700000000, completedAt: 1700000001 })
 */
export function fromChatCompletion(chat: ChatCompletion, request: ResponsesRequest, ids: FinishedResponseIds): ResponseObject {
  const choice = chat.choices[0]!;
  const { status, incompleteReason } = outcomeOf(choice.finish_reason);
  const itemStatus = status === "completed" ? "completed" : "incomplete";
  const output: OutputItem[] = [];
  const { content, refusal, tool_calls: toolCalls } = choice.message;
  if ((content != null && content !== "") || refusal) {
    const message: OutputMessage = { id: itemId(ids.responseId, "msg", 0), type: "message", status: itemStatus, role: "assistant", content: [] };
    if (content != null && content !== "") {
      const logprobs = wantsLogprobs(request) ? (choice.logprobs?.content ?? []).map(outputLogprob) : undefined;
      message.content.push({ type: "output_text", text: content, annotations: [], ...(logprobs ? { logprobs } : {}) });
    }
    if (refusal) message.content.push({ type: "refusal", refusal });
    output.push(message);
  }
  for (const call of toolCalls ?? []) {
    const index = output.length;
    output.push({
      id: itemId(ids.responseId, "fc", index),
      type: "function_call",
      status: itemStatus,
      call_id: call.id ?? fallbackCallId(ids.responseId, index),
      name: call.function.name,
      arguments: call.function.arguments,
    });
  }
  return responseObject(request, ids, {
    status,
    output,
    usage: chat.usage ? responseUsage(chat.usage) : undefined,
    incompleteReason,
    completedAt: status === "completed" ? ids.completedAt : undefined,
  });
}
