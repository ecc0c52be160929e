import { describe, expect, it } from "vitest";
import { estimatePromptTokensUpperBound } from "../../src/pricing/estimate";
import { adminFetch, chat, newTenant, settledAll } from "../support/client";

const HELLO = [{ role: "user", content: "Hello there" }];

async function setLimits(path: string, limits: Record<string, number | null>) {
  const res = await adminFetch(path, { method: "PUT", body: { rpm: null, tpm: null, concurrency: null, ...limits } });
  expect(res.status).toBe(200);
}

describe("rate limits", () => {
  it("reports OpenAI's x-ratelimit headers on every proxied response (a new tenant's defaults)", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("1000");
    expect(res.headers.get("x-ratelimit-remaining-requests")).toBe("999");
    expect(res.headers.get("x-ratelimit-reset-requests")).toBe("60ms");
    expect(res.headers.get("x-ratelimit-limit-tokens")).toBe("2000000");
    const upper = estimatePromptTokensUpperBound({ model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(res.headers.get("x-ratelimit-remaining-tokens")).toBe(String(2_000_000 - upper - 8));
  });

  it("refuses past a key's requests per minute with 429, Retry-After and the headers", async () => {
    const { tenantId, key, keyId } = await newTenant();
    await setLimits(`/tenants/${tenantId}/keys/${keyId}/limits`, { rpm: 2 });
    expect((await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 })).status).toBe(200);
    const second = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(second.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const third = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(third.status).toBe(429);
    const body = (await third.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    // One request comes back every 30 s at 2 per minute.
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(29);
    expect(Number(third.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    expect(third.headers.get("x-ratelimit-limit-requests")).toBe("2");
  });

  it("refuses past the tenant's tokens per minute, counting the worst case", async () => {
    const { tenantId, key } = await newTenant();
    const upper = estimatePromptTokensUpperBound({ model: "chat-pool", messages: HELLO, max_tokens: 50 });
    await setLimits(`/tenants/${tenantId}/limits`, { tpm: upper + 60 });
    expect((await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 50 })).status).toBe(200);
    await settledAll(tenantId);
    // The first request used fewer tokens than its worst case; the rest came back. Not enough for another 50.
    const res = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 50 });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("tokens");
    expect(res.headers.get("x-ratelimit-limit-tokens")).toBe(String(upper + 60));
  });

  it("refuses a request beyond the concurrency limit while another is in flight", async () => {
    const { tenantId, key, keyId } = await newTenant();
    await setLimits(`/tenants/${tenantId}/keys/${keyId}/limits`, { concurrency: 1 });
    const slow = await chat(key, { model: "chat-pool", stream: true, messages: HELLO, max_tokens: 8, sim: { pool: { decodeTokensPerSec: 20 } } });
    expect(slow.status).toBe(200);
    const blocked = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    await slow.text();
    await settledAll(tenantId);
    expect((await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 })).status).toBe(200);
  });

  it("validates limit bodies", async () => {
    const { tenantId } = await newTenant();
    const res = await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: { rpm: 0 } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("rpm");
    expect(await (await adminFetch(`/tenants/${tenantId}/limits`)).json()).toEqual({ rpm: 1000, tpm: 2_000_000, concurrency: 100 });
  });
});
