/**
 * The Responses API `response` object (https://platform.openai.com/docs/api-reference/responses/object),
 * built from a request and what the origin produced. One builder serves the plain answer, every
 * streamed event that carries the response, and what is stored for `GET /v1/responses/{id}`.
 *
 * The shapes follow the official SDK's types (`openai/resources/responses/responses.d.ts`; tests
 * check assignability). Where the SDK marks a field optional and not nullable (`usage`, `user`), it
 * is left out rather than sent as null. The request's settings are echoed back as OpenAI does;
 * `model` is the request's (the scenario the client named), in every event alike.
 */
import type { ChatLogprob, ChatUsage } from "./chat-completion";
import type { ResponsesRequest } from "./request";

/** Ids and times a response needs from outside: the code here makes none of its own. */
export interface ResponseIds {
  /** `resp_…`, unique. Item ids are derived from it (`itemId`). */
  responseId: string;
  /** Unix seconds. */
  createdAt: number;
}

/**
 * The id of output item `outputIndex`: `msg_<suffix>_<index>` or `fc_<suffix>_<index>`, the suffix
 * being the response id without `resp_`. Unique as long as response ids are.
 * @example
 * itemId("resp_abc", "msg", 0) // "msg_abc_0"
 */
export function itemId(responseId: string, kind: "msg" | "fc", outputIndex: number): string {
  return `${kind}_${responseId.replace(/^resp_/, "")}_${outputIndex}`;
}

/** A call id for a tool call the origin sent without one (some OpenAI-compatible servers do). */
export function fallbackCallId(responseId: string, outputIndex: number): string {
  return `call_${responseId.replace(/^resp_/, "")}_${outputIndex}`;
}

/** The state of an output item. */
export type ItemStatus = "in_progress" | "completed" | "incomplete";

/** A token's logprob on an `output_text` part. */
export interface OutputLogprob {
  token: string;
  bytes: number[];
  logprob: number;
  top_logprobs: Array<{ token: string; bytes: number[]; logprob: number }>;
}

/** Text the model wrote. `logprobs` only when the request included `message.output_text.logprobs`. */
export interface OutputText {
  type: "output_text";
  text: string;
  annotations: never[];
  logprobs?: OutputLogprob[];
}

/** A refusal the model wrote. */
export interface OutputRefusal {
  type: "refusal";
  refusal: string;
}

/** An assistant message in `output`. */
export interface OutputMessage {
  id: string;
  type: "message";
  status: ItemStatus;
  role: "assistant";
  content: Array<OutputText | OutputRefusal>;
}

/** A function call in `output`. */
export interface OutputFunctionCall {
  id: string;
  type: "function_call";
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

/** An output item. */
export type OutputItem = OutputMessage | OutputFunctionCall;

/** Token usage in the Responses shape. */
export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
  /** What the request cost, in USD, when the chat usage said (the router's `usage.cost`). */
  cost?: number;
}

/** The status of a response. */
export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** Why a response is incomplete. */
export type IncompleteReason = "max_output_tokens" | "content_filter";

/** A function tool as a response echoes it. */
export interface EchoedFunctionTool {
  type: "function";
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean | null;
}

/** `text.format` as a response echoes it. */
export type EchoedTextFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: Record<string, unknown>; description?: string; strict?: boolean | null };

/** A `response` object. */
export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  completed_at?: number;
  background: false;
  error: { code: "server_error"; message: string } | null;
  incomplete_details: { reason: IncompleteReason } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: NonNullable<ResponsesRequest["reasoning"]>["effort"] | null; summary: null };
  store: boolean;
  temperature: number | null;
  text: { format: EchoedTextFormat; verbosity?: "low" | "medium" | "high" };
  tool_choice: "none" | "auto" | "required" | { type: "function"; name: string };
  tools: EchoedFunctionTool[];
  top_p: number | null;
  truncation: "disabled";
  usage?: ResponseUsage;
  user?: string;
  metadata: Record<string, string>;
  prompt_cache_key?: string;
  safety_identifier?: string;
}

/** What the origin produced, as far as the response object shows it. */
export interface ResponseState {
  status: ResponseStatus;
  output: OutputItem[];
  usage?: ResponseUsage | undefined;
  incompleteReason?: IncompleteReason | undefined;
  /** A failure's message (status `failed`). */
  errorMessage?: string | undefined;
  /** Unix seconds; set once the response is completed. */
  completedAt?: number | undefined;
}

/**
 * A `response` object: the request's settings echoed, the origin's output and usage.
 * @example
 * responseObject(request, { responseId: "resp_1", createdAt: 1700000000 }, { status: "in_progress", output: [] })
 */
export function responseObject(request: ResponsesRequest, ids: ResponseIds, state: ResponseState): ResponseObject {
  const text: ResponseObject["text"] = { format: echoedFormat(request) };
  if (request.text?.verbosity) text.verbosity = request.text.verbosity;
  return {
    id: ids.responseId,
    object: "response",
    created_at: ids.createdAt,
    status: state.status,
    ...(state.completedAt !== undefined ? { completed_at: state.completedAt } : {}),
    background: false,
    error: state.status === "failed" ? { code: "server_error", message: state.errorMessage ?? "The response failed." } : null,
    incomplete_details: state.status === "incomplete" ? { reason: state.incompleteReason ?? "max_output_tokens" } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: request.model,
    output: state.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    store: request.store ?? true,
    temperature: request.temperature ?? null,
    text,
    tool_choice: echoedToolChoice(request),
    tools: (request.tools ?? []).map((t) => ({
      type: "function",
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict ?? null,
    })),
    top_p: request.top_p ?? null,
    truncation: "disabled",
    ...(state.usage ? { usage: state.usage } : {}),
    ...(request.user != null ? { user: request.user } : {}),
    metadata: request.metadata ?? {},
    ...(request.prompt_cache_key != null ? { prompt_cache_key: request.prompt_cache_key } : {}),
    ...(request.safety_identifier != null ? { safety_identifier: request.safety_identifier } : {}),
  };
}

function echoedFormat(request: ResponsesRequest): EchoedTextFormat {
  const format = request.text?.format;
  if (!format || format.type === "text") return { type: "text" };
  if (format.type === "json_object") return { type: "json_object" };
  return {
    type: "json_schema",
    name: format.name,
    schema: format.schema,
    ...(format.description != null ? { description: format.description } : {}),
    ...(format.strict != null ? { strict: format.strict } : {}),
  };
}

function echoedToolChoice(request: ResponsesRequest): ResponseObject["tool_choice"] {
  const choice = request.tool_choice;
  if (choice == null) return "auto";
  return typeof choice === "string" ? choice : { type: "function", name: choice.name };
}

/**
 * Chat usage in the Responses shape: prompt → input, completion → output; cached tokens from
 * `prompt_tokens_details.cached_tokens`, else DeepSeek's `prompt_cache_hit_tokens`; `cost` (USD)
 * kept when the chat usage has one.
 * @example
 * responseUsage({ prompt_tokens: 10, completion_tokens: 5 }) // { input_tokens: 10, …, output_tokens: 5, total_tokens: 15 }
 */
export function responseUsage(usage: ChatUsage): ResponseUsage {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? usage.prompt_cache_hit_tokens ?? 0;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: Math.min(cached, usage.prompt_tokens) },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(typeof usage.cost === "number" ? { cost: usage.cost } : {}),
  };
}

/** Whether the request asked for logprobs on its output text (`include`). */
export function wantsLogprobs(request: ResponsesRequest): boolean {
  return request.include?.includes("message.output_text.logprobs") ?? false;
}

/** A chat logprob on an `output_text` part (bytes default to the token's UTF-8 when missing). */
export function outputLogprob(entry: ChatLogprob): OutputLogprob {
  return {
    token: entry.token,
    bytes: entry.bytes ?? Array.from(new TextEncoder().encode(entry.token)),
    logprob: entry.logprob,
    top_logprobs: (entry.top_logprobs ?? []).map((t) => ({
      token: t.token,
      bytes: t.bytes ?? Array.from(new TextEncoder().encode(t.token)),
      logprob: t.logprob,
    })),
  };
}

/** How a chat `finish_reason` ends a response: `length` and `content_filter` leave it incomplete. */
export function outcomeOf(finishReason: string | null | undefined): { status: "completed" | "incomplete"; incompleteReason?: IncompleteReason } {
  if (finishReason === "length") return { status: "incomplete", incompleteReason: "max_output_tokens" };
  if (finishReason === "content_filter") return { status: "incomplete", incompleteReason: "content_filter" };
  return { status: "completed" };
}
