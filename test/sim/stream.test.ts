/** Streamed chat completions: event order, one chunk per event, the usage chunk only when asked. */
import { describe, expect, it } from "vitest";
import { chat, makeSim, readChunks, sseData, tokensOf, user, type Completion } from "./helpers";

type Chunk = {
  id: string;
  object: string;
  model: string;
  choices: Array<{ index: number; delta: Record<string, string>; finish_reason: string | null }>;
  usage?: unknown;
};

const sim = () => makeSim({ origins: { v: { profile: "vllm" }, d: { profile: "deepseek" } } });
const body = { model: "m", messages: [user("stream please")], stream: true };

describe("streamed chat completion", () => {
  it("sends role, one chunk per token, finish, [DONE] — each event its own chunk", async () => {
    const s = sim();
    const plain = (await (await chat(s, "v", { ...body, stream: false })).json()) as Completion;
    const res = await chat(s, "v", body);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const chunks = await readChunks(res);
    for (const c of chunks) expect(c).toMatch(/^data: [^\n]*\n\n$/);
    const events = sseData(chunks.join(""));
    expect(events.at(-1)).toBe("[DONE]");
    const json = events.slice(0, -1) as Chunk[];
    const n = plain.usage?.completion_tokens ?? -1;
    expect(json).toHaveLength(1 + n + 1);
    expect(json[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(json.slice(1, -1).map((c) => c.choices[0]?.delta.content).join("")).toBe(plain.choices[0]?.message.content);
    expect(json.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    for (const c of json) {
      expect(c.object).toBe("chat.completion.chunk");
      expect(c.model).toBe("m");
      expect(c.id).toBe(json[0]?.id);
      expect("usage" in c).toBe(false);
    }
  });

  it("with include_usage: usage null on every chunk, then a usage chunk with no choices", async () => {
    const res = await chat(sim(), "d", { ...body, stream_options: { include_usage: true } });
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe("[DONE]");
    const json = events.slice(0, -1) as Chunk[];
    const last = json.at(-1);
    expect(last?.choices).toEqual([]);
    const prompt = tokensOf("m<|user|>stream please"); // 22 bytes → 6 tokens
    expect(last?.usage).toMatchObject({ prompt_tokens: prompt, prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: prompt });
    for (const c of json.slice(0, -1)) expect(c.usage).toBeNull();
    expect(json.at(-2)?.choices[0]?.finish_reason).toBe("stop");
  });

  it("include_usage false sends no usage chunk", async () => {
    const events = sseData(await (await chat(sim(), "v", { ...body, stream_options: { include_usage: false } })).text());
    expect((events.slice(0, -1) as Chunk[]).every((c) => c.choices.length === 1 && !("usage" in c))).toBe(true);
  });

  it("max_tokens caps the stream with finish_reason length", async () => {
    const events = sseData(await (await chat(sim(), "v", { ...body, max_tokens: 2 })).text());
    const json = events.slice(0, -1) as Chunk[];
    expect(json).toHaveLength(4); // role, 2 tokens, finish
    expect(json.at(-1)?.choices[0]?.finish_reason).toBe("length");
  });
});
