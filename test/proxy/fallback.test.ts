import { describe, expect, it } from "vitest";
import { chat, newTenant, originSaw, sseData, usageOf } from "../support/client";
import { TOTAL_MS } from "../support/router-config";

/** Longer than the test origins' first-byte timeout (and their total timeout). */
const FAULT_DELAY_MS = TOTAL_MS + 500;

const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");

describe("fallback before the first byte", () => {
  it.each([
    ["a 503", { status: 503 }, "alpha;result=503, beta;result=200"],
    ["a 500", { status: 500 }, "alpha;result=500, beta;result=200"],
    ["a 429", { status: 429 }, "alpha;result=429, beta;result=200"],
    ["a first-byte timeout", { delayMs: FAULT_DELAY_MS }, "alpha;result=timeout, beta;result=200"],
    ["an unreadable 200", { garbage: true }, "alpha;result=invalid_response, beta;result=200"],
    // Parsed, it would overflow the stack when re-serialized with its usage's cost (a 500, billed).
    ["a 200 nested 10k levels deep", { nestedAnswer: 10_000 }, "alpha;result=invalid_response, beta;result=200"],
    ["a body cut before it is complete", { cutAfterChunks: 0 }, "alpha;result=broken, beta;result=200"],
  ])("moves to the next origin on %s (non-streaming)", async (_, fault, attempts) => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", sim: { alpha: fault } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-origin")).toBe("beta");
    expect(attemptsOf(res)).toBe(attempts);
    const body = (await res.json()) as { object: string };
    expect(body.object).toBe("chat.completion");
    const requestId = res.headers.get("x-request-id")!;
    expect((await originSaw(requestId)).map((r) => r.origin)).toEqual(["alpha", "beta"]);
    expect((await usageOf(tenantId, requestId)).origin).toBe("beta");
  });

  it.each([
    ["a 502", { status: 502 }, "alpha;result=502, beta;result=200"],
    ["no first token in time", { ttftMs: FAULT_DELAY_MS }, "alpha;result=timeout, beta;result=200"],
    ["a stream that breaks before its first token", { cutAfterChunks: 0 }, "alpha;result=broken, beta;result=200"],
    ["a stream that ends without a token", { garbage: true }, "alpha;result=broken, beta;result=200"],
  ])("moves to the next origin on %s (streaming)", async (_, fault, attempts) => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-main", stream: true, sim: { alpha: fault } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-origin")).toBe("beta");
    expect(attemptsOf(res)).toBe(attempts);
    expect(sseData(await res.text()).at(-1)).toBe("[DONE]");
  });

  it("moves on when an origin cannot be connected to", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-dead-first" });
    expect(res.status).toBe(200);
    expect(attemptsOf(res)).toBe("dead;result=connect_error, beta;result=200");
  });

  it("skips an origin whose API key secret is not set, without calling it", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-nokey-first" });
    expect(res.status).toBe(200);
    expect(attemptsOf(res)).toBe("nokey;result=no_credentials, pool;result=200");
    expect((await originSaw(res.headers.get("x-request-id")!)).map((r) => r.origin)).toEqual(["pool"]);
  });

  it("respects Retry-After: the origin is skipped until it has passed", async () => {
    const { key } = await newTenant();
    const first = await chat(key, { model: "chat-cool", sim: { cool: { status: 429, retryAfter: 1 } } });
    expect(attemptsOf(first)).toBe("cool;result=429, pool;result=200");
    const second = await chat(key, { model: "chat-cool" });
    expect(attemptsOf(second)).toBe("cool;result=cooling_down, pool;result=200");
    expect((await originSaw(second.headers.get("x-request-id")!)).map((r) => r.origin)).toEqual(["pool"]);
    // With nowhere else to go, the client is told when to come back.
    const only = await chat(key, { model: "chat-cool-only" });
    expect(only.status).toBe(503);
    expect(only.headers.get("retry-after")).toBe("1");
    expect(((await only.json()) as { error: { code: string } }).error.code).toBe("no_origin_available");
    await new Promise((r) => setTimeout(r, 1100));
    const later = await chat(key, { model: "chat-cool" });
    expect(attemptsOf(later)).toBe("cool;result=200");
  });

  it("does not fall back on the client's own error: the origin's 400 is passed through", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", sim: { alpha: { status: 400 } } });
    expect(res.status).toBe(400);
    expect(attemptsOf(res)).toBe("alpha;result=400");
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.message).toContain("sim fault");
    expect((await originSaw(res.headers.get("x-request-id")!)).map((r) => r.origin)).toEqual(["alpha"]);
    expect((await usageOf(tenantId, res.headers.get("x-request-id")!)).outcome).toBe("origin_rejected");
  });
});

describe("when every origin fails", () => {
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ["5xx", { status: 500 }, 502, "upstream_error"],
    ["timeouts", { delayMs: FAULT_DELAY_MS }, 504, "upstream_timeout"],
    ["429s", { status: 429 }, 503, "upstream_rate_limited"],
  ];
  it.each(cases)("answers OpenAI-shaped for %s", async (_, fault, status, code) => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", sim: { "*": fault } });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; type: string; param: null; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.param).toBeNull();
    expect(res.headers.get("x-router-attempts")).toMatch(/^alpha;result=\S+;ms=\d+, beta;result=\S+;ms=\d+$/);
    const usage = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(usage).toMatchObject({ status, origin: null, promptTokens: 0, completionTokens: 0 });
  });
});

describe("a stream that breaks after bytes reached the client", () => {
  it("ends with an SSE error event and is settled for what was delivered", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", stream: true, sim: { alpha: { cutAfterChunks: 3 } } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-origin")).toBe("alpha");
    const events = sseData(await res.text());
    const last = events.at(-1) as { error: { code: string; type: string } };
    expect(last.error).toMatchObject({ code: "upstream_stream_broken", type: "upstream_error" });
    const contentEvents = events.filter((e) => e !== "[DONE]" && "choices" in e);
    expect(contentEvents).toHaveLength(4); // the role chunk and three tokens
    const usage = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(usage).toMatchObject({ outcome: "stream_broken", usageSource: "estimated", completionTokens: 3, status: 200 });
    expect(usage.promptTokens).toBeGreaterThan(0);
  });

  it("ends a stream that stalls past the total timeout with an error event", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", stream: true, sim: { alpha: { stallAfterChunks: 2 } } });
    expect(res.status).toBe(200);
    const last = sseData(await res.text()).at(-1) as { error: { code: string } };
    expect(last.error.code).toBe("upstream_timeout");
    expect((await usageOf(tenantId, res.headers.get("x-request-id")!)).outcome).toBe("stream_timeout");
  });

  it("estimates usage when the origin never reports it", async () => {
    const { tenantId, key } = await newTenant();
    const res = await chat(key, { model: "chat-main", stream: true, max_tokens: 5, sim: { alpha: { omitUsage: true } } });
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe("[DONE]");
    const usage = await usageOf(tenantId, res.headers.get("x-request-id")!);
    // one token a content chunk: the role chunk and the finish chunk carry no text
    expect(usage).toMatchObject({ outcome: "ok", usageSource: "estimated", completionTokens: 5 });
  });
});
