/**
 * The Responses API (`POST /v1/responses`) served by translating to chat completions and back:
 * pure code, no I/O. The request path validates (`parseResponsesRequest`), translates
 * (`toChatRequest`), forwards the chat body like any chat request, and translates the answer back
 * (`fromChatCompletion`, or `ResponsesStreamTranslator` for a stream); stored responses make
 * `previous_response_id` work (`storedResponse`, `conversationItems`). An origin that speaks the
 * Responses API is sent `nativeRequest` instead, and its answer read as chat
 * (`chatCompletionOfResponse`, `ChatChunksOfResponseEvents`: `native.ts`).
 */
export {
  parseResponsesRequest,
  responsesRequestSchema,
  RESPONSES_FIELDS,
  type FunctionTool,
  type InvalidResponsesRequest,
  type ResponsesRequest,
  type ResponsesRequestParse,
  type TextFormat,
  type ToolChoice,
} from "./request";
export { inputItemSchema, type ContentPart, type FunctionCallItem, type FunctionCallOutputItem, type InputItem, type MessageItem } from "./items";
export { toChatRequest, type ChatFunctionTool, type ChatRequestBody, type ChatResponseFormat } from "./to-chat";
export { itemsToMessages, type ChatContentPart, type ChatMessage, type ChatToolCall } from "./messages";
export { chatCompletionChunkSchema, chatCompletionSchema, type ChatCompletion, type ChatCompletionChunk, type ChatUsage } from "./chat-completion";
export { fromChatCompletion, type FinishedResponseIds } from "./from-chat";
export { ResponsesStreamTranslator, type StreamFailure } from "./stream";
export { encodeEvent, type ResponseStreamEvent } from "./stream-events";
export {
  itemId,
  responseObject,
  responseUsage,
  type OutputFunctionCall,
  type OutputItem,
  type OutputMessage,
  type ResponseIds,
  type ResponseObject,
  type ResponseUsage,
} from "./response-object";
export { asOriginInput, conversationItems, inputItems, storedResponse, type StoredResponse } from "./history";
export { ChatChunksOfResponseEvents, chatCompletionOfResponse, nativeRequest } from "./native";
