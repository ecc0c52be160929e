import { describe, expect, it } from "vitest";
import { cacheProfileOf, reusableTokens } from "../../src/affinity/reuse";

describe("what an origin can reuse", () => {
  it("rounds OpenAI matches to nothing below 1024 tokens, then 128-token steps", () => {
    const openai = cacheProfileOf({ provider: "openai", cache: {} });
    expect(openai).toEqual({ ttlSeconds: 300, minTokens: 1024, stepTokens: 128 });
    expect([1000, 1023, 1024, 1100, 1151, 1152, 5000].map((t) => reusableTokens(t, openai))).toEqual([0, 0, 1024, 1024, 1024, 1152, 4992]);
  });

  it("rounds vLLM and SGLang matches to 16-token blocks, DeepSeek to 64-token units", () => {
    expect(reusableTokens(100, cacheProfileOf({ provider: "vllm", cache: {} }))).toBe(96);
    expect(reusableTokens(15, cacheProfileOf({ provider: "sglang", cache: {} }))).toBe(0);
    expect(reusableTokens(200, cacheProfileOf({ provider: "deepseek", cache: {} }))).toBe(192);
  });

  it("takes an origin's own cache settings over its provider's", () => {
    const custom = cacheProfileOf({ provider: "vllm", cache: { stepTokens: 32, ttlSeconds: 60 } });
    expect(custom).toEqual({ ttlSeconds: 60, minTokens: 16, stepTokens: 32 });
    expect(reusableTokens(100, custom)).toBe(96);
    expect(reusableTokens(0, custom)).toBe(0);
  });
});
