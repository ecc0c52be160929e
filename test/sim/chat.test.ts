/** Non-stream chat completions: shape, determinism, the tokenizer rule and max_tokens capping. */
import { describe, expect, it } from "vitest";
import { generateCompletion, promptSeed, renderChatPrompt, VOCABULARY } from "../../src/sim";
import { chat, makeSim, tokensOf, user, type Completion } from "./helpers";

const sim = () => makeSim({ origins: { a: {} } });

describe("chat completion", () => {
  it("has OpenAI's shape and echoes the requested model", async () => {
    const res = await chat(sim(), "a", { model: "anything-goes", messages: [user("hi")] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const json = (await res.json()) as Completion & { created: number };
    expect(json.id).toMatch(/^chatcmpl-sim-\d+$/);
    expect(json.object).toBe("chat.completion");
    expect(json.model).toBe("anything-goes");
    expect(typeof json.created).toBe("number");
    expect(json.choices).toHaveLength(1);
    const choice = json.choices[0];
    expect(choice?.index).toBe(0);
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.logprobs).toBeNull();
    expect(choice?.finish_reason).toBe("stop");
  });

  it("is deterministic, one vocabulary word plus a space per token", async () => {
    const body = { model: "m", messages: [user("tell me something")] };
    const a = (await (await chat(sim(), "a", body)).json()) as Completion;
    const b = (await (await chat(sim(), "a", body)).json()) as Completion;
    const content = a.choices[0]?.message.content ?? "";
    expect(b.choices[0]?.message.content).toBe(content);
    const words = content.split(" ");
    expect(words.pop()).toBe(""); // every token, the last included, ends with a space
    expect(words).toHaveLength(a.usage?.completion_tokens ?? -1);
    for (const w of words) expect(VOCABULARY).toContain(w);
  });

  it("completion length is 8 + (seed mod 25) with seed = FNV-1a 32 of the rendering", async () => {
    const rendering = new TextEncoder().encode("m<|system|>be brief<|user|>hi");
    const seed = promptSeed(rendering);
    const body = { model: "m", messages: [{ role: "system", content: "be brief" }, user("hi")] };
    const json = (await (await chat(sim(), "a", body)).json()) as Completion;
    expect(json.usage?.completion_tokens).toBe(8 + (seed % 25));
    expect(json.choices[0]?.message.content).toBe(generateCompletion(seed).tokens.join(""));
  });

  it("max_tokens caps the completion with finish_reason length", async () => {
    const json = (await (await chat(sim(), "a", { model: "m", messages: [user("hi")], max_tokens: 3 })).json()) as Completion;
    expect(json.usage?.completion_tokens).toBe(3);
    expect(json.choices[0]?.finish_reason).toBe("length");
    expect(json.choices[0]?.message.content.split(" ").filter(Boolean)).toHaveLength(3);
  });

  it("max_completion_tokens wins over max_tokens", async () => {
    const body = { model: "m", messages: [user("hi")], max_tokens: 3, max_completion_tokens: 5 };
    const json = (await (await chat(sim(), "a", body)).json()) as Completion;
    expect(json.usage?.completion_tokens).toBe(5);
    expect(json.choices[0]?.finish_reason).toBe("length");
  });

  it("a cap above the natural length changes nothing (finish_reason stop)", async () => {
    const json = (await (await chat(sim(), "a", { model: "m", messages: [user("hi")], max_tokens: 1000 })).json()) as Completion;
    expect(json.choices[0]?.finish_reason).toBe("stop");
  });

  it("renders array content (text parts only) and tools into the prompt, tools right after the model", async () => {
    const tools = [{ type: "function", function: { name: "f", parameters: {} } }];
    const body = {
      model: "m",
      messages: [
        { role: "user", content: [{ type: "text", text: "ab" }, { type: "image_url", image_url: { url: "x" } }, { type: "text", text: "cd" }] },
        { role: "assistant", content: null },
      ],
      tools,
      // Text, not a call (tools.test.ts): the completion below is the seeded text of the rendering.
      tool_choice: "none",
    };
    const rendering = `m${JSON.stringify(tools)}<|user|>abcd<|assistant|>`;
    const json = (await (await chat(sim(), "a", body)).json()) as Completion;
    expect(json.usage?.prompt_tokens).toBe(tokensOf(rendering));
    // The order shows in the completion: its seed is a hash of the rendering's bytes, in order.
    const seed = promptSeed(new TextEncoder().encode(rendering));
    expect(json.choices[0]?.message.content).toBe(generateCompletion(seed).tokens.join(""));
    const toolsLast = promptSeed(new TextEncoder().encode(`m<|user|>abcd<|assistant|>${JSON.stringify(tools)}`));
    expect(generateCompletion(toolsLast).tokens.join("")).not.toBe(json.choices[0]?.message.content);
  });

  it("renderChatPrompt: model, then tools (when not null), then the messages", () => {
    const tools = [{ type: "function", function: { name: "lookup" } }];
    const messages = [{ role: "system", content: "sys" }, user("hi")];
    expect(renderChatPrompt({ model: "m", tools, messages })).toBe(
      'm[{"type":"function","function":{"name":"lookup"}}]<|system|>sys<|user|>hi',
    );
    expect(renderChatPrompt({ model: "m", tools: null, messages })).toBe("m<|system|>sys<|user|>hi");
    expect(renderChatPrompt({ model: "m", messages })).toBe("m<|system|>sys<|user|>hi");
    expect(renderChatPrompt({ model: "m", tools: [], messages })).toBe("m[]<|system|>sys<|user|>hi");
  });

  it("counts UTF-8 bytes, not characters", async () => {
    const json = (await (await chat(sim(), "a", { model: "m", messages: [user("héllo €")] })).json()) as Completion;
    // "m<|user|>" is 9 bytes, "héllo €" is 10 bytes → 19 bytes → 5 tokens.
    expect(json.usage?.prompt_tokens).toBe(5);
  });

  it("falls back to the origin's first model when the request names none", async () => {
    const s = makeSim({ origins: { a: { models: ["first", "second"] } } });
    const json = (await (await chat(s, "a", { messages: [user("hi")] })).json()) as Completion;
    expect(json.model).toBe("first");
  });
});
