/**
 * `POST /v1/completions` (issue #17, section 2) through the whole request path: routed like chat to
 * the origins that serve the legacy endpoint, with budgets, usage, streaming usage and cost.
 */
import { describe, expect, it } from "vitest";
import { choiceSeed, generateCompletion, promptSeed } from "../../src/sim";
import { addBudget, api, budgetsOf, newTenant, originSaw, settledAll, sseData, usageOf } from "../support/client";

const completions = (key: string, body: Record<string, unknown>, headers?: Record<string, string>) => api("/completions", key, { prompt: "Once upon a time", ...body }, headers);
const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");
const tokens = (text: string) => Math.ceil(new TextEncoder().encode(text).byteLength / 4);

describe("POST /v1/completions", () => {
  it("is served by the first candidate that serves completions, priced, with its usage row", async () => {
    const { tenantId, key } = await newTenant();
    const res = await completions(key, { model: "chat-main", max_tokens: 5 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-origin")).toBe("alpha");
    const requestId = res.headers.get("x-request-id")!;
    const [seen] = await originSaw(requestId);
    expect(seen!.path).toBe("/alpha/v1/completions");
    expect(seen!.body).toEqual({ model: "alpha-large", prompt: "Once upon a time", max_tokens: 5 });

    const expected = generateCompletion(choiceSeed(promptSeed(new TextEncoder().encode("alpha-largeOnce upon a time")), 0), 5);
    const prompt = tokens("alpha-largeOnce upon a time");
    // alpha: 1 µ$ an input token, 2 µ$ an output token.
    const cost = prompt + 2 * expected.tokens.length;
    const body = (await res.json()) as { object: string; choices: Array<{ text: string; finish_reason: string }>; usage: Record<string, unknown> };
    expect(body.object).toBe("text_completion");
    expect(body.choices).toEqual([{ text: expected.tokens.join(""), index: 0, logprobs: null, finish_reason: expected.finishReason }]);
    expect(body.usage).toEqual({ prompt_tokens: prompt, completion_tokens: expected.tokens.length, total_tokens: prompt + expected.tokens.length, prompt_tokens_details: { cached_tokens: 0 }, cost: cost / 1e6 });
    expect(res.headers.get("x-router-cost-usd")).toBe(`0.${String(cost).padStart(6, "0")}`);
    expect(await usageOf(tenantId, requestId)).toMatchObject({ endpoint: "completions", scenario: "chat-main", origin: "alpha", promptTokens: prompt, completionTokens: expected.tokens.length, costMicros: cost, usageSource: "origin", outcome: "ok" });
  });

  it("streams: usage asked of the origin, hidden from a client that did not ask, priced for one that did", async () => {
    const { tenantId, key } = await newTenant();
    const plain = await completions(key, { model: "chat-pool", max_tokens: 4, stream: true });
    expect(plain.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(plain.headers.get("x-router-cost-usd")).toBeNull();
    const events = sseData(await plain.text());
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.some((e) => e !== "[DONE]" && "usage" in e)).toBe(false);
    const plainId = plain.headers.get("x-request-id")!;
    expect(((await originSaw(plainId))[0]!.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
    expect(await usageOf(tenantId, plainId)).toMatchObject({ endpoint: "completions", stream: true, completionTokens: 4, usageSource: "origin" });

    const asked = await completions(key, { model: "chat-pool", max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    const usageChunk = sseData(await asked.text()).at(-2) as { choices: unknown[]; usage: { prompt_tokens: number; completion_tokens: number; cost: number } };
    expect(usageChunk.choices).toEqual([]);
    const row = await usageOf(tenantId, asked.headers.get("x-request-id")!);
    // pool: input free, 2 µ$ an output token.
    expect(row.costMicros).toBe(8);
    expect(usageChunk.usage.cost).toBe(8 / 1e6);
  });

  it("falls back before the first byte, to an origin that serves completions", async () => {
    const { key } = await newTenant();
    const res = await completions(key, { model: "chat-nokey-first", max_tokens: 3 });
    expect(res.status).toBe(200);
    expect(attemptsOf(res)).toBe("nokey;result=no_credentials, pool;result=200");
  });

  it("imposes the budget's output cap as max_tokens and settles against the budget", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 40 });
    const res = await completions(key, { model: "chat-priced", prompt: "x" });
    expect(res.status).toBe(200);
    const cap = Number(res.headers.get("x-router-max-tokens"));
    expect(cap).toBeGreaterThan(0);
    expect(((await originSaw(res.headers.get("x-request-id")!))[0]!.body as { max_tokens: number }).max_tokens).toBe(cap);
    await res.text();
    await settledAll(tenantId);
    const [budget] = await budgetsOf(tenantId);
    expect(budget!.reserved).toBe(0);
    expect(budget!.settled).toBeGreaterThan(0);
    expect(budget!.settled).toBeLessThanOrEqual(40);
  });

  it("a stream the origin breaks ends with an error event and is settled for what was delivered", async () => {
    const { tenantId, key } = await newTenant();
    const res = await completions(key, { model: "chat-pool", stream: true, max_tokens: 8, sim: { pool: { cutAfterChunks: 3 } } });
    const events = sseData(await res.text());
    expect(events.at(-1)).toMatchObject({ error: { code: "upstream_stream_broken" } });
    expect(await usageOf(tenantId, res.headers.get("x-request-id")!)).toMatchObject({ outcome: "stream_broken", usageSource: "estimated", completionTokens: 3 });
  });

  it.each([
    [{ model: "chat-deepseek" }, 400, "model", /has no origin that serves \/v1\/completions/],
    [{ model: "embed-main" }, 400, "model", /served at \/v1\/embeddings/],
    [{ model: "chat-main", prompt: [] }, 400, "prompt", /'prompt'/],
    [{ model: "chat-main", n: 3, best_of: 2 }, 400, "best_of", /at least 'n'/],
    [{ model: "chat-main", metadata: { k: "v".repeat(513) } }, 400, "metadata.k", /./],
    [{ model: "nope" }, 404, "model", /does not exist/],
  ])("refuses %j with %i naming '%s', reserving nothing", async (body, status, param, message) => {
    const { tenantId, key } = await newTenant();
    const res = await completions(key, body);
    expect(res.status).toBe(status);
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
    await settledAll(tenantId);
  });

  it("GET is a 405; no key is a 401", async () => {
    expect((await api("/completions", "tr-x")).status).toBe(405);
    expect((await api("/completions", null, { model: "chat-main", prompt: "x" })).status).toBe(401);
  });
});
