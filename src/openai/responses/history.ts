/**
 * What the router stores of a response, and the conversation a `previous_response_id` stands for
 * (https://platform.openai.com/docs/guides/conversation-state).
 *
 * OpenAI's rule: a response chained to a previous one sees the previous responses' input and output
 * items, in order; their `instructions` are not carried over (each request brings its own).
 * So each stored response keeps its own turn only (its input items, and its output in `response`)
 * and a link to the one before (`response.previous_response_id`): the caller walks the links
 * from the newest back and hands the chain over oldest first.
 */
import type { InputItem } from "./items";
import type { ResponsesRequest } from "./request";
import type { OutputItem, ResponseObject } from "./response-object";

/** One stored response: what `GET /v1/responses/{id}` returns, and the turn it adds to a chain. */
export interface StoredResponse {
  /** The response as it was returned (or as `response.completed` / `response.failed` carried it). */
  response: ResponseObject;
  /** The request's input as items (a string input is one user message); `instructions` excluded. */
  input: InputItem[];
}

/**
 * What to store for a response once it is over.
 * @example
 * storedResponse({ model: "m", input: "hi" }, response) // { response, input: [{ role: "user", content: "hi" }] }
 */
export function storedResponse(request: ResponsesRequest, response: ResponseObject): StoredResponse {
  return { response, input: inputItems(request) };
}

/**
 * A request's `input` as items: a string is one user message.
 * @example
 * inputItems({ model: "m", input: "hi" }) // [{ role: "user", content: "hi" }]
 */
export function inputItems(request: ResponsesRequest): InputItem[] {
  return typeof request.input === "string" ? [{ role: "user", content: request.input }] : request.input;
}

/** An output item as the input item it becomes on the next turn (only what the translation reads). */
function asInput(item: OutputItem): InputItem {
  if (item.type === "function_call") {
    return { type: "function_call", id: item.id, call_id: item.call_id, name: item.name, arguments: item.arguments };
  }
  const content = item.content.map((p) => (p.type === "refusal" ? { type: "refusal" as const, refusal: p.refusal } : { type: "output_text" as const, text: p.text }));
  return { type: "message", id: item.id, role: "assistant", content };
}

/**
 * An output item as a Responses origin is sent it on the next turn (`native.ts`): a function call
 * without the router's item id, an assistant message as its text, the form every server that
 * speaks the Responses API takes (the router's ids mean nothing to the origin).
 */
export function asOriginInput(item: OutputItem): InputItem {
  if (item.type === "function_call") return { type: "function_call", call_id: item.call_id, name: item.name, arguments: item.arguments };
  return { role: "assistant", content: item.content.map((p) => (p.type === "refusal" ? p.refusal : p.text)).join("") };
}

/**
 * The conversation a chain of stored responses holds, oldest first: each one's input, then its
 * output (as `asOutput` makes it an input item). Pass it as `history` to `toChatRequest`, or (with
 * `asOriginInput`) to `nativeRequest`.
 * @example
 * conversationItems([first, second]) // [...first.input, ...first.response.output, ...second.input, ...second.response.output]
 */
export function conversationItems(chain: readonly StoredResponse[], asOutput: (item: OutputItem) => InputItem = asInput): InputItem[] {
  return chain.flatMap((stored) => [...stored.input, ...stored.response.output.map(asOutput)]);
}
