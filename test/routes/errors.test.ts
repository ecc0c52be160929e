import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, chat, newTenant, originSaw } from "../support/client";

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function expectError(res: Response, status: number, code: string, param: string | null = null): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  const body = (await res.json()) as ErrorBody;
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.code).toBe(code);
  expect(body.error.param).toBe(param);
  return body;
}

describe("authentication", () => {
  it("401 without a key", async () => {
    await expectError(await api("/chat/completions", null, { model: "chat-main", messages: [] }), 401, "missing_api_key");
  });

  it("401 for a key not of our format, for a wrong secret, and for an unknown tenant", async () => {
    const { key, tenantId } = await newTenant();
    for (const bad of ["sk-not-ours", `${key.slice(0, -2)}xx`, `tr-nosuchtenant_${tenantId}-abcdef`]) {
      const body = await expectError(await chat(bad, { model: "chat-main" }), 401, "invalid_api_key");
      expect(body.error.message).not.toContain(bad);
    }
  });

  it("checks the key before judging the body", async () => {
    await expectError(await api("/chat/completions", "tr-nobody-secret", "{not json"), 401, "invalid_api_key");
  });
});

describe("request validation", () => {
  it("400 for a body that is not JSON", async () => {
    const { key } = await newTenant();
    await expectError(await api("/chat/completions", key, "{not json"), 400, "invalid_json");
  });

  it.each([
    [{ messages: [{ role: "user", content: "hi" }] }, "model"],
    [{ model: "chat-main", messages: [] }, "messages"],
    [{ model: "chat-main", messages: [{ role: "robot", content: "hi" }] }, "messages[0].role"],
    [{ model: "chat-main", messages: [{ role: "user", content: 42 }] }, "messages[0].content"],
    [{ model: "chat-main", messages: [{ role: "user", content: "hi" }], max_tokens: 0 }, "max_tokens"],
    [{ model: "chat-main", messages: [{ role: "user", content: "hi" }], temperature: 3 }, "temperature"],
    [{ model: "chat-main", messages: [{ role: "user", content: "hi" }], stream: "yes" }, "stream"],
  ])("400 naming the offending param: %j", async (body, param) => {
    const { key } = await newTenant();
    const res = await api("/chat/completions", key, body);
    const error = await expectError(res, 400, "invalid_value", param);
    expect(error.error.message).toContain(`'${param}'`);
    expect(await originSaw(res.headers.get("x-request-id")!)).toEqual([]);
  });

  it("400 for embeddings without input", async () => {
    const { key } = await newTenant();
    await expectError(await api("/embeddings", key, { model: "embed-main", input: [] }), 400, "invalid_value", "input");
  });

  it("400 when a chat model is asked for embeddings and the other way round", async () => {
    const { key } = await newTenant();
    await expectError(await api("/embeddings", key, { model: "chat-main", input: "x" }), 400, "invalid_value", "model");
    await expectError(await chat(key, { model: "embed-main" }), 400, "invalid_value", "model");
  });

  it("413 for a body over the limit, declared or chunked", async () => {
    const { key } = await newTenant();
    const big = JSON.stringify({ model: "chat-main", messages: [{ role: "user", content: "x".repeat(70 * 1024) }] });
    await expectError(await api("/chat/completions", key, big), 413, "request_too_large");
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(big);
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const res = await SELF.fetch("http://router.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: chunked,
      duplex: "half",
    } as RequestInit);
    await expectError(res, 413, "request_too_large");
  });
});

describe("models and routes", () => {
  it("404 model_not_found for an unknown model", async () => {
    const { key } = await newTenant();
    const body = await expectError(await chat(key, { model: "gpt-9" }), 404, "model_not_found", "model");
    expect(body.error.message).toBe("The model `gpt-9` does not exist or you do not have access to it.");
  });

  it("404 for a model the tenant's policy does not allow, and for inherited object keys", async () => {
    const { key } = await newTenant({ allowedModels: ["chat-pool"] });
    await expectError(await chat(key, { model: "chat-main" }), 404, "model_not_found", "model");
    await expectError(await chat(key, { model: "constructor" }), 404, "model_not_found", "model");
    expect((await chat(key, { model: "chat-pool" })).status).toBe(200);
  });

  it("404 for an unknown URL and 405 for a wrong method, OpenAI-shaped", async () => {
    const body = await expectError(await SELF.fetch("http://router.test/v1/nothing-here"), 404, "unknown_url");
    expect(body.error.message).toBe("Invalid URL (GET /v1/nothing-here)");
    await expectError(await SELF.fetch("http://router.test/v1/chat/completions"), 405, "method_not_allowed");
  });
});
