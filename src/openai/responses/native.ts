/**
 * The Responses API passed through to an origin that speaks it (`speaksResponses`): the request it
 * is sent, and its answer read back as the chat completion (or the chat chunks) the rest of the
 * request path already knows how to relay, price, settle, judge and translate into the client's
 * `response`. Pure code, no I/O.
 *
 * THE REQUEST (`nativeRequest`): the client's, with the router's state kept the router's.
 * - `previous_response_id` removed, the conversation it names expanded into `input` (the stored
 *   turns, then this turn's input): the origin does not know the router's ids.
 * - `store: false`: the router stores the response; the origin keeps nothing.
 * - the output cap (the client's, or the router's when a budget lowered it) in
 *   `max_output_tokens` and only there (`max_tokens` and `max_completion_tokens`, which no
 *   Responses server reads, are dropped);
 * - `n` (accepted only as 1, not a Responses parameter) and nulls are left out; everything else,
 *   vendor fields included, passes as the client sent it.
 *
 * THE ANSWER, read back as chat (https://platform.openai.com/docs/api-reference/responses/object,
 * `/responses-streaming`): `output_text` parts become the message's content, `refusal` parts its
 * refusal, `function_call` items its tool calls (`id` is the `call_id`), in order; other items
 * (reasoning) are dropped, as on the translated path. Usage: `input_tokens` → `prompt_tokens`,
 * `output_tokens` → `completion_tokens`, `input_tokens_details.cached_tokens` →
 * `prompt_tokens_details.cached_tokens` (only when the origin gave it: an unreported cache stays
 * unreported, never a reported miss). Status `completed` finishes with `stop` (`tool_calls` when
 * there are calls), `incomplete` with `length` (`content_filter` when that was the reason); a
 * streamed `response.failed` or `error` becomes the error event an origin's chat stream sends.
 */
import { z } from "zod";
import { inputItems } from "./history";
import type { InputItem } from "./items";
import type { ResponsesRequest } from "./request";

/** Fields a Responses origin is never sent as the client wrote them. */
const NOT_SENT: ReadonlySet<string> = new Set(["previous_response_id", "store", "n", "max_output_tokens", "max_tokens", "max_completion_tokens"]);

/**
 * The body a Responses origin is sent for `request` (its `model` is set per origin later), after
 * the stored conversation of its `previous_response_id` (`conversationItems(chain,
 * asOriginInput)`, oldest first; empty without one), under the output cap `cap`.
 * @example
 * nativeRequest({ model: "m", input: "more", previous_response_id: "resp_1" }, [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }], 64)
 * // { model: "m", input: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }, { role: "user", content: "more" }], store: false, max_output_tokens: 64 }
 */
export function nativeRequest(request: ResponsesRequest, history: readonly InputItem[], cap: number | null): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (value === null || value === undefined || NOT_SENT.has(key)) continue;
    // defineProperty, not assignment: a passed-through key named "__proto__" stays a plain field.
    Object.defineProperty(body, key, { value, enumerable: true, writable: true, configurable: true });
  }
  if (history.length > 0) body.input = [...history, ...inputItems(request)];
  body.store = false;
  if (cap !== null) body.max_output_tokens = cap;
  return body;
}

const count = z.number().int().min(0);

/** `usage` of a response. */
const responsesUsageSchema = z.looseObject({
  input_tokens: count,
  output_tokens: count,
  total_tokens: count.nullish(),
  input_tokens_details: z.looseObject({ cached_tokens: count.nullish() }).nullish(),
  output_tokens_details: z.looseObject({ reasoning_tokens: count.nullish() }).nullish(),
});
type ResponsesUsage = z.infer<typeof responsesUsageSchema>;

/** A Responses usage as chat reports it (what `readUsage` and `responseUsage` read). */
function chatUsageOf(usage: ResponsesUsage): Record<string, unknown> {
  const cached = usage.input_tokens_details?.cached_tokens;
  const reasoning = usage.output_tokens_details?.reasoning_tokens;
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens ?? usage.input_tokens + usage.output_tokens,
    // Only the numbers the origin gave: a cache it did not report is unknown, not a miss (`Usage.cacheReported`).
    ...(typeof cached === "number" ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
    ...(typeof reasoning === "number" ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
  };
}

const partSchema = z.looseObject({ type: z.string(), text: z.string().nullish(), refusal: z.string().nullish(), logprobs: z.array(z.unknown()).nullish() });
const outputItemSchema = z.looseObject({
  type: z.string(),
  content: z.array(partSchema).nullish(),
  call_id: z.string().nullish(),
  name: z.string().nullish(),
  arguments: z.string().nullish(),
});

/** A finished (or unfinished) response, as far as it is read. */
const responseSchema = z.looseObject({
  status: z.string().nullish(),
  output: z.array(outputItemSchema).nullish(),
  incomplete_details: z.looseObject({ reason: z.string().nullish() }).nullish(),
  usage: responsesUsageSchema.nullish(),
});
type NativeResponse = z.infer<typeof responseSchema>;

/** The chat `finish_reason` of a response that ended; null for one that did not (`failed`, `in_progress`). */
function finishReasonOf(response: NativeResponse, calls: number): string | null {
  if (response.status === "completed") return calls > 0 ? "tool_calls" : "stop";
  if (response.status === "incomplete") return response.incomplete_details?.reason === "content_filter" ? "content_filter" : "length";
  return null;
}

/**
 * The chat completion a non-streamed Responses answer stands for; null when it is no finished
 * response (the origin's failure, as an unreadable chat answer is).
 * @example
 * chatCompletionOfResponse({ status: "completed", output: [{ type: "message", content: [{ type: "output_text", text: "hi" }] }], usage })
 * // { object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop", logprobs: null }], usage: {...} }
 */
export function chatCompletionOfResponse(value: unknown): Record<string, unknown> | null {
  const parsed = responseSchema.safeParse(value);
  if (!parsed.success) return null;
  const response = parsed.data;
  let content: string | null = null;
  let refusal: string | null = null;
  const logprobs: unknown[] = [];
  const toolCalls: Array<Record<string, unknown>> = [];
  for (const item of response.output ?? []) {
    if (item.type === "function_call") {
      toolCalls.push({ id: item.call_id ?? "", type: "function", function: { name: item.name ?? "", arguments: item.arguments ?? "" } });
    }
    if (item.type !== "message") continue;
    for (const part of item.content ?? []) {
      if (part.type === "output_text") {
        content = (content ?? "") + (part.text ?? "");
        logprobs.push(...(part.logprobs ?? []));
      }
      if (part.type === "refusal") refusal = (refusal ?? "") + (part.refusal ?? "");
    }
  }
  const finishReason = finishReasonOf(response, toolCalls.length);
  if (finishReason === null) return null;
  const message = { role: "assistant", content, ...(refusal !== null ? { refusal } : {}), ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
  return {
    object: "chat.completion",
    choices: [{ index: 0, message, finish_reason: finishReason, logprobs: logprobs.length > 0 ? { content: logprobs } : null }],
    ...(response.usage ? { usage: chatUsageOf(response.usage) } : {}),
  };
}

/** The fields of a streamed event that are read. */
const eventSchema = z.looseObject({
  type: z.string(),
  output_index: z.number().int().min(0).nullish(),
  content_index: z.number().int().min(0).nullish(),
  delta: z.string().nullish(),
  text: z.string().nullish(),
  arguments: z.string().nullish(),
  logprobs: z.array(z.unknown()).nullish(),
  item: outputItemSchema.nullish(),
  response: responseSchema.extend({ error: z.looseObject({ message: z.string().nullish(), code: z.string().nullish() }).nullish() }).nullish(),
  message: z.string().nullish(),
  code: z.string().nullish(),
});
type StreamEvent = z.infer<typeof eventSchema>;

/** One chat stream event: `data: <json>` and the blank line that ends it. */
function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** A chat chunk with one choice's delta. */
function chunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return sse({ object: "chat.completion.chunk", choices: [{ index: 0, delta, ...extra }] });
}

/** The error event a chat stream ends with. */
function errorEvent(message: string | null | undefined, code: string | null | undefined): string {
  return sse({ error: { message: message ?? "The origin's response failed.", type: "server_error", param: null, code: code ?? null } });
}

/**
 * Reads a Responses event stream, event by event, as the chat stream it stands for: text and
 * refusal deltas as content chunks, function calls as `tool_calls` deltas (opened by
 * `response.output_item.added`, one index per call), `response.completed` / `.incomplete` as the
 * finish chunk, the usage chunk (`choices: []`) and `[DONE]`; `response.failed` and `error` as an
 * error event. A server that sends a part's text or a call's arguments only in its `.done` event
 * has it sent then. Other events have no chat counterpart and make nothing.
 */
export class ChatChunksOfResponseEvents {
  /** Tool call index of each function call, by output index. */
  private readonly calls = new Map<number, number>();
  /** Output items (and their parts) that have had a delta: their `.done` repeats it. */
  private readonly streamed = new Set<string>();
  private ended = false;

  /** The chat stream text for one event's `data` (parsed JSON); "" when it has no counterpart. */
  event(data: unknown): string {
    const parsed = eventSchema.safeParse(data);
    if (!parsed.success || this.ended) return "";
    const event = parsed.data;
    const at = event.output_index ?? 0;
    const part = `${at}:${event.content_index ?? 0}`;
    switch (event.type) {
      case "response.output_item.added":
        return event.item?.type === "function_call" ? this.openCall(at, event.item) : "";
      case "response.output_text.delta":
        return this.text(part, event.delta, event.logprobs);
      case "response.output_text.done":
        return this.streamed.has(part) ? "" : this.text(part, event.text, event.logprobs);
      case "response.refusal.delta":
        this.streamed.add(part);
        return event.delta ? chunk({ refusal: event.delta }) : "";
      case "response.function_call_arguments.delta":
        return this.arguments(at, event.delta);
      case "response.function_call_arguments.done":
        return this.streamed.has(`${at}`) ? "" : this.arguments(at, event.arguments);
      case "response.completed":
      case "response.incomplete":
        return this.finish(event);
      case "response.failed":
        this.ended = true;
        return errorEvent(event.response?.error?.message, event.response?.error?.code);
      case "error":
        this.ended = true;
        return errorEvent(event.message, event.code);
      default:
        return "";
    }
  }

  private openCall(at: number, item: NonNullable<StreamEvent["item"]>): string {
    const index = this.calls.size;
    this.calls.set(at, index);
    return chunk({ tool_calls: [{ index, id: item.call_id ?? "", type: "function", function: { name: item.name ?? "", arguments: "" } }] });
  }

  private text(part: string, text: string | null | undefined, logprobs: unknown[] | null | undefined): string {
    this.streamed.add(part);
    if (!text) return "";
    return chunk({ content: text }, logprobs && logprobs.length > 0 ? { logprobs: { content: logprobs } } : {});
  }

  private arguments(at: number, piece: string | null | undefined): string {
    this.streamed.add(`${at}`);
    if (!piece) return "";
    let index = this.calls.get(at);
    if (index === undefined) {
      index = this.calls.size;
      this.calls.set(at, index);
    }
    return chunk({ tool_calls: [{ index, function: { arguments: piece } }] });
  }

  private finish(event: StreamEvent): string {
    this.ended = true;
    const response = event.response ?? {};
    const reason = finishReasonOf({ ...response, status: event.type === "response.completed" ? "completed" : "incomplete" }, this.calls.size);
    const usage = response.usage ? sse({ object: "chat.completion.chunk", choices: [], usage: chatUsageOf(response.usage) }) : "";
    return `${chunk({}, { finish_reason: reason })}${usage}data: [DONE]\n\n`;
  }
}
