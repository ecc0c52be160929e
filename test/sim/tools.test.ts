/**
 * Function tools: the simulator answers with deterministic tool calls, streamed as OpenAI streams
 * them (the opening delta carries index, id, type, name and empty arguments; then the arguments
 * in pieces), and a tool result gets a text answer so an agent's loop ends.
 */
import { describe, expect, it } from "vitest";
import { completionPieces, renderChatPrompt } from "../../src/sim";
import { chat, fixedClock, makeSim, readChunks, sseData, tokensOf, user } from "./helpers";

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city", "unit"] },
  },
};
const CLOCK = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } } } };
const ASK = { model: "m", messages: [user("weather in Paris?")], tools: [WEATHER, CLOCK] };
const PROMPT_TOKENS = tokensOf(renderChatPrompt(ASK));
const CALL_ID = "call_4878fabc32edcebdbe7cf257";
const ARGS = '{"city":"fox","unit":"celsius"}';

const sim = () => makeSim({ origins: { a: {} } }, fixedClock());

describe("tool calls, not streamed", () => {
  it("calls the first function tool with arguments that fit its parameters", async () => {
    const res = await chat(sim(), "a", ASK);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: "chatcmpl-sim-1",
      object: "chat.completion",
      created: 1000,
      model: "m",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: null, tool_calls: [{ id: CALL_ID, type: "function", function: { name: "get_weather", arguments: ARGS } }] },
          logprobs: null,
          finish_reason: "tool_calls",
        },
      ],
      // 31 bytes of arguments: 8 completion tokens of at most 4 bytes.
      usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 8, total_tokens: PROMPT_TOKENS + 8, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it("is deterministic: the same request to a fresh simulator gets the same body", async () => {
    expect(await (await chat(sim(), "a", ASK)).text()).toBe(await (await chat(sim(), "a", ASK)).text());
  });

  it("tool_choice naming a function calls that one; an unknown name is OpenAI's 400", async () => {
    const s = sim();
    const named = (await (await chat(s, "a", { ...ASK, tool_choice: { type: "function", function: { name: "get_time" } } })).json()) as {
      choices: Array<{ message: { tool_calls: Array<{ function: { name: string; arguments: string } }> } }>;
    };
    expect(named.choices[0]?.message.tool_calls[0]?.function).toEqual({ name: "get_time", arguments: '{"tz":"fox"}' });
    const unknown = await chat(s, "a", { ...ASK, tool_choice: { type: "function", function: { name: "nope" } } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: { message: "Invalid value for 'tool_choice': no function named 'nope' in 'tools'.", type: "invalid_request_error", param: "tool_choice", code: null },
    });
  });

  it("tool_choice none, or no function tools at all, answers in text", async () => {
    const none = (await (await chat(sim(), "a", { ...ASK, tool_choice: "none" })).json()) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> };
    expect(none.choices[0]?.finish_reason).toBe("stop");
    expect(none.choices[0]?.message).not.toHaveProperty("tool_calls");
    const odd = (await (await chat(sim(), "a", { ...ASK, tools: [{ type: "custom", custom: { name: "x" } }, 7, { type: "function", function: {} }] })).json()) as {
      choices: Array<{ finish_reason: string }>;
    };
    expect(odd.choices[0]?.finish_reason).toBe("stop");
  });

  it("a tool result last gets a text answer (the loop ends); a forced choice still calls", async () => {
    const toolCalls = [{ id: CALL_ID, type: "function", function: { name: "get_weather", arguments: ARGS } }];
    const messages = [...ASK.messages, { role: "assistant", content: null, tool_calls: toolCalls }, { role: "tool", tool_call_id: CALL_ID, content: "18C" }];
    const after = (await (await chat(sim(), "a", { ...ASK, messages })).json()) as {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
      usage: { prompt_tokens: number };
    };
    expect(after.choices[0]?.finish_reason).toBe("stop");
    expect(after.choices[0]?.message.content.length).toBeGreaterThan(0);
    // The assistant's tool calls and the result's call id are part of the prompt.
    expect(after.usage.prompt_tokens).toBe(tokensOf(`m${JSON.stringify(ASK.tools)}<|user|>weather in Paris?<|assistant|>${JSON.stringify(toolCalls)}<|tool|>18C${CALL_ID}`));
    const forced = (await (await chat(sim(), "a", { ...ASK, messages, tool_choice: "required" })).json()) as { choices: Array<{ finish_reason: string }> };
    expect(forced.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("max_tokens cuts the arguments short with finish_reason length", async () => {
    const body = (await (await chat(sim(), "a", { ...ASK, max_tokens: 3 })).json()) as {
      choices: Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> }; finish_reason: string }>;
      usage: { completion_tokens: number };
    };
    expect(body.choices[0]?.message.tool_calls[0]?.function.arguments).toBe('{"city":"fox');
    expect(body.choices[0]?.finish_reason).toBe("length");
    expect(body.usage.completion_tokens).toBe(3);
  });
});

describe("tool calls, streamed", () => {
  const head = { id: "chatcmpl-sim-1", object: "chat.completion.chunk", created: 1000, model: "m" };
  const chunk = (delta: unknown, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null });

  it("opens with id, type, name and empty arguments, then the arguments in pieces, one event per chunk", async () => {
    const res = await chat(sim(), "a", { ...ASK, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const chunks = await readChunks(res);
    for (const c of chunks) expect(c).toMatch(/^data: [^\n]*\n\n$/);
    const pieces = ['{"ci', 'ty":', '"fox', '","u', 'nit"', ':"ce', "lsiu", 's"}'];
    expect(pieces.join("")).toBe(ARGS);
    expect(sseData(chunks.join(""))).toEqual([
      chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: CALL_ID, type: "function", function: { name: "get_weather", arguments: "" } }] }),
      ...pieces.map((p) => chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] })),
      chunk({}, "tool_calls"),
      { ...head, choices: [], usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 8, total_tokens: PROMPT_TOKENS + 8, prompt_tokens_details: { cached_tokens: 0 } } },
      "[DONE]",
    ]);
  });

  it("pieces are code points, never split, of at most 4 UTF-8 bytes", () => {
    expect(completionPieces('{"a":"é€😀"}')).toEqual(['{"a"', ':"é', "€", "😀", '"}']);
  });

  it("cutAfterChunks counts argument chunks: the opening chunk and 2 pieces, then the connection breaks", async () => {
    const res = await chat(sim(), "a", { ...ASK, stream: true, sim: { "*": { cutAfterChunks: 2 } } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const seen: string[] = [];
    const decoder = new TextDecoder();
    const error = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        seen.push(decoder.decode(value));
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const events = sseData(seen.join("")) as Array<{ choices: Array<{ delta: { tool_calls?: Array<{ function: { arguments: string } }> } }> }>;
    expect(events.map((e) => e.choices[0]?.delta.tool_calls?.[0]?.function.arguments)).toEqual(["", '{"ci', 'ty":']);
  });
});
