/**
 * The official openai SDK as a client: if it parses our answers (including its default base64
 * embeddings, which it decodes itself, and tool calls streamed in pieces), real clients will too.
 */
import OpenAI from "openai";
import type { RunnableToolFunctionWithParse } from "openai/lib/RunnableFunction";
import { describe, expect, it } from "vitest";
import { embeddingVector } from "../../src/sim";
import { makeSim } from "./helpers";

const WEATHER = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city", "unit"] },
  },
};

function client(): OpenAI {
  const sim = makeSim({ origins: { a: { apiKey: "sk-test", embeddingDims: 12 } } });
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://sim/a/v1",
    maxRetries: 0,
    fetch: (input, init) => sim.fetch(new Request(input, init)),
  });
}

describe("openai SDK compatibility", () => {
  it("chat completion", async () => {
    const res = await client().chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(res.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(res.usage?.prompt_tokens).toBe(Math.ceil("m<|user|>hi".length / 4));
  });

  it("streamed chat completion with usage", async () => {
    const stream = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.split(" ").filter(Boolean)).toHaveLength(usage?.completion_tokens ?? -1);
  });

  it("embeddings: the SDK's default base64 round-trips to our float vectors", async () => {
    const res = await client().embeddings.create({ model: "e", input: ["one", "two"] });
    expect(res.data.map((d) => d.embedding)).toEqual([
      Array.from(embeddingVector("one", 12)),
      Array.from(embeddingVector("two", 12)),
    ]);
  });

  it("tool calls, not streamed: the SDK parses them", async () => {
    const res = await client().chat.completions.create({ model: "m", messages: [{ role: "user", content: "weather?" }], tools: [WEATHER] });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" ? [call.function.name, JSON.parse(call.function.arguments)] : null).toEqual(["get_weather", { city: "chain", unit: "celsius" }]);
  });

  it("tool calls, streamed: the SDK's stream helper assembles the arguments from their pieces", async () => {
    const stream = client().chat.completions.stream({ model: "m", messages: [{ role: "user", content: "weather?" }], tools: [WEATHER] });
    const argumentDeltas: string[] = [];
    stream.on("tool_calls.function.arguments.delta", (e) => argumentDeltas.push(e.arguments_delta));
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" ? call.function : null).toEqual({ name: "get_weather", arguments: '{"city":"chain","unit":"celsius"}' });
    expect(argumentDeltas.length).toBeGreaterThan(1);
    expect(argumentDeltas.join("")).toBe('{"city":"chain","unit":"celsius"}');
  });

  it.each([false, true])("runTools (stream: %s): the SDK runs the tool, sends the result back and gets a text answer", async (stream) => {
    const seen: unknown[] = [];
    const tools: Array<RunnableToolFunctionWithParse<object>> = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: WEATHER.function.parameters,
          parse: (args: string) => JSON.parse(args) as object,
          function: (args: object) => {
            seen.push(args);
            return "18 degrees";
          },
        },
      },
    ];
    const messages = [{ role: "user" as const, content: "weather?" }];
    const runner = stream
      ? client().chat.completions.runTools({ model: "m", messages, tools, stream: true })
      : client().chat.completions.runTools({ model: "m", messages, tools });
    const content = await runner.finalContent();
    expect(seen).toEqual([{ city: "chain", unit: "celsius" }]);
    expect(typeof content === "string" && content.length > 0).toBe(true);
    expect(runner.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
  });

  it("surfaces injected errors as APIError with the status", async () => {
    const c = client();
    const err = await c.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "hi" }], ...({ sim: { "*": { status: 429 } } } as object) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
  });
});
