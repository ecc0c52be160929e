/** Faults on demand through the body's `sim` field: each kind, and which entry applies. */
import { describe, expect, it } from "vitest";
import type { OpenAIErrorBody } from "../../src/sim";
import { chat, makeSim, post, sseData, user, type Completion } from "./helpers";

const sim = () => makeSim({ origins: { a: { profile: "openai" }, b: { profile: "vllm" } } });
const base = { model: "m", messages: [user("fault please")] };

async function errorOf(res: Response): Promise<OpenAIErrorBody["error"]> {
  return ((await res.json()) as OpenAIErrorBody).error;
}

/** Reads a body until it ends or fails, keeping what arrived before a failure. */
async function drain(res: Response): Promise<{ chunks: string[]; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const chunks: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { chunks, error: undefined };
      chunks.push(decoder.decode(value));
    }
  } catch (error) {
    return { chunks, error };
  }
}

describe("status faults", () => {
  it("503 with Retry-After is a server_error with the header", async () => {
    const res = await chat(sim(), "a", { ...base, sim: { a: { status: 503, retryAfter: 7 } } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await errorOf(res)).toMatchObject({ type: "server_error" });
  });

  it("429 carries code rate_limit_exceeded", async () => {
    const res = await chat(sim(), "a", { ...base, sim: { "*": { status: 429, retryAfter: 1 } } });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await errorOf(res)).toMatchObject({ code: "rate_limit_exceeded" });
  });

  it("the origin's own entry wins over '*', and other origins' entries do not apply", async () => {
    const faults = { sim: { "*": { status: 500 }, a: { status: 429 } } };
    expect((await chat(sim(), "a", { ...base, ...faults })).status).toBe(429);
    expect((await chat(sim(), "b", { ...base, ...faults })).status).toBe(500);
    expect((await chat(sim(), "b", { ...base, sim: { a: { status: 500 } } })).status).toBe(200);
  });

  it("applies to embeddings too", async () => {
    const res = await post(sim(), "a", "embeddings", { model: "e", input: "x", sim: { a: { status: 502 } } });
    expect(res.status).toBe(502);
  });

  it("an invalid fault is a 400 on param sim", async () => {
    const res = await chat(sim(), "a", { ...base, sim: { a: { status: "soon" } } });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ param: "sim", type: "invalid_request_error" });
    expect((await chat(sim(), "a", { ...base, sim: { a: { explode: true } } })).status).toBe(400);
  });
});

describe("broken bodies", () => {
  it("cutAfterChunks on a stream: N token chunks arrive, then reading rejects", async () => {
    const res = await chat(sim(), "a", { ...base, stream: true, sim: { a: { cutAfterChunks: 2 } } });
    expect(res.status).toBe(200);
    const { chunks, error } = await drain(res);
    expect(error).toBeInstanceOf(Error);
    expect(chunks).toHaveLength(3); // role chunk + 2 token chunks
    expect(chunks.join("")).not.toContain("[DONE]");
  });

  it("cutAfterChunks on a plain response: half a body, then reading rejects", async () => {
    const whole = await (await chat(sim(), "a", base)).text();
    const res = await chat(sim(), "a", { ...base, sim: { a: { cutAfterChunks: 0 } } });
    expect(res.status).toBe(200);
    const { chunks, error } = await drain(res);
    expect(error).toBeInstanceOf(Error);
    expect(chunks.join("")).toBe(whole.slice(0, Math.floor(whole.length / 2)));
  });

  it("stallAfterChunks: the stream hangs until the request's signal aborts", async () => {
    const abort = new AbortController();
    const res = await chat(sim(), "a", { ...base, stream: true, sim: { a: { stallAfterChunks: 1 } } }, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // role
    await reader.read(); // token 1
    const next = reader.read();
    const raced = await Promise.race([next.then(() => "read", () => "read"), new Promise((r) => setTimeout(() => r("hung"), 30))]);
    expect(raced).toBe("hung");
    abort.abort();
    await expect(next).rejects.toBeDefined();
  });

  it("stallAfterChunks: cancelling the body ends the hang too", async () => {
    const res = await chat(sim(), "a", { ...base, stream: true, sim: { a: { stallAfterChunks: 0 } } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // role
    const next = reader.read();
    await reader.cancel();
    await expect(next).resolves.toMatchObject({ done: true });
  });

  it("delayMs: a client that leaves during the delay gets nothing (499)", async () => {
    const abort = new AbortController();
    const pending = chat(sim(), "a", { ...base, sim: { a: { delayMs: 60_000 } } }, { signal: abort.signal });
    setTimeout(() => abort.abort(), 5);
    expect((await pending).status).toBe(499);
  });
});

describe("garbage and omitted usage", () => {
  it("garbage: a 200 whose body is not JSON", async () => {
    const res = await chat(sim(), "a", { ...base, sim: { a: { garbage: true } } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it("nestedAnswer: the whole answer, with one more field nested N arrays deep; a stream is left alone", async () => {
    const res = await chat(sim(), "a", { ...base, sim: { a: { nestedAnswer: 3 } } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; usage: object; x_nested: unknown };
    expect([body.object, typeof body.usage, body.x_nested]).toEqual(["chat.completion", "object", [[[]]]]);
    const streamed = await chat(sim(), "a", { ...base, stream: true, sim: { a: { nestedAnswer: 3 } } });
    expect((await streamed.text()).includes("x_nested")).toBe(false);
  });

  it("garbage on a stream: SSE whose data is not JSON, and no [DONE]", async () => {
    const res = await chat(sim(), "a", { ...base, stream: true, sim: { a: { garbage: true } } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const text = await res.text();
    expect(() => sseData(text)).toThrow();
    expect(text).not.toContain("[DONE]");
  });

  it("omitUsage on a stream: no usage chunk even when asked, [DONE] still sent", async () => {
    const res = await chat(sim(), "a", {
      ...base,
      stream: true,
      stream_options: { include_usage: true },
      sim: { a: { omitUsage: true } },
    });
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe("[DONE]");
    for (const e of events.slice(0, -1)) {
      expect((e as { choices: unknown[] }).choices).toHaveLength(1);
      expect((e as { usage: unknown }).usage).toBeNull();
    }
  });

  it("omitUsage on a plain response: no usage field", async () => {
    const json = (await (await chat(sim(), "a", { ...base, sim: { a: { omitUsage: true } } })).json()) as Completion;
    expect("usage" in json).toBe(false);
    expect(json.choices[0]?.message.content.length).toBeGreaterThan(0);
  });
});
