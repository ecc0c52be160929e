/**
 * `GET /_sim/stats` and `POST /_sim/reset`: exact counters per origin, the in-flight gauge through
 * every way a body can end, and a reset that leaves the simulator as fresh as a new one.
 */
import { describe, expect, it, vi } from "vitest";
import type { OriginStatsSnapshot, SimRecord } from "../../src/sim";
import { chat, fixedClock, makeSim, post, simReset, simStats, user, type Completion } from "./helpers";

// "m<|user|>" is 9 bytes; 991 more make 1000 bytes: 250 tokens, 15 full blocks of 16 (vllm).
const big = { model: "m", messages: [user("y".repeat(991))] };
const small = { model: "m", messages: [user("stats please")], stream: true };

const ZERO: OriginStatsSnapshot = {
  requests: 0,
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  queueWaitMs: { total: 0, max: 0 },
  inFlight: 0,
  cacheBlocks: 0,
};

async function completion(res: Promise<Response>): Promise<Completion> {
  return (await (await res).json()) as Completion;
}

async function inFlight(sim: ReturnType<typeof makeSim>, origin: string): Promise<number | undefined> {
  return (await simStats(sim))[origin]?.inFlight;
}

describe("GET /_sim/stats", () => {
  it("starts at zero for every origin, in configuration order", async () => {
    const sim = makeSim({ origins: { b: {}, a: { profile: "vllm" } } });
    const stats = await simStats(sim);
    expect(Object.keys(stats)).toEqual(["b", "a"]);
    expect(stats).toEqual({ b: ZERO, a: ZERO });
  });

  it("sums tokens and cached tokens of the chat completions each origin served", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" }, w: { profile: "vllm" } } });
    const c1 = await completion(chat(sim, "v", big));
    const c2 = await completion(chat(sim, "v", big));
    const c3 = await completion(chat(sim, "w", { ...big, max_tokens: 3 }));
    const n = c1.usage?.completion_tokens ?? -1;
    expect(c2.usage?.completion_tokens).toBe(n); // deterministic: same prompt, same answer
    expect(c3.usage?.completion_tokens).toBe(3);
    expect(await simStats(sim)).toEqual({
      v: { ...ZERO, requests: 2, promptTokens: 500, cachedTokens: 240, completionTokens: 2 * n, cacheBlocks: 15 },
      w: { ...ZERO, requests: 1, promptTokens: 250, cachedTokens: 0, completionTokens: 3, cacheBlocks: 15 },
    });
  });

  it("counts streamed answers; ignores refusals, status and garbage faults, and embeddings", async () => {
    const sim = makeSim({ origins: { a: { apiKey: "k" } } });
    const auth = { headers: { authorization: "Bearer k" } };
    await chat(sim, "a", big); // 401
    await chat(sim, "a", { model: "m", messages: [] }, auth); // 400
    await chat(sim, "a", { ...big, sim: { a: { status: 503 } } }, auth);
    await (await chat(sim, "a", { ...big, sim: { a: { garbage: true } } }, auth)).text();
    await post(sim, "a", "embeddings", { model: "e", input: "x" }, auth);
    expect((await simStats(sim)).a).toEqual(ZERO);

    const events = await (await chat(sim, "a", { ...small, max_tokens: 4 }, auth)).text();
    expect(events).toContain("[DONE]");
    // "m<|user|>stats please" is 21 bytes → 6 tokens.
    expect((await simStats(sim)).a).toEqual({ ...ZERO, requests: 1, promptTokens: 6, completionTokens: 4 });
  });

  it("inFlight: a stream counts from its headers until it completes", async () => {
    const sim = makeSim({ origins: { s: {} } });
    const first = await chat(sim, "s", small);
    const second = await chat(sim, "s", small);
    expect(await inFlight(sim, "s")).toBe(2);
    await first.text();
    expect(await inFlight(sim, "s")).toBe(1);
    await second.text();
    expect(await inFlight(sim, "s")).toBe(0);
  });

  it("inFlight: a cancelled stream, a cut stream and an aborted request all end", async () => {
    const sim = makeSim({ origins: { s: {} } });

    const cancelled = await chat(sim, "s", small);
    const reader = (cancelled.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // role chunk
    expect(await inFlight(sim, "s")).toBe(1);
    await reader.cancel();
    expect(await inFlight(sim, "s")).toBe(0);

    const cut = await chat(sim, "s", { ...small, sim: { s: { cutAfterChunks: 1 } } });
    expect(await inFlight(sim, "s")).toBe(1);
    await expect(cut.text()).rejects.toThrow();
    expect(await inFlight(sim, "s")).toBe(0);

    // A client that goes away without reading or cancelling the body.
    const abort = new AbortController();
    await chat(sim, "s", { ...small, sim: { s: { stallAfterChunks: 0 } } }, { signal: abort.signal });
    expect(await inFlight(sim, "s")).toBe(1);
    abort.abort();
    expect(await inFlight(sim, "s")).toBe(0);
    expect((await simStats(sim)).s?.requests).toBe(3);
  });

  it("inFlight: a plain answer is over when it is sent; one stalled by a fault, when cancelled", async () => {
    const sim = makeSim({ origins: { p: {} } });
    const done = await chat(sim, "p", { ...big, max_tokens: 1 });
    expect(await inFlight(sim, "p")).toBe(0);
    await done.text();

    const stalled = await chat(sim, "p", { ...big, sim: { p: { stallAfterChunks: 0 } } });
    expect(await inFlight(sim, "p")).toBe(1);
    await stalled.body?.cancel();
    expect(await inFlight(sim, "p")).toBe(0);

    // A client that leaves while a plain answer waits for its first token.
    const abort = new AbortController();
    const slow = chat(sim, "p", { ...big, sim: { p: { ttftMs: 60_000 } } }, { signal: abort.signal });
    await vi.waitFor(async () => expect(await inFlight(sim, "p")).toBe(1));
    abort.abort();
    expect((await slow).status).toBe(499);
    expect(await inFlight(sim, "p")).toBe(0);
  });

  it("only POST resets and only GET reads", async () => {
    const sim = makeSim({ origins: { a: {} } });
    const get = await sim.fetch(new Request("http://sim/_sim/reset"));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const postStats = await sim.fetch(new Request("http://sim/_sim/stats", { method: "POST" }));
    expect(postStats.status).toBe(405);
    expect(postStats.headers.get("allow")).toBe("GET");
  });
});

describe("POST /_sim/reset", () => {
  it("empties the prefix cache: the same prompt gets 0 cached tokens again", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm" } } });
    await chat(sim, "v", big);
    const warm = await completion(chat(sim, "v", big));
    expect(warm.usage?.prompt_tokens_details).toEqual({ cached_tokens: 240 });
    expect(await simReset(sim)).toEqual({ ok: true });
    expect((await simStats(sim)).v).toEqual(ZERO);
    const cold = await completion(chat(sim, "v", big));
    expect(cold.usage?.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    expect((await simStats(sim)).v).toMatchObject({ requests: 1, promptTokens: 250, cachedTokens: 0, cacheBlocks: 15 });
  });

  it("zeroes the stats, frees the prefill slots and clears the recorder", async () => {
    const sim = makeSim({ origins: { q: { prefillSlots: 1, ttftBaseMs: 10 } } }, fixedClock());
    const headers = { "x-request-id": "before-reset" };
    await (await chat(sim, "q", big, { headers })).text(); // holds the slot until t + 10
    await (await chat(sim, "q", big, { headers })).text(); // waits 10
    expect((await simStats(sim)).q?.queueWaitMs).toEqual({ total: 10, max: 10 });
    await simReset(sim);
    expect((await simStats(sim)).q).toEqual(ZERO);
    const records = await sim.fetch(new Request("http://sim/_sim/requests/before-reset"));
    expect((await records.json()) as SimRecord[]).toEqual([]);
    await (await chat(sim, "q", big)).text(); // a free slot again, at the same instant
    expect((await simStats(sim)).q?.queueWaitMs).toEqual({ total: 0, max: 0 });
  });

  it("keeps the in-flight gauge: a stream open across a reset still ends at 0", async () => {
    const sim = makeSim({ origins: { s: {} } });
    const open = await chat(sim, "s", small);
    await simReset(sim);
    expect((await simStats(sim)).s).toEqual({ ...ZERO, inFlight: 1 });
    await open.text();
    expect((await simStats(sim)).s).toEqual(ZERO);
  });
});
