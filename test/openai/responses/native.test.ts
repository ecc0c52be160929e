/**
 * The Responses API passed through (`native.ts`): the request a native origin is sent, and its
 * answer read back as chat, pinned with exact bodies.
 */
import { describe, expect, it } from "vitest";
import { ChatChunksOfResponseEvents, chatCompletionOfResponse, nativeRequest, parseResponsesRequest, type ResponsesRequest } from "../../../src/openai/responses";

function request(body: Record<string, unknown>): ResponsesRequest {
  const parsed = parseResponsesRequest({ model: "m", input: "hi", ...body });
  if (!parsed.ok) throw new Error(parsed.failure.message);
  return parsed.request;
}

const USAGE = { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 };
const CHAT_USAGE = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2 } };

describe("nativeRequest", () => {
  it("keeps the client's fields, drops the router's chain, nulls and n, stores nothing and caps in max_output_tokens only", () => {
    const r = request({ previous_response_id: "resp_1", store: true, n: 1, temperature: null, max_output_tokens: 500, max_tokens: 9, include: ["message.output_text.logprobs"], vendor_x: 1 });
    const history = [{ role: "user" as const, content: "before" }, { role: "assistant" as const, content: "answer" }];
    expect(nativeRequest(r, history, 20)).toEqual({ model: "m", input: [...history, { role: "user", content: "hi" }], include: ["message.output_text.logprobs"], vendor_x: 1, store: false, max_output_tokens: 20 });
    expect(nativeRequest(request({}), [], null)).toEqual({ model: "m", input: "hi", store: false });
  });

  it("never lets a field named __proto__ change the body's prototype", () => {
    const body = nativeRequest(request(JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>), [], null);
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect((body as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe("chatCompletionOfResponse", () => {
  it("reads text, refusal, function calls and usage as a chat completion", () => {
    const response = {
      status: "completed",
      output: [
        { type: "reasoning", summary: [] },
        { type: "message", content: [{ type: "output_text", text: "Hel" }, { type: "output_text", text: "lo" }, { type: "refusal", refusal: "no" }] },
        { type: "function_call", call_id: "call_1", name: "f", arguments: "{}" },
      ],
      usage: USAGE,
    };
    expect(chatCompletionOfResponse(response)).toEqual({
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello", refusal: "no", tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] }, finish_reason: "tool_calls", logprobs: null }],
      usage: CHAT_USAGE,
    });
  });

  it.each([
    [{ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }, "length"],
    [{ status: "incomplete", incomplete_details: { reason: "content_filter" } }, "content_filter"],
    [{ status: "completed" }, "stop"],
  ])("finishes %j with %s", (response, reason) => {
    expect(chatCompletionOfResponse({ output: [], ...response })).toMatchObject({ choices: [{ finish_reason: reason, message: { content: null } }] });
  });

  it.each([{ status: "failed", output: [] }, { status: "in_progress", output: [] }, { output: "x" }, null, "text"])("is null for %j (no finished response)", (value) => {
    expect(chatCompletionOfResponse(value)).toBeNull();
  });
});

describe("ChatChunksOfResponseEvents", () => {
  const read = (events: unknown[]) => {
    const reader = new ChatChunksOfResponseEvents();
    return events.map((e) => reader.event(e)).join("");
  };

  it("reads deltas, calls and the end as chat chunks, usage and [DONE]", () => {
    const text = read([
      { type: "response.created", response: { status: "in_progress", output: [] } },
      { type: "response.output_item.added", output_index: 0, item: { type: "message", content: [] } },
      { type: "response.output_text.delta", output_index: 0, content_index: 0, delta: "Hi", logprobs: [{ token: "Hi", logprob: -1, top_logprobs: [] }] },
      { type: "response.output_text.done", output_index: 0, content_index: 0, text: "Hi" },
      { type: "response.output_item.added", output_index: 1, item: { type: "function_call", call_id: "call_1", name: "f", arguments: "" } },
      { type: "response.function_call_arguments.delta", output_index: 1, delta: "{}" },
      { type: "response.function_call_arguments.done", output_index: 1, arguments: "{}" },
      { type: "response.completed", response: { status: "completed", output: [], usage: USAGE } },
      { type: "response.output_text.delta", output_index: 0, delta: "after the end" },
    ]);
    expect(text).toBe(
      [
        { choices: [{ index: 0, delta: { content: "Hi" }, logprobs: { content: [{ token: "Hi", logprob: -1, top_logprobs: [] }] } }] },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] } }] },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }] } }] },
        { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      ]
        .map((c) => `data: ${JSON.stringify({ object: "chat.completion.chunk", ...c })}\n\n`)
        .join("") + `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [], usage: CHAT_USAGE })}\n\ndata: [DONE]\n\n`,
    );
  });

  it("sends a part's text or a call's arguments from its .done event when no delta came", () => {
    const text = read([
      { type: "response.output_text.done", output_index: 0, content_index: 0, text: "whole" },
      { type: "response.function_call_arguments.done", output_index: 1, arguments: '{"a":1}' },
      { type: "response.incomplete", response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [] } },
    ]);
    expect(text).toContain('"delta":{"content":"whole"}');
    expect(text).toContain('"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":1}"}}]');
    expect(text).toContain('"finish_reason":"length"');
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it.each([
    [{ type: "response.failed", response: { status: "failed", output: [], error: { code: "server_error", message: "boom" } } }, "boom", "server_error"],
    [{ type: "error", message: "bad", code: null }, "bad", null],
  ])("makes %j a chat error event", (event, message, code) => {
    expect(read([event])).toBe(`data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code } })}\n\n`);
  });
});
