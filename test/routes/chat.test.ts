import { describe, expect, it } from "vitest";
import { chat, ledgerCallsOf, newTenant, originSaw, sseData, usageOf } from "../support/client";
import { ALPHA_API_KEY } from "../support/router-config";

/** `alpha;result=200;ms=3` → `alpha;result=200`: timings vary, results must not. */
const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");

describe("POST /v1/chat/completions, non-streaming", () => {
  it("serves from the first candidate, rewrites the model and says how it was served", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const res = await chat(key, { model: "chat-main" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const requestId = res.headers.get("x-request-id")!;
    expect(requestId).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.headers.get("x-router-scenario")).toBe("chat-main");
    expect(res.headers.get("x-router-origin")).toBe("alpha");
    expect(res.headers.get("x-router-upstream-model")).toBe("alpha-large");
    expect(attemptsOf(res)).toBe("alpha;result=200");

    const body = (await res.json()) as { object: string; model: string; choices: Array<{ message: { content: string } }>; usage: Record<string, unknown> };
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("alpha-large");
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);

    const [seen] = await originSaw(requestId);
    expect(seen!.origin).toBe("alpha");
    expect(seen!.path).toBe("/alpha/v1/chat/completions");
    expect((seen!.body as { model: string }).model).toBe("alpha-large");
    expect(seen!.headers.authorization).toBe(`Bearer ${ALPHA_API_KEY}`);

    // "m<|user|>Hello there" rule: model "alpha-large" (11) + "<|user|>" (8) + "Hello there" (11) = 30 bytes → 8 tokens
    const usage = await usageOf(tenantId, requestId);
    expect(usage).toMatchObject({
      requestId,
      keyId,
      endpoint: "chat",
      scenario: "chat-main",
      origin: "alpha",
      model: "alpha-large",
      stream: false,
      promptTokens: 8,
      cachedTokens: 0,
      completionTokens: body.usage.completion_tokens,
      usageSource: "origin",
      status: 200,
      outcome: "ok",
    });
  });

  it("passes unknown request fields to the origin untouched", async () => {
    const { key } = await newTenant();
    const extras = {
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }],
      response_format: { type: "json_object" },
      vendor_extension: { nested: [1, 2, { deep: true }] },
      seed: 42,
    };
    const res = await chat(key, { model: "chat-pool", ...extras });
    expect(res.status).toBe(200);
    const [seen] = await originSaw(res.headers.get("x-request-id")!);
    expect(seen!.body).toMatchObject({ ...extras, model: "qwen2.5-7b", messages: [{ role: "user", content: "Hello there" }] });
  });

  it("reads DeepSeek's prompt_cache_hit_tokens as cached tokens", async () => {
    const { tenantId, key } = await newTenant();
    // A long, unique prompt so the second identical request hits the simulated prefix cache.
    const content = `deepseek-cache ${crypto.randomUUID()} ` + "lorem ipsum dolor sit amet ".repeat(60);
    const first = await chat(key, { model: "chat-deepseek", messages: [{ role: "user", content }] });
    expect(first.status).toBe(200);
    const second = await chat(key, { model: "chat-deepseek", messages: [{ role: "user", content }] });
    const body = (await second.json()) as { usage: { prompt_tokens: number; prompt_cache_hit_tokens: number } };
    expect(body.usage.prompt_cache_hit_tokens).toBeGreaterThan(0);
    const usage = await usageOf(tenantId, second.headers.get("x-request-id")!);
    expect(usage.promptTokens).toBe(body.usage.prompt_tokens);
    expect(usage.cachedTokens).toBe(body.usage.prompt_cache_hit_tokens);
  });

  it("reads OpenAI-style prompt_tokens_details.cached_tokens (vLLM pool)", async () => {
    const { tenantId, key } = await newTenant();
    const content = `vllm-cache ${crypto.randomUUID()} ` + "the quick brown fox jumps ".repeat(20);
    await chat(key, { model: "chat-pool", messages: [{ role: "user", content }] });
    const second = await chat(key, { model: "chat-pool", messages: [{ role: "user", content }] });
    const body = (await second.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } };
    expect(body.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    const usage = await usageOf(tenantId, second.headers.get("x-request-id")!);
    expect(usage.cachedTokens).toBe(body.usage.prompt_tokens_details.cached_tokens);
  });

  it("admits a key's next request under the isolate's lease, with no ledger call, and its usage row still reaches the ledger", async () => {
    const { tenantId, key } = await newTenant();
    // The ledger admits a key's first request, and grants this isolate a lease on the same call.
    await (await chat(key, { model: "chat-main" })).text();
    const admissions = () => ledgerCallsOf("admit");
    const before = await admissions();
    const res = await chat(key, { model: "chat-main" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(await admissions()).toBe(before);
    // Its row travels in the lease's next report, not on the request's own call.
    const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens, costMicros: Math.round(Number(res.headers.get("x-router-cost-usd")) * 1e6) });
  });
});

describe("POST /v1/chat/completions, streaming", () => {
  it("relays SSE, asks the origin for usage and hides the usage chunk from a client that did not ask", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const requestId = res.headers.get("x-request-id")!;
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.filter((e): e is Record<string, unknown> => e !== "[DONE]");
    expect(chunks.every((c) => (c.choices as unknown[]).length === 1)).toBe(true);
    expect(chunks.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false);

    const [seen] = await originSaw(requestId);
    expect((seen!.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });

    const content = chunks.map((c) => ((c.choices as Array<{ delta: { content?: string } }>)[0]!.delta.content ?? "")).join("");
    const usage = await usageOf(tenantId, requestId);
    expect(usage.usageSource).toBe("origin");
    expect(usage.stream).toBe(true);
    expect(usage.outcome).toBe("ok");
    expect(usage.completionTokens).toBe(content.trim().split(/\s+/).length);
  });

  it("keeps the usage chunk for a client that asked for it, and keeps its other stream_options", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-deepseek", stream: true, stream_options: { include_usage: true, vendor_flag: 1 } });
    const requestId = res.headers.get("x-request-id")!;
    const events = sseData(await res.text());
    const usageChunk = events.at(-2) as { choices: unknown[]; usage: { prompt_tokens: number; completion_tokens: number } };
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.prompt_tokens).toBeGreaterThan(0);
    const [seen] = await originSaw(requestId);
    expect((seen!.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true, vendor_flag: 1 });
    const usage = await usageOf(tenantId, requestId);
    expect(usage.promptTokens).toBe(usageChunk.usage.prompt_tokens);
    expect(usage.completionTokens).toBe(usageChunk.usage.completion_tokens);
  });

  it("delivers events as they are produced, not buffered whole", async () => {
    const { key } = await newTenant();
    // Completions are at least 8 tokens, so max_tokens 8 means exactly 8; at 25 tokens/s the last
    // seven arrive over ≥ 280 ms, and the first event must reach the client long before the end.
    const res = await chat(key, { model: "chat-pool", stream: true, max_tokens: 8, sim: { pool: { decodeTokensPerSec: 25 } } });
    const started = Date.now();
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const totalAt = Date.now() - started;
    expect(rest).toContain("[DONE]");
    expect(sseData(rest).filter((e) => e !== "[DONE]" && JSON.stringify(e).includes('"content":"'))).toHaveLength(7);
    expect(totalAt - firstAt).toBeGreaterThanOrEqual(250);
  });
});
