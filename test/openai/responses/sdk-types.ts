/**
 * The official SDK's types as the reference shapes: each helper compiles only if our value is
 * assignable to the SDK's type, so a shape that drifts from OpenAI's fails `tsc`.
 */
import type OpenAI from "openai";
import type { ChatCompletionCreateParamsBase } from "openai/resources/chat/completions/completions";
import type { ChatRequestBody, ResponseObject, ResponseStreamEvent } from "../../../src/openai/responses";

/** A response as it travels: the SDK adds `output_text` itself when it parses one. */
export type SdkResponse = Omit<OpenAI.Responses.Response, "output_text">;

/** An SDK stream event, its `response` (if any) as it travels. */
type Wire<E> = E extends { response: OpenAI.Responses.Response } ? Omit<E, "response"> & { response: SdkResponse } : E;
export type SdkStreamEvent = Wire<OpenAI.Responses.ResponseStreamEvent>;

/** Our response, typed as the SDK's. */
export function sdkResponse(response: ResponseObject): SdkResponse {
  return response;
}

/** Our events, typed as the SDK's. */
export function sdkEvents(events: ResponseStreamEvent[]): SdkStreamEvent[] {
  return events;
}

/** Our chat body, typed as the SDK's chat request. */
export function sdkChatParams(body: ChatRequestBody): ChatCompletionCreateParamsBase {
  return body;
}
