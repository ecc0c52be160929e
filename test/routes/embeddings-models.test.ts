import { describe, expect, it } from "vitest";
import { api, newTenant, originSaw, usageOf } from "../support/client";

describe("POST /v1/embeddings", () => {
  it("forwards with the origin's model name and records usage", async () => {
    const { tenantId, key } = await newTenant();
    const res = await api("/embeddings", key, { model: "embed-main", input: ["alpha", "beta"], encoding_format: "float" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-origin")).toBe("pool");
    const body = (await res.json()) as { data: Array<{ index: number; embedding: number[] }>; usage: { prompt_tokens: number } };
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.data[0]!.embedding).toHaveLength(16);
    const requestId = res.headers.get("x-request-id")!;
    expect(((await originSaw(requestId))[0]!.body as { model: string }).model).toBe("bge-m3");
    const usage = await usageOf(tenantId, requestId);
    expect(usage).toMatchObject({ endpoint: "embeddings", origin: "pool", promptTokens: body.usage.prompt_tokens, completionTokens: 0 });
  });

  it("falls back like chat does", async () => {
    const { key } = await newTenant();
    const res = await api("/embeddings", key, { model: "embed-main", input: "x", sim: { pool: { status: 503 } } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-origin")).toBe("alpha");
  });
});

describe("GET /v1/models", () => {
  it("lists the scenarios the key may use", async () => {
    const { key } = await newTenant();
    const res = await api("/models", key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: Array<{ id: string; object: string; owned_by: string }> };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toContain("chat-main");
    expect(body.data.map((m) => m.id)).toContain("embed-main");
    expect(body.data[0]).toMatchObject({ object: "model", owned_by: "token-router" });
  });

  it("lists only what the policy allows, and retrieves one model", async () => {
    const { key } = await newTenant({ allowedModels: ["chat-pool", "embed-main"] });
    const body = (await (await api("/models", key)).json()) as { data: Array<{ id: string }> };
    expect(body.data.map((m) => m.id)).toEqual(["chat-pool", "embed-main"]);
    expect(await (await api("/models/chat-pool", key)).json()).toMatchObject({ id: "chat-pool", object: "model" });
    expect((await api("/models/chat-main", key)).status).toBe(404);
  });

  it("401 without a valid key", async () => {
    expect((await api("/models", "tr-nobody-abc")).status).toBe(401);
  });
});
