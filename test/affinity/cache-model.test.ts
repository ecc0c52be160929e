import { describe, expect, it } from "vitest";
import { CacheModel, promptParts, type PromptParts } from "../../src/affinity/cache-model";
import { fingerprint } from "../../src/affinity/fingerprint";

/** Conversation `id`: `tokens` tokens after tenant preamble `preamble` (1,000 tokens). */
const prompt = (id: number, tokens: number, preamble = 1): PromptParts => ({ preamble, preambleTokens: 1_000, conversation: 100 + id, promptTokens: 1_000 + tokens });

describe("cache model", () => {
  it("holds what was sent until the origin's capacity is exceeded, then takes the least recently used conversation, tail first", () => {
    const model = new CacheModel();
    // 10,000 tokens: the shared preamble (1,000) and four conversations of 2,000 fit (9,000).
    for (let id = 1; id <= 4; id++) model.sent("a", 10_000, prompt(id, 2_000), id * 100);
    expect([1, 2, 3, 4].map((id) => model.heldTokens("a", 100 + id))).toEqual([2_000, 2_000, 2_000, 2_000]);
    // Conversation 1 returns 1,500 tokens longer (10,500 > 10,000): 2, the least recent, loses its last 500.
    model.sent("a", 10_000, prompt(1, 3_500), 500);
    expect(model.heldTokens("a", 102)).toBe(1_500);
    expect(model.reach("a", prompt(2, 2_500))).toBe(2_500);
    // A fifth (2,000 more): the rest of 2 goes, then 500 of 3.
    model.sent("a", 10_000, prompt(5, 2_000), 600);
    expect([1, 2, 3, 4, 5].map((id) => model.heldTokens("a", 100 + id))).toEqual([3_500, 0, 1_500, 2_000, 2_000]);
    expect(model.reach("a", prompt(2, 2_500))).toBe(1_000);
    // The preamble every request touched last is still whole; other origins and prefixes are unknown.
    expect(model.heldTokens("a", 1)).toBe(1_000);
    expect(model.heldTokens("b", 101)).toBeNull();
    expect(model.reach("b", prompt(1, 3_500))).toBeNull();
    expect(model.heldTokens("a", 999)).toBeNull();
  });

  it("reaches no further than what is left of a conversation's preamble: a prefix cache matches from the start", () => {
    const model = new CacheModel();
    model.sent("a", 4_000, prompt(1, 2_000, 7), 0);
    // Another tenant's 3,500 tokens take conversation 1's tail, then its preamble's tail.
    model.sent("a", 4_000, { preamble: 8, preambleTokens: 500, conversation: 200, promptTokens: 3_500 }, 1);
    expect(model.heldTokens("a", 7)).toBe(500);
    expect(model.heldTokens("a", 101)).toBe(0);
    expect(model.reach("a", prompt(1, 2_000, 7))).toBe(500);
    model.sent("a", 4_000, { preamble: 9, preambleTokens: 500, conversation: 201, promptTokens: 600 }, 2);
    expect(model.heldTokens("a", 7)).toBe(0);
    expect(model.reach("a", prompt(1, 2_000, 7))).toBe(0);
  });

  it("a conversation's entry is its latest prompt: a longer turn replaces it, it is not added", () => {
    const model = new CacheModel();
    model.sent("a", 10_000, prompt(1, 3_000), 0);
    model.sent("a", 10_000, prompt(1, 4_000), 1);
    model.sent("a", 10_000, prompt(1, 5_000), 2);
    // 1,000 + 5,000 held: 4,000 free for a 4,000-token conversation after the same preamble, none to spare.
    expect(model.room("a", prompt(2, 4_000), 10_000, 3)).toBe(0);
    model.sent("a", 10_000, prompt(2, 4_000), 3);
    expect(model.heldTokens("a", 101)).toBe(5_000);
    expect(model.reach("a", prompt(1, 5_500))).toBe(6_000);
  });

  it("room: the tokens left once the prompt is in (less what the cache holds of it), what stale entries hold counted as free", () => {
    const model = new CacheModel();
    expect(model.room("a", prompt(1, 2_000), 10_000, 0)).toBe(7_000);
    model.sent("a", 10_000, prompt(1, 4_000), 1_000);
    model.sent("a", 10_000, prompt(2, 2_000), 4_000);
    // Held: 7,000 tokens, all used within the live window (10 s before any conversation came back).
    // A new conversation after the held preamble adds its own tokens only.
    expect(model.room("a", prompt(3, 2_000), 10_000, 5_000)).toBe(1_000);
    expect(model.room("a", prompt(3, 5_000), 10_000, 5_000)).toBe(-2_000);
    // The next turn of conversation 2 adds what it grew by; under another preamble, all of it.
    expect(model.room("a", prompt(2, 3_000), 10_000, 5_000)).toBe(2_000);
    expect(model.room("a", prompt(3, 2_000, 2), 10_000, 5_000)).toBe(0);
    // At 11.5 s conversation 1 (4,000, last used at 1 s) is stale: its tokens are room, the rest is live.
    expect(model.room("a", prompt(3, 5_000), 10_000, 11_500)).toBe(2_000);
    // An origin the model has not seen is empty.
    expect(model.room("b", prompt(3, 2_000), 10_000, 5_000)).toBe(7_000);
  });

  it("live means used within eight typical pauses between a conversation's requests (2 s to 1 h)", () => {
    const model = new CacheModel();
    expect(model.liveWindowMs()).toBe(10_000);
    // Conversation 1 comes back after 1 s, then after 1 s again: the running mean is 1 s.
    for (const at of [0, 1_000, 2_000]) model.sent("a", 100_000, prompt(1, 1_000 + at), at);
    expect(model.liveWindowMs()).toBe(8_000);
    // A first request of a conversation, or one at another origin, is no pause.
    model.sent("a", 100_000, prompt(2, 500), 30_000);
    model.sent("b", 100_000, prompt(1, 5_000), 60_000);
    expect(model.liveWindowMs()).toBe(8_000);
    // A pause of 21 s moves the mean by 5 % of the difference: 1 s + 0.05 × 20 s = 2 s, window 16 s.
    model.sent("a", 100_000, prompt(1, 4_000), 23_000);
    expect(model.liveWindowMs()).toBe(16_000);
    // Bounded below: pauses of nothing still leave 2 s.
    const quick = new CacheModel();
    for (let at = 0; at < 10; at++) quick.sent("a", 100_000, prompt(1, 1_000 + at), 0);
    expect(quick.liveWindowMs()).toBe(2_000);
  });

  it("an entry larger than the whole cache is kept alone rather than evicting itself", () => {
    const model = new CacheModel();
    model.sent("a", 10_000, prompt(1, 2_000), 0);
    model.sent("a", 10_000, { preamble: 7, preambleTokens: 20_000, conversation: 7, promptTokens: 20_000 }, 1);
    expect(model.heldTokens("a", 7)).toBe(20_000);
    expect(model.heldTokens("a", 101)).toBe(0);
    expect(model.heldTokens("a", 1)).toBe(0);
  });

  it("keeps a prompt without a separate preamble as one entry of all its tokens", () => {
    const fp = fingerprint({ model: "m", messages: [{ role: "user", content: "x".repeat(4_000) }] });
    const parts = promptParts(fp);
    expect(parts.conversation).toBe(parts.preamble);
    expect(parts.promptTokens).toBe(fp.promptTokens);
    const model = new CacheModel();
    // Not held: all of it is new; held whole, sending it again adds nothing.
    expect(model.room("a", parts, 4_000, 0)).toBe(4_000 - fp.promptTokens);
    model.sent("a", 4_000, parts, 0);
    expect(model.reach("a", parts)).toBe(fp.promptTokens);
    expect(model.room("a", parts, 4_000, 0)).toBe(4_000 - fp.promptTokens);
    expect(model.room("a", { ...parts, conversation: 5, preamble: 5 }, 4_000, 0)).toBe(4_000 - 2 * fp.promptTokens);
  });

  it("splits a fingerprint into the tokens of its preamble and the whole prompt", () => {
    const system = { role: "system", content: "s".repeat(4_000) };
    const fp = fingerprint({ model: "m", messages: [system, { role: "user", content: "u".repeat(8_000) }] });
    const parts = promptParts(fp);
    expect(parts.preamble).toBe(fp.anchor);
    expect(parts.conversation).toBe(fp.conversation);
    expect(parts.conversation).not.toBe(parts.preamble);
    // 4,000 bytes of system content plus the rendering's framing, over 4 bytes a token.
    expect(parts.preambleTokens).toBeGreaterThanOrEqual(1_000);
    expect(parts.preambleTokens).toBeLessThan(1_020);
    expect(parts.promptTokens - parts.preambleTokens).toBeGreaterThanOrEqual(2_000);
  });
});
