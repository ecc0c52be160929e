/** The simulator's legacy completions (`src/sim/completions.ts`): exact bodies and SSE sequences. */
import { describe, expect, it } from "vitest";
import { choiceSeed, generateCompletion, promptSeed } from "../../src/sim";
import { makeSim, post, simStats, sseData, tokensOf } from "./helpers";

const sim = () => makeSim({ origins: { a: {}, r: { profile: "openrouter" } } });
const utf8 = (text: string) => new TextEncoder().encode(text);
/** What the simulator writes for `rendering` as choice `i`, capped at `cap`. */
const textOf = (rendering: string, i = 0, cap = 16) => generateCompletion(choiceSeed(promptSeed(utf8(rendering)), i), cap);

describe("POST /v1/completions", () => {
  it("answers a string prompt with seeded text, 16 tokens at most by default, and usage", async () => {
    const res = await post(sim(), "a", "completions", { model: "m", prompt: "Once upon a time" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const expected = textOf("mOnce upon a time");
    expect(body).toEqual({
      id: expect.stringMatching(/^cmpl-sim-\d+$/),
      object: "text_completion",
      created: expect.any(Number),
      model: "m",
      choices: [{ text: expected.tokens.join(""), index: 0, logprobs: null, finish_reason: expected.finishReason }],
      usage: {
        prompt_tokens: tokensOf("mOnce upon a time"),
        completion_tokens: expected.tokens.length,
        total_tokens: tokensOf("mOnce upon a time") + expected.tokens.length,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
    expect(expected.tokens.length).toBeLessThanOrEqual(16);
  });

  it("answers each prompt n times, choice p × n + i, with echo and max_tokens", async () => {
    const res = await post(sim(), "a", "completions", { model: "m", prompt: ["x", "y"], n: 2, max_tokens: 3, echo: true });
    const body = (await res.json()) as { choices: Array<{ text: string; index: number }>; usage: { completion_tokens: number; prompt_tokens: number } };
    expect(body.choices.map((c) => c.text)).toEqual([
      `x${textOf("mx", 0, 3).tokens.join("")}`,
      `x${textOf("mx", 1, 3).tokens.join("")}`,
      `y${textOf("my", 0, 3).tokens.join("")}`,
      `y${textOf("my", 1, 3).tokens.join("")}`,
    ]);
    expect(body.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(body.usage.completion_tokens).toBe(12);
    expect(body.usage.prompt_tokens).toBe(2 * tokensOf("mx"));
  });

  it("streams text chunks, the finish chunk and the usage chunk only when asked", async () => {
    const plain = sseData(await (await post(sim(), "a", "completions", { model: "m", prompt: "hi", max_tokens: 3, stream: true })).text());
    const expected = textOf("mhi", 0, 3).tokens;
    const chunks = plain.filter((e): e is Record<string, unknown> => e !== "[DONE]");
    expect(chunks.map((c) => c.choices)).toEqual([
      ...expected.map((text) => [{ text, index: 0, logprobs: null, finish_reason: null }]),
      [{ text: "", index: 0, logprobs: null, finish_reason: "length" }],
    ]);
    expect(chunks.every((c) => c.object === "text_completion" && !("usage" in c))).toBe(true);
    expect(plain.at(-1)).toBe("[DONE]");

    const withUsage = sseData(await (await post(sim(), "a", "completions", { model: "m", prompt: "hi", max_tokens: 3, stream: true, stream_options: { include_usage: true } })).text());
    expect(withUsage.at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: tokensOf("mhi"), completion_tokens: 3 } });
  });

  it("as OpenRouter: usage (with its cost in credits) ends every stream, asked for or not", async () => {
    const events = sseData(await (await post(sim(), "r", "completions", { model: "m", prompt: "hi", max_tokens: 3, stream: true })).text());
    const p = tokensOf("mhi");
    expect(events.at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: p, completion_tokens: 3, cost: (p + 3) / 1e6 } });
  });

  it("applies stream faults as chat does: a cut after N token chunks errors the body", async () => {
    const res = await post(sim(), "a", "completions", { model: "m", prompt: "hi", max_tokens: 5, stream: true, sim: { a: { cutAfterChunks: 2 } } });
    const reader = res.body!.getReader();
    let text = "";
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += new TextDecoder().decode(value);
        }
      })(),
    ).rejects.toThrow();
    expect(sseData(text)).toHaveLength(2);
  });

  it("refuses a request without a prompt (400 naming it), and counts what it serves in stats", async () => {
    const s = sim();
    const bad = await post(s, "a", "completions", { model: "m" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("prompt");
    await post(s, "a", "completions", { model: "m", prompt: "hi", max_tokens: 4 });
    expect((await simStats(s)).a).toMatchObject({ requests: 1, promptTokens: tokensOf("mhi"), completionTokens: 4 });
  });
});
