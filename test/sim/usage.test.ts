/** Each profile's `usage` fields, with token counts computed from the documented rule. */
import { describe, expect, it } from "vitest";
import { chat, makeSim, tokensOf, user, type Completion } from "./helpers";

const sim = () =>
  makeSim({ origins: { oa: { profile: "openai" }, ds: { profile: "deepseek" }, vl: { profile: "vllm" } } });

describe("usage by profile", () => {
  const body = { model: "m", messages: [user("hello")] };
  // "m<|user|>hello" is 14 bytes → 4 tokens.
  const prompt = tokensOf("m<|user|>hello");

  it("openai reports prompt_tokens_details.cached_tokens", async () => {
    const res = await chat(sim(), "oa", body);
    const json = (await res.json()) as Completion;
    expect(prompt).toBe(4);
    const completion = json.usage?.completion_tokens ?? -1;
    expect(json.usage).toEqual({
      prompt_tokens: 4,
      completion_tokens: completion,
      total_tokens: 4 + completion,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(completion).toBeGreaterThanOrEqual(8);
    expect(completion).toBeLessThanOrEqual(32);
  });

  it("vllm reports the same fields as openai", async () => {
    const json = (await (await chat(sim(), "vl", body)).json()) as Completion;
    expect(Object.keys(json.usage ?? {}).sort()).toEqual(
      ["completion_tokens", "prompt_tokens", "prompt_tokens_details", "total_tokens"],
    );
  });

  it("deepseek adds prompt_cache_hit_tokens / prompt_cache_miss_tokens", async () => {
    const json = (await (await chat(sim(), "ds", body)).json()) as Completion;
    const completion = json.usage?.completion_tokens ?? -1;
    expect(json.usage).toEqual({
      prompt_tokens: 4,
      completion_tokens: completion,
      total_tokens: 4 + completion,
      prompt_tokens_details: { cached_tokens: 0 },
      prompt_cache_hit_tokens: 0,
      prompt_cache_miss_tokens: 4,
    });
  });

  it("the same prompt gets the same completion from every profile (text depends on model and prompt only)", async () => {
    const s = sim();
    const texts = await Promise.all(
      ["oa", "ds", "vl"].map(async (o) => ((await (await chat(s, o, body)).json()) as Completion).choices[0]?.message.content),
    );
    expect(new Set(texts).size).toBe(1);
  });
});
