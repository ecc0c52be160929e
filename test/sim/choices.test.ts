/** `n` choices and `logprobs`: exact bodies and exact SSE sequences, usage over every choice. */
import { describe, expect, it } from "vitest";
import { chat, fixedClock, makeSim, sseData, tokensOf, user } from "./helpers";

const sim = () => makeSim({ origins: { a: {} } }, fixedClock());
const HI = { model: "m", messages: [user("hi")] };
const PROMPT = tokensOf("m<|user|>hi"); // 11 bytes: 3 tokens
const usage = (completion: number) => ({ prompt_tokens: PROMPT, completion_tokens: completion, total_tokens: PROMPT + completion, prompt_tokens_details: { cached_tokens: 0 } });

describe("n choices", () => {
  it("answers n choices indexed 0..n-1, choice 0 as with n = 1, usage counting every choice", async () => {
    const s = sim();
    const one = (await (await chat(s, "a", { ...HI, max_tokens: 3 })).json()) as { choices: Array<{ message: { content: string } }> };
    expect(one.choices[0]?.message.content).toBe("gamma answer delta ");
    expect(await (await chat(s, "a", { ...HI, n: 2, max_tokens: 3 })).json()).toEqual({
      id: "chatcmpl-sim-2",
      object: "chat.completion",
      created: 1000,
      model: "m",
      choices: [
        { index: 0, message: { role: "assistant", content: "gamma answer delta " }, logprobs: null, finish_reason: "length" },
        { index: 1, message: { role: "assistant", content: "quick slow slow " }, logprobs: null, finish_reason: "length" },
      ],
      usage: usage(6),
    });
  });

  it("streams the choices interleaved, one choice per chunk: openings, rounds of tokens, finishes, usage", async () => {
    const res = await chat(sim(), "a", { ...HI, n: 2, max_tokens: 2, stream: true, stream_options: { include_usage: true } });
    const head = { id: "chatcmpl-sim-1", object: "chat.completion.chunk", created: 1000, model: "m" };
    const chunk = (index: number, delta: unknown, finish: string | null = null) => ({ ...head, choices: [{ index, delta, logprobs: null, finish_reason: finish }], usage: null });
    expect(sseData(await res.text())).toEqual([
      chunk(0, { role: "assistant", content: "" }),
      chunk(1, { role: "assistant", content: "" }),
      chunk(0, { content: "gamma " }),
      chunk(1, { content: "quick " }),
      chunk(0, { content: "answer " }),
      chunk(1, { content: "slow " }),
      chunk(0, {}, "length"),
      chunk(1, {}, "length"),
      { ...head, choices: [], usage: usage(4) },
      "[DONE]",
    ]);
  });

  it("each choice of a tool call has its own arguments and call id", async () => {
    const body = (await (await chat(sim(), "a", { ...HI, n: 3, tools: [{ type: "function", function: { name: "f" } }] })).json()) as {
      choices: Array<{ index: number; message: { tool_calls: Array<{ id: string; function: { arguments: string } }> } }>;
      usage: { completion_tokens: number };
    };
    expect(body.choices.map((c) => [c.index, c.message.tool_calls[0]?.id, c.message.tool_calls[0]?.function.arguments])).toEqual([
      [0, "call_47873c05c3a28eacdecc3777", "{}"],
      [1, "call_07504f2ce64ec776d532d5ea", "{}"],
      [2, "call_5791533aaa8c846d205b3e67", "{}"],
    ]);
    expect(body.usage.completion_tokens).toBe(3);
  });

  it("refuses n out of OpenAI's range", async () => {
    const res = await chat(sim(), "a", { ...HI, n: 129 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("n");
  });
});

describe("logprobs", () => {
  const gamma = { token: "gamma ", logprob: -0.692769, bytes: [103, 97, 109, 109, 97, 32] };
  const answer = { token: "answer ", logprob: -1.917386, bytes: [97, 110, 115, 119, 101, 114, 32] };

  it("gives each token its logprob, bytes and top_logprobs (the token itself first, then less likely words)", async () => {
    const body = await (await chat(sim(), "a", { ...HI, max_tokens: 2, logprobs: true, top_logprobs: 2 })).json();
    expect(body).toEqual({
      id: "chatcmpl-sim-1",
      object: "chat.completion",
      created: 1000,
      model: "m",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "gamma answer " },
          logprobs: {
            content: [
              { ...gamma, top_logprobs: [gamma, { token: "dog ", logprob: -1.70559, bytes: [100, 111, 103, 32] }] },
              { ...answer, top_logprobs: [answer, { token: "alpha ", logprob: -2.203595, bytes: [97, 108, 112, 104, 97, 32] }] },
            ],
            refusal: null,
          },
          finish_reason: "length",
        },
      ],
      usage: usage(2),
    });
  });

  it("streams one entry with each token chunk; the same logprobs whatever top_logprobs asks", async () => {
    const res = await chat(sim(), "a", { ...HI, max_tokens: 2, logprobs: true, stream: true });
    const head = { id: "chatcmpl-sim-1", object: "chat.completion.chunk", created: 1000, model: "m" };
    const chunk = (delta: unknown, logprobs: unknown, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta, logprobs, finish_reason: finish }] });
    expect(sseData(await res.text())).toEqual([
      chunk({ role: "assistant", content: "" }, null),
      chunk({ content: "gamma " }, { content: [{ ...gamma, top_logprobs: [] }], refusal: null }),
      chunk({ content: "answer " }, { content: [{ ...answer, top_logprobs: [] }], refusal: null }),
      chunk({}, null, "length"),
      "[DONE]",
    ]);
  });

  it("top_logprobs without logprobs: true is a 400 naming it", async () => {
    const res = await chat(sim(), "a", { ...HI, top_logprobs: 2 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string; message: string } }).error).toMatchObject({
      param: "top_logprobs",
      message: expect.stringContaining("'logprobs' must be true when 'top_logprobs' is set"),
    });
  });
});
