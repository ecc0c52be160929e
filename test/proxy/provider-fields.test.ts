/**
 * Requests that are right for each provider (issue #17, section 4), as the origin received them:
 * the output cap in the provider's field only, `service_tier` only where the origin prices it (and
 * charged at that price), `stream_options` as each provider documents it.
 */
import { describe, expect, it } from "vitest";
import { addBudget, chat, newTenant, originSaw, sseData, usageOf } from "../support/client";

type Body = Record<string, unknown>;

/** The µ$ a served request was charged, and what its usage costs at `input` and `output` µ$ a token. */
async function charged(tenantId: string, res: Response, input: number, output: number): Promise<{ charged: number; expected: number }> {
  const { usage } = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
  return { charged: row.costMicros, expected: input * usage.prompt_tokens + output * usage.completion_tokens };
}

async function sentBody(res: Response): Promise<Body> {
  expect(res.status).toBe(200);
  const [seen] = await originSaw(res.headers.get("x-request-id")!);
  return seen!.body as Body;
}

describe("the output cap goes in the provider's field", () => {
  it("OpenAI: max_tokens from the client is sent as max_completion_tokens", async () => {
    const { key } = await newTenant();
    const body = await sentBody(await chat(key, { model: "chat-alpha-only", max_tokens: 20 }));
    expect(body.max_completion_tokens).toBe(20);
    expect(body).not.toHaveProperty("max_tokens");
  });

  it("DeepSeek: max_completion_tokens from the client is sent as max_tokens (the field its API documents)", async () => {
    const { key } = await newTenant();
    const body = await sentBody(await chat(key, { model: "chat-deepseek", max_completion_tokens: 20 }));
    expect(body.max_tokens).toBe(20);
    expect(body).not.toHaveProperty("max_completion_tokens");
  });

  it("both fields sent: max_completion_tokens wins, one field goes out", async () => {
    const { key } = await newTenant();
    const body = await sentBody(await chat(key, { model: "chat-pool", max_tokens: 50, max_completion_tokens: 12 }));
    expect(body.max_completion_tokens).toBe(12);
    expect(body).not.toHaveProperty("max_tokens");
  });

  it.each([
    ["chat-alpha-only", "max_completion_tokens", "max_tokens"],
    ["chat-deepseek", "max_tokens", "max_completion_tokens"],
  ])("the router's own cap under a budget (%s) goes in %s", async (model, field, other) => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 120 });
    const res = await chat(key, { model });
    const cap = Number(res.headers.get("x-router-max-tokens"));
    expect(cap).toBeGreaterThan(0);
    const body = await sentBody(res);
    expect(body[field]).toBe(cap);
    expect(body).not.toHaveProperty(other);
  });
});

describe("service_tier", () => {
  it("is stripped for an origin that declares no tiers: the router consumes it as a priority class", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-alpha-only", service_tier: "priority" });
    expect(res.headers.get("x-router-priority")).toBe("interactive");
    const body = await sentBody(res);
    expect(body).not.toHaveProperty("service_tier");
    // Charged at the origin's own prices: 1 µ$ an input token, 2 µ$ an output token.
    const { charged: cost, expected } = await charged(tenantId, res, 1, 2);
    expect(cost).toBe(expected);
  });

  it("is forwarded to an origin that prices the tier, and charged at that tier's prices", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-tiered", service_tier: "priority" });
    const body = await sentBody(res);
    expect(body.service_tier).toBe("priority");
    const { charged: cost, expected } = await charged(tenantId, res, 2, 4);
    expect(cost).toBe(expected);
  });

  it("is stripped when the origin prices other tiers but not this one, and charged at base prices", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-tiered", service_tier: "scale" });
    const body = await sentBody(res);
    expect(body).not.toHaveProperty("service_tier");
    const { charged: cost, expected } = await charged(tenantId, res, 1, 2);
    expect(cost).toBe(expected);
  });

  it("a priced tier is reserved at its price: a budget that affords the base price refuses the dearer tier sooner", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 300 });
    const base = await chat(key, { model: "chat-tiered", max_tokens: 100 });
    const priority = await chat(key, { model: "chat-tiered", max_tokens: 100, service_tier: "priority" });
    expect(base.headers.get("x-router-max-tokens")).toBeNull();
    // 300 µ$ left at most: at 4 µ$ an output token the cap must come down below 100.
    expect(Number(priority.headers.get("x-router-max-tokens"))).toBeLessThan(75);
  });
});

describe("stream_options", () => {
  it("is dropped from a request that does not stream (OpenAI refuses it there)", async () => {
    const { key } = await newTenant();
    const body = await sentBody(await chat(key, { model: "chat-alpha-only", stream_options: { include_usage: true } }));
    expect(body).not.toHaveProperty("stream_options");
    expect(body).not.toHaveProperty("stream");
  });

  it("OpenRouter: the client's stream_options go as they are (usage always comes), the usage chunk still hidden from a client that did not ask", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-openrouter", stream: true });
    const events = sseData(await res.text());
    const body = (await originSaw(res.headers.get("x-request-id")!))[0]!.body as Body;
    expect(body).not.toHaveProperty("stream_options");
    expect(events.some((e) => e !== "[DONE]" && e.usage)).toBe(false);
    const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(row.usageSource).toBe("origin");
  });

  it("OpenRouter: a client that asked for usage gets the router's cost in place of OpenRouter's credits", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-openrouter", stream: true, stream_options: { include_usage: true } });
    const events = sseData(await res.text());
    const usage = (events.at(-2) as { usage: { prompt_tokens: number; completion_tokens: number; cost: number } }).usage;
    const row = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(row.costMicros).toBe(usage.prompt_tokens + 2 * usage.completion_tokens);
    expect(usage.cost).toBe(row.costMicros / 1e6);
  });
});
