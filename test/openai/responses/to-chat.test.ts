/** Responses requests as chat completions requests: exact bodies, typed against the SDK's chat params. */
import { describe, expect, it } from "vitest";
import { conversationItems, parseResponsesRequest, toChatRequest, type ResponsesRequest } from "../../../src/openai/responses";
import { sdkChatParams } from "./sdk-types";

function request(body: Record<string, unknown>): ResponsesRequest {
  const parsed = parseResponsesRequest(body);
  if (!parsed.ok) throw new Error(parsed.failure.message);
  return parsed.request;
}

const WEATHER_PARAMS = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };

describe("toChatRequest", () => {
  it("a string input with instructions: a system message, then the user's", () => {
    const body = toChatRequest(request({ model: "chat-default", instructions: "Be brief.", input: "hi", temperature: 0.5, top_p: 0.9, max_output_tokens: 64, user: "u-1" }));
    expect(sdkChatParams(body)).toEqual({
      model: "chat-default",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ],
      max_completion_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      user: "u-1",
    });
  });

  it("message items: roles kept, parts mapped one to one, assistant text joined, refusals apart, reasoning dropped", () => {
    const body = toChatRequest(
      request({
        model: "m",
        input: [
          { role: "developer", content: [{ type: "input_text", text: "Rules." }] },
          {
            type: "message",
            role: "user",
            content: [
              { type: "input_text", text: "What is in " },
              { type: "input_image", image_url: "https://x/cat.png", detail: "original" },
              { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "high" },
              { type: "input_file", file_id: "file_1", filename: "a.pdf" },
            ],
          },
          { type: "reasoning", id: "rs_1", summary: [] },
          { type: "message", role: "assistant", id: "msg_1", status: "completed", content: [{ type: "output_text", text: "A cat", annotations: [] }, { type: "output_text", text: ".", annotations: [] }] },
          { role: "assistant", content: [{ type: "refusal", refusal: "I can't." }] },
        ],
      }),
    );
    expect(sdkChatParams(body)).toEqual({
      model: "m",
      messages: [
        { role: "developer", content: [{ type: "text", text: "Rules." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in " },
            { type: "image_url", image_url: { url: "https://x/cat.png" } },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "high" } },
            { type: "file", file: { file_id: "file_1", filename: "a.pdf" } },
          ],
        },
        { role: "assistant", content: "A cat." },
        { role: "assistant", content: null, refusal: "I can't." },
      ],
    });
  });

  it("tools, tool_choice and parallel_tool_calls; text.format json_schema → response_format; stream asks for usage", () => {
    const body = toChatRequest(
      request({
        model: "m",
        input: "weather?",
        tools: [
          { type: "function", name: "get_weather", description: "Weather now", parameters: WEATHER_PARAMS, strict: true },
          { type: "function", name: "get_time", parameters: null, strict: null },
        ],
        tool_choice: { type: "function", name: "get_weather" },
        parallel_tool_calls: false,
        text: { format: { type: "json_schema", name: "answer", description: "The answer", schema: { type: "object" }, strict: true }, verbosity: "low" },
        reasoning: { effort: "low" },
        stream: true,
        stream_options: { include_obfuscation: false },
      }),
    );
    expect(sdkChatParams(body)).toEqual({
      model: "m",
      messages: [{ role: "user", content: "weather?" }],
      tools: [
        { type: "function", function: { name: "get_weather", description: "Weather now", parameters: WEATHER_PARAMS, strict: true } },
        { type: "function", function: { name: "get_time" } },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "answer", description: "The answer", schema: { type: "object" }, strict: true } },
      verbosity: "low",
      reasoning_effort: "low",
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("tool_choice and parallel_tool_calls are left out without tools (OpenAI refuses them alone); json_object; logprobs on request", () => {
    const body = toChatRequest(
      request({
        model: "m",
        input: "hi",
        tools: [],
        tool_choice: "required",
        parallel_tool_calls: true,
        text: { format: { type: "json_object" } },
        include: ["message.output_text.logprobs", "reasoning.encrypted_content"],
        top_logprobs: 3,
      }),
    );
    expect(body).toEqual({ model: "m", messages: [{ role: "user", content: "hi" }], response_format: { type: "json_object" }, logprobs: true, top_logprobs: 3 });
    // text is the default format: nothing to send.
    expect(toChatRequest(request({ model: "m", input: "hi", text: { format: { type: "text" } } }))).toEqual({ model: "m", messages: [{ role: "user", content: "hi" }] });
  });

  it("router-only fields stay behind; unknown fields pass through; a chat field sent alongside never overwrites the mapping", () => {
    const raw: unknown = JSON.parse(
      '{"model":"m","input":"hi","metadata":{"team":"a"},"store":true,"previous_response_id":"resp_0","max_tool_calls":3,"truncation":"disabled","background":false,' +
        '"service_tier":"flex","prompt_cache_key":"k","safety_identifier":"s","sim":{"*":{"ttftMs":5}},"seed":7,"messages":[{"role":"user","content":"injected"}],"__proto__":{"x":1}}',
    );
    const body = toChatRequest(request(raw as Record<string, unknown>));
    expect(body).toEqual({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      service_tier: "flex",
      prompt_cache_key: "k",
      safety_identifier: "s",
      sim: { "*": { ttftMs: 5 } },
      seed: 7,
    });
    // A field named __proto__ is dropped by validation (zod) and never becomes the body's prototype.
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(JSON.stringify(body)).not.toContain("__proto__");
  });

  it("a tool-call round trip: the stored turn (input, function_call output) then the function_call_output", () => {
    const first = request({ model: "m", instructions: "Use tools.", input: "weather in Paris?", tools: [{ type: "function", name: "get_weather", parameters: WEATHER_PARAMS }] });
    const history = conversationItems([
      {
        input: [{ role: "user", content: "weather in Paris?" }],
        response: {
          ...responseStub(first),
          output: [
            { id: "msg_a_0", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Let me check.", annotations: [] }] },
            { id: "fc_a_1", type: "function_call", status: "completed", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
            { id: "fc_a_2", type: "function_call", status: "completed", call_id: "call_2", name: "get_weather", arguments: '{"city":"Lyon"}' },
          ],
        },
      },
    ]);
    const second = request({
      model: "m",
      previous_response_id: "resp_a",
      instructions: "Answer in French.",
      input: [
        { type: "function_call_output", call_id: "call_1", output: "18C" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "20C" }] },
      ],
      tools: [{ type: "function", name: "get_weather", parameters: WEATHER_PARAMS }],
    });
    expect(sdkChatParams(toChatRequest(second, history))).toEqual({
      model: "m",
      messages: [
        // The previous request's instructions are not carried over; this request's come first.
        { role: "system", content: "Answer in French." },
        { role: "user", content: "weather in Paris?" },
        {
          role: "assistant",
          content: "Let me check.",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Lyon"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "18C" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "20C" }] },
      ],
      tools: [{ type: "function", function: { name: "get_weather", parameters: WEATHER_PARAMS } }],
    });
  });

  it("a function call with no assistant text before it opens its own assistant message", () => {
    const body = toChatRequest(
      request({
        model: "m",
        input: [
          { role: "user", content: "go" },
          { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "ok" },
          { type: "function_call", call_id: "c2", name: "f", arguments: "{}" },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: "user", content: "go" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "ok" },
      { role: "assistant", content: null, tool_calls: [{ id: "c2", type: "function", function: { name: "f", arguments: "{}" } }] },
    ]);
  });
});

/** A minimal stored response around a request (only `output` matters to the history). */
function responseStub(req: ResponsesRequest) {
  return {
    id: "resp_a",
    object: "response" as const,
    created_at: 1,
    status: "completed" as const,
    background: false as const,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: null,
    model: req.model,
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: null,
    text: { format: { type: "text" as const } },
    tool_choice: "auto" as const,
    tools: [],
    top_p: null,
    truncation: "disabled" as const,
    metadata: {},
  };
}
