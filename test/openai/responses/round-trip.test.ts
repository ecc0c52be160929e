/**
 * The translation end to end, with the official SDK as the client and the simulator as the origin
 * (through `harness.ts`, a stand-in for the router's wiring): plain and streamed responses, a
 * tool-call round trip over `previous_response_id`, `text.format` parsed by the SDK, retrieve and
 * delete.
 */
import { zodTextFormat } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { generateCompletion, promptSeed, renderChatPrompt } from "../../../src/sim";
import { COMPLETED_AT, CREATED_AT, responsesHarness } from "./harness";

/** What the simulator writes for a chat prompt rendering: its seeded words (src/sim/text.ts). */
const simText = (rendering: string): string => generateCompletion(promptSeed(new TextEncoder().encode(rendering))).tokens.join("");
const HI_TEXT = simText("chat-default<|system|>Be brief.<|user|>hi");

/**
 * The text of a response's messages. The SDK sets `output_text` on `create`'s answers, but its
 * stream helper's `finalResponse()` leaves it out unless it parsed something.
 */
function textOf(response: { output: Array<{ type: string; content?: Array<{ type: string; text?: string }> }> }): string {
  return response.output.flatMap((o) => (o.type === "message" ? (o.content ?? []) : [])).map((p) => (p.type === "output_text" ? (p.text ?? "") : "")).join("");
}

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city", "unit"], additionalProperties: false },
  strict: true,
};

describe("Responses API through the translation, the simulator and the openai SDK", () => {
  it("a plain response: the simulator's text as output_text, usage in the Responses shape", async () => {
    const { client, chatBodies } = responsesHarness();
    const response = await client.responses.create({ model: "chat-default", instructions: "Be brief.", input: "hi" });
    expect(chatBodies).toEqual([{ model: "chat-default", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] }]);
    expect(response.id).toBe("resp_1");
    expect(response.status).toBe("completed");
    expect(response.created_at).toBe(CREATED_AT);
    expect(response.completed_at).toBe(COMPLETED_AT);
    expect(response.output_text).toBe(HI_TEXT);
    expect(HI_TEXT).toBe("delta in delta router simulated quick worker lazy of a stream edge cache gamma origin brown ");
    // "chat-default<|system|>Be brief.<|user|>hi": 42 bytes, 11 tokens; 16 words.
    expect(response.usage).toEqual({ input_tokens: 11, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 27 });
  });

  it("a streamed response: the event sequence, and the SDK's stream helper assembles the same text", async () => {
    const { client } = responsesHarness();
    const stream = await client.responses.create({ model: "chat-default", instructions: "Be brief.", input: "hi", stream: true });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array<string>(16).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(sequence).toEqual(types.map((_, i) => i));
    expect(text).toBe(HI_TEXT);
    const final = await client.responses.stream({ model: "chat-default", instructions: "Be brief.", input: "hi" }).finalResponse();
    expect(textOf(final)).toBe(text);
    expect(final.usage?.output_tokens).toBe(16);
  });

  it.each([false, true])("a tool-call round trip over previous_response_id (stream: %s)", async (stream) => {
    const { client, chatBodies, store } = responsesHarness();
    const first = stream
      ? await client.responses.stream({ model: "chat-default", input: "Weather in Paris?", tools: [WEATHER_TOOL] }).finalResponse()
      : await client.responses.create({ model: "chat-default", input: "Weather in Paris?", tools: [WEATHER_TOOL] });
    const call = first.output[0];
    expect(first.output).toHaveLength(1);
    expect(call).toEqual({
      id: "fc_1_0",
      type: "function_call",
      status: "completed",
      call_id: "call_3851541464e768a61ca32993",
      name: "get_weather",
      arguments: '{"city":"over","unit":"celsius"}',
      // The SDK's stream helper adds what it parsed (nothing: the tool has no zod schema).
      ...(stream ? { parsed_arguments: null } : {}),
    });
    if (call?.type !== "function_call") throw new Error("expected a function call");

    const secondParams = {
      model: "chat-default",
      previous_response_id: first.id,
      input: [{ type: "function_call_output" as const, call_id: call.call_id, output: '{"temperature":18}' }],
      tools: [WEATHER_TOOL],
    };
    const second = stream ? await client.responses.stream(secondParams).finalResponse() : await client.responses.create(secondParams);
    // The tool result is the last message: the simulator answers in text, and the loop ends.
    expect(second.output.map((o) => o.type)).toEqual(["message"]);
    expect(second.previous_response_id).toBe("resp_1");
    const tools = [{ type: "function", function: { name: "get_weather", description: "Current weather in a city", parameters: WEATHER_TOOL.parameters, strict: true } }];
    const secondChat = {
      model: "chat-default",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ id: call.call_id, type: "function", function: { name: "get_weather", arguments: call.arguments } }] },
        { role: "tool", tool_call_id: call.call_id, content: '{"temperature":18}' },
      ],
      tools,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
    expect(chatBodies[1]).toEqual(secondChat);
    expect(textOf(second)).toBe(simText(renderChatPrompt(secondChat)));
    expect([...store.keys()]).toEqual(["resp_1", "resp_2"]);
  });

  it("streamed tool call: the arguments arrive in deltas and are done once", async () => {
    const { client } = responsesHarness();
    const stream = await client.responses.create({ model: "chat-default", input: "Weather in Paris?", tools: [WEATHER_TOOL], stream: true });
    const deltas: string[] = [];
    let done = "";
    for await (const event of stream) {
      if (event.type === "response.function_call_arguments.delta") deltas.push(event.delta);
      if (event.type === "response.function_call_arguments.done") done = event.arguments;
    }
    expect(deltas.length).toBe(8); // 32 bytes of arguments in pieces of 4
    expect(deltas.join("")).toBe(done);
    expect(done).toBe('{"city":"over","unit":"celsius"}');
  });

  it("text.format json_schema: the SDK's parse helper validates the JSON against the zod schema", async () => {
    const { client, chatBodies } = responsesHarness();
    const Person = z.object({ name: z.string(), age: z.number().int().min(0).max(120) });
    const response = await client.responses.parse({ model: "chat-default", input: "Who?", text: { format: zodTextFormat(Person, "person") } });
    expect(response.output_parsed).toEqual({ name: "a", age: 25 });
    expect(chatBodies[0]?.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "person", strict: true } });
  });

  it("store: retrieve returns the response as created; delete removes it; store: false keeps nothing", async () => {
    const { client, store } = responsesHarness();
    const created = await client.responses.create({ model: "chat-default", input: "hi" });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toEqual(created);
    await client.responses.delete(created.id);
    expect(store.size).toBe(0);
    expect(await client.responses.retrieve(created.id).catch((e: unknown) => e)).toMatchObject({ status: 404 });
    await client.responses.create({ model: "chat-default", input: "hi", store: false });
    expect(store.size).toBe(0);
  });

  it("an unsupported request is a 400 naming the field", async () => {
    const { client } = responsesHarness();
    const err = await client.responses.create({ model: "chat-default", input: "hi", tools: [{ type: "web_search" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ status: 400, param: "tools[0].type" });
  });
});
