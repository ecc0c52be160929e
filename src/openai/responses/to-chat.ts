/**
 * A Responses API request as the equivalent chat completions request
 * (https://platform.openai.com/docs/api-reference/chat/create).
 *
 * THE MAPPING.
 * - `messages`: `instructions` as a `system` message (the role every chat server knows; OpenAI
 *   treats it as `developer`), then the stored conversation (`history`), then `input` (a string is
 *   one user message). Items become messages by `itemsToMessages` (`messages.ts`).
 * - `tools` (function only) → `{type: "function", function: {name, description, parameters,
 *   strict}}`; `tool_choice` → the same option, or `{type: "function", function: {name}}`;
 *   `parallel_tool_calls` as is. All three only when there are tools: OpenAI refuses
 *   `tool_choice` and `parallel_tool_calls` without them.
 * - `text.format` → `response_format` (`json_schema` moves `name`, `schema`, `description` and
 *   `strict` under `json_schema`; `text` is the default and is left out); `text.verbosity` →
 *   `verbosity`.
 * - `max_output_tokens` → `max_completion_tokens` (the field OpenAI's reasoning models require;
 *   the router renames it per provider); `reasoning.effort` → `reasoning_effort`.
 * - `include: ["message.output_text.logprobs"]` → `logprobs: true` with `top_logprobs`.
 * - `stream: true` → `stream: true` and `stream_options: {include_usage: true}` (the usage chunk
 *   feeds `response.completed`).
 * - Kept under the same name: `model`, `temperature`, `top_p`, `user`, `safety_identifier`,
 *   `prompt_cache_key`, `prompt_cache_retention`, `service_tier`.
 * - Consumed by the router, not sent: `metadata`, `store`, `previous_response_id`, `include`'s
 *   other values, `stream_options`, `max_tool_calls` (it counts built-in tool calls only).
 * - Every field the Responses API does not define passes through untouched (a field the mapping
 *   sets, such as `messages`, is not overwritten).
 * Nulls are left out.
 */
import { inputItems } from "./history";
import { itemsToMessages, type ChatMessage } from "./messages";
import type { InputItem } from "./items";
import { RESPONSES_FIELDS, type ResponsesRequest } from "./request";
import { wantsLogprobs } from "./response-object";

/** A chat function tool. */
export interface ChatFunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

/** A chat `response_format`. */
export type ChatResponseFormat =
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; schema: Record<string, unknown>; description?: string; strict?: boolean } };

/** The chat completions request body; fields the Responses API does not define ride along. */
export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  stream?: true;
  stream_options?: { include_usage: true };
  tools?: ChatFunctionTool[];
  tool_choice?: "none" | "auto" | "required" | { type: "function"; function: { name: string } };
  parallel_tool_calls?: boolean;
  response_format?: ChatResponseFormat;
  verbosity?: "low" | "medium" | "high";
  max_completion_tokens?: number;
  reasoning_effort?: NonNullable<NonNullable<ResponsesRequest["reasoning"]>["effort"]>;
  logprobs?: true;
  top_logprobs?: number;
  temperature?: number;
  top_p?: number;
  user?: string;
  safety_identifier?: string;
  prompt_cache_key?: string;
  prompt_cache_retention?: NonNullable<ResponsesRequest["prompt_cache_retention"]>;
  service_tier?: NonNullable<ResponsesRequest["service_tier"]>;
  [passthrough: string]: unknown;
}

/**
 * The chat completions body equivalent to a Responses request, after the stored conversation of
 * its `previous_response_id` (`conversationItems`, oldest first; empty without one).
 * @example
 * toChatRequest({ model: "m", input: "hi", instructions: "be brief" })
 * // { model: "m", messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }] }
 */
export function toChatRequest(request: ResponsesRequest, history: readonly InputItem[] = []): ChatRequestBody {
  const messages = itemsToMessages([...history, ...inputItems(request)]);
  if (request.instructions != null) messages.unshift({ role: "system", content: request.instructions });
  const body: ChatRequestBody = { model: request.model, messages };

  const tools = request.tools ?? [];
  if (tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description != null ? { description: t.description } : {}),
        ...(t.parameters != null ? { parameters: t.parameters } : {}),
        ...(t.strict != null ? { strict: t.strict } : {}),
      },
    }));
    const choice = request.tool_choice;
    if (choice != null) body.tool_choice = typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } };
    if (request.parallel_tool_calls != null) body.parallel_tool_calls = request.parallel_tool_calls;
  }

  const format = request.text?.format;
  if (format?.type === "json_object") body.response_format = { type: "json_object" };
  if (format?.type === "json_schema") {
    body.response_format = {
      type: "json_schema",
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.description != null ? { description: format.description } : {}),
        ...(format.strict != null ? { strict: format.strict } : {}),
      },
    };
  }
  if (request.text?.verbosity != null) body.verbosity = request.text.verbosity;
  if (request.max_output_tokens != null) body.max_completion_tokens = request.max_output_tokens;
  if (request.reasoning?.effort != null) body.reasoning_effort = request.reasoning.effort;
  if (wantsLogprobs(request)) {
    body.logprobs = true;
    if (request.top_logprobs != null) body.top_logprobs = request.top_logprobs;
  }
  if (request.stream === true) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  if (request.temperature != null) body.temperature = request.temperature;
  if (request.top_p != null) body.top_p = request.top_p;
  if (request.user != null) body.user = request.user;
  if (request.safety_identifier != null) body.safety_identifier = request.safety_identifier;
  if (request.prompt_cache_key != null) body.prompt_cache_key = request.prompt_cache_key;
  if (request.prompt_cache_retention != null) body.prompt_cache_retention = request.prompt_cache_retention;
  if (request.service_tier != null) body.service_tier = request.service_tier;

  for (const [key, value] of Object.entries(request)) {
    // A field the translation set wins over a chat field of that name sent alongside.
    if (RESPONSES_FIELDS.has(key) || Object.hasOwn(body, key)) continue;
    // defineProperty, not assignment: a passed-through key named "__proto__" stays a plain field.
    Object.defineProperty(body, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return body;
}
