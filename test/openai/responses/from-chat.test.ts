/** Chat completions as Responses `response` objects: exact bodies, typed against the SDK's `Response`. */
import { describe, expect, it } from "vitest";
import { fromChatCompletion, parseResponsesRequest, type ChatCompletion, type ResponsesRequest } from "../../../src/openai/responses";
import { sdkResponse } from "./sdk-types";

function request(body: Record<string, unknown>): ResponsesRequest {
  const parsed = parseResponsesRequest(body);
  if (!parsed.ok) throw new Error(parsed.failure.message);
  return parsed.request;
}

const IDS = { responseId: "resp_abc", createdAt: 1_700_000_000, completedAt: 1_700_000_002 };
const USAGE = { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, prompt_tokens_details: { cached_tokens: 16 } };
const RESPONSE_USAGE = { input_tokens: 20, input_tokens_details: { cached_tokens: 16 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 25 };

function chat(message: ChatCompletion["choices"][number]["message"], finish_reason = "stop", extra: Partial<ChatCompletion> = {}): ChatCompletion {
  return { id: "chatcmpl-1", object: "chat.completion", model: "upstream-model", choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason, logprobs: null }], usage: USAGE, ...extra };
}

/** The echo of a request with no settings but model and input. */
const PLAIN = {
  id: "resp_abc",
  object: "response",
  created_at: 1_700_000_000,
  background: false,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model: "chat-default",
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: true,
  temperature: null,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: null,
  truncation: "disabled",
  metadata: {},
};

describe("fromChatCompletion", () => {
  it("text: one message item with one output_text part; settings echoed; usage renamed", () => {
    const req = request({ model: "chat-default", input: "hi", instructions: "Be brief.", temperature: 0.3, max_output_tokens: 50, metadata: { team: "a" }, user: "u-1", store: false });
    const response = sdkResponse(fromChatCompletion(chat({ content: "Hello there." }), req, IDS));
    expect(response).toEqual({
      id: "resp_abc",
      object: "response",
      created_at: 1_700_000_000,
      status: "completed",
      completed_at: 1_700_000_002,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: "Be brief.",
      max_output_tokens: 50,
      model: "chat-default",
      output: [{ id: "msg_abc_0", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hello there.", annotations: [] }] }],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: 0.3,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: null,
      truncation: "disabled",
      usage: RESPONSE_USAGE,
      user: "u-1",
      metadata: { team: "a" },
    });
  });

  it("tool calls: one function_call item each, after the message when there is text; call ids kept; tools echoed", () => {
    const req = request({
      model: "chat-default",
      input: "weather?",
      tools: [{ type: "function", name: "get_weather", parameters: { type: "object" }, strict: true }],
      tool_choice: "required",
      previous_response_id: "resp_prev",
    });
    const message = {
      content: "Checking.",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { type: "function", function: { name: "get_weather", arguments: '{"city":"Lyon"}' } },
      ],
    };
    expect(sdkResponse(fromChatCompletion(chat(message, "tool_calls"), req, IDS))).toEqual({
      ...PLAIN,
      status: "completed",
      completed_at: 1_700_000_002,
      previous_response_id: "resp_prev",
      tool_choice: "required",
      tools: [{ type: "function", name: "get_weather", description: null, parameters: { type: "object" }, strict: true }],
      output: [
        { id: "msg_abc_0", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Checking.", annotations: [] }] },
        { id: "fc_abc_1", type: "function_call", status: "completed", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        // An origin that sent no call id gets one derived from the response id.
        { id: "fc_abc_2", type: "function_call", status: "completed", call_id: "call_abc_2", name: "get_weather", arguments: '{"city":"Lyon"}' },
      ],
      usage: RESPONSE_USAGE,
    });
  });

  it("a call with no text: the function_call item comes first (output index 0)", () => {
    const req = request({ model: "chat-default", input: "weather?", tools: [{ type: "function", name: "f" }] });
    const response = fromChatCompletion(chat({ content: null, tool_calls: [{ id: "call_9", function: { name: "f", arguments: "{}" } }] }, "tool_calls"), req, IDS);
    expect(response.output).toEqual([{ id: "fc_abc_0", type: "function_call", status: "completed", call_id: "call_9", name: "f", arguments: "{}" }]);
  });

  it("finish_reason length: incomplete, reason max_output_tokens, no completed_at; content_filter likewise", () => {
    const req = request({ model: "chat-default", input: "hi", max_output_tokens: 5 });
    expect(sdkResponse(fromChatCompletion(chat({ content: "Hello the" }, "length"), req, IDS))).toEqual({
      ...PLAIN,
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      max_output_tokens: 5,
      output: [{ id: "msg_abc_0", type: "message", status: "incomplete", role: "assistant", content: [{ type: "output_text", text: "Hello the", annotations: [] }] }],
      usage: RESPONSE_USAGE,
    });
    const filtered = fromChatCompletion(chat({ content: "" }, "content_filter"), req, IDS);
    expect([filtered.status, filtered.incomplete_details, filtered.output]).toEqual(["incomplete", { reason: "content_filter" }, []]);
  });

  it("a refusal becomes a refusal part", () => {
    const response = fromChatCompletion(chat({ content: null, refusal: "I can't help with that." }), request({ model: "chat-default", input: "x" }), IDS);
    expect(response.output).toEqual([{ id: "msg_abc_0", type: "message", status: "completed", role: "assistant", content: [{ type: "refusal", refusal: "I can't help with that." }] }]);
  });

  it("text.format is echoed; the JSON text is the output text", () => {
    const format = { type: "json_schema", name: "person", schema: { type: "object", properties: { name: { type: "string" } } }, strict: true };
    const response = sdkResponse(fromChatCompletion(chat({ content: '{"name":"Ada"}' }), request({ model: "chat-default", input: "x", text: { format } }), IDS));
    expect(response.text).toEqual({ format });
    expect(response.output).toEqual([{ id: "msg_abc_0", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: '{"name":"Ada"}', annotations: [] }] }]);
  });

  it("logprobs when included; DeepSeek's cache field; no usage when the origin reported none", () => {
    const req = request({ model: "chat-default", input: "x", include: ["message.output_text.logprobs"], top_logprobs: 1 });
    const entry = { token: "Hi", logprob: -0.5, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.5, bytes: [72, 105] }] };
    const body: ChatCompletion = {
      choices: [{ message: { content: "Hi" }, finish_reason: "stop", logprobs: { content: [entry, { token: "!", logprob: -1 }] } }],
      usage: { prompt_tokens: 10, completion_tokens: 2, prompt_cache_hit_tokens: 8 },
    };
    const response = sdkResponse(fromChatCompletion(body, req, IDS));
    expect(response.output).toEqual([
      {
        id: "msg_abc_0",
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: "Hi", annotations: [], logprobs: [entry, { token: "!", logprob: -1, bytes: [33], top_logprobs: [] }] }],
      },
    ]);
    expect(response.usage).toEqual({ input_tokens: 10, input_tokens_details: { cached_tokens: 8 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 });
    expect("usage" in fromChatCompletion({ choices: [{ message: { content: "Hi" }, finish_reason: "stop" }] }, req, IDS)).toBe(false);
  });
});
