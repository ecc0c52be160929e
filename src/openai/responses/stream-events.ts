/**
 * The streamed events of the Responses API the translation emits, shaped as the official SDK types
 * them (`ResponseStreamEvent` in `openai/resources/responses/responses.d.ts`), and their SSE framing
 * (https://platform.openai.com/docs/api-reference/responses-streaming).
 */
import type { OutputItem, OutputRefusal, OutputText, ResponseObject } from "./response-object";

/** A logprob on a text delta (the SDK's `ResponseTextDeltaEvent.Logprob`). */
export interface DeltaLogprob {
  token: string;
  logprob: number;
  top_logprobs: Array<{ token: string; logprob: number }>;
}

/** An event carrying the whole response. */
export interface ResponseLifecycleEvent {
  type: "response.created" | "response.in_progress" | "response.completed" | "response.incomplete" | "response.failed";
  sequence_number: number;
  response: ResponseObject;
}

/** An output item added or done. */
export interface OutputItemEvent {
  type: "response.output_item.added" | "response.output_item.done";
  sequence_number: number;
  output_index: number;
  item: OutputItem;
}

/** A content part of a message added or done. */
export interface ContentPartEvent {
  type: "response.content_part.added" | "response.content_part.done";
  sequence_number: number;
  item_id: string;
  output_index: number;
  content_index: number;
  part: OutputText | OutputRefusal;
}

/** A piece of output text. */
export interface OutputTextDeltaEvent {
  type: "response.output_text.delta";
  sequence_number: number;
  item_id: string;
  output_index: number;
  content_index: number;
  delta: string;
  logprobs: DeltaLogprob[];
}

/** The whole output text of a part. */
export interface OutputTextDoneEvent {
  type: "response.output_text.done";
  sequence_number: number;
  item_id: string;
  output_index: number;
  content_index: number;
  text: string;
  logprobs: DeltaLogprob[];
}

/** A piece of a refusal. */
export interface RefusalDeltaEvent {
  type: "response.refusal.delta";
  sequence_number: number;
  item_id: string;
  output_index: number;
  content_index: number;
  delta: string;
}

/** The whole refusal of a part. */
export interface RefusalDoneEvent {
  type: "response.refusal.done";
  sequence_number: number;
  item_id: string;
  output_index: number;
  content_index: number;
  refusal: string;
}

/** A piece of a function call's arguments. */
export interface FunctionCallArgumentsDeltaEvent {
  type: "response.function_call_arguments.delta";
  sequence_number: number;
  item_id: string;
  output_index: number;
  delta: string;
}

/** A function call's whole arguments. */
export interface FunctionCallArgumentsDoneEvent {
  type: "response.function_call_arguments.done";
  sequence_number: number;
  item_id: string;
  output_index: number;
  name: string;
  arguments: string;
}

/** A failure while streaming (the SDK's `ResponseErrorEvent`: the fields at the top level). */
export interface StreamErrorEvent {
  type: "error";
  sequence_number: number;
  code: string | null;
  message: string;
  param: string | null;
}

/** Any event the translation emits. */
export type ResponseStreamEvent =
  | ResponseLifecycleEvent
  | OutputItemEvent
  | ContentPartEvent
  | OutputTextDeltaEvent
  | OutputTextDoneEvent
  | RefusalDeltaEvent
  | RefusalDoneEvent
  | FunctionCallArgumentsDeltaEvent
  | FunctionCallArgumentsDoneEvent
  | StreamErrorEvent;

/**
 * One event as server-sent event bytes' text: `event: <type>` then `data: <json>`, as OpenAI
 * frames Responses streams (clients dispatch on either line).
 * @example
 * encodeEvent(event) // "event: response.created\ndata: {\"type\":\"response.created\",...}\n\n"
 */
export function encodeEvent(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
