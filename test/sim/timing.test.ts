/**
 * Pacing, with tiny delays: only orderings and loose lower bounds are asserted (timers may run
 * late, never early by more than a millisecond or two).
 */
import { describe, expect, it } from "vitest";
import { chat, makeSim, user } from "./helpers";

const SLACK_MS = 5;

describe("timing", () => {
  it("stream: headers at once, first chunk after TTFT, tokens paced by decode speed", async () => {
    const sim = makeSim({ origins: { t: { ttftBaseMs: 40, decodeTokensPerSec: 200 } } });
    const start = Date.now();
    const res = await chat(sim, "t", { model: "m", messages: [user("x")], stream: true, max_tokens: 5 });
    const headersAt = Date.now() - start;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const firstAt = Date.now() - start;
    while (!(await reader.read()).done);
    const endAt = Date.now() - start;
    expect(headersAt).toBeLessThan(firstAt);
    expect(firstAt).toBeGreaterThanOrEqual(40 - SLACK_MS);
    expect(endAt).toBeGreaterThanOrEqual(40 + 4 * 5 - SLACK_MS); // 5 tokens, 4 gaps of 5 ms
  });

  it("non-stream: waits TTFT plus decode before answering", async () => {
    const sim = makeSim({ origins: { t: { ttftBaseMs: 30, decodeTokensPerSec: 100 } } });
    const start = Date.now();
    const res = await chat(sim, "t", { model: "m", messages: [user("x")], max_tokens: 3 });
    expect(res.status).toBe(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(30 + 2 * 10 - SLACK_MS);
  });

  it("prefill is paid for uncached tokens only: a cached prompt starts sooner", async () => {
    // vllm, 250-token prompt: first run prefills 250 × 0.2 = 50 ms, the repeat only 10 × 0.2 = 2 ms.
    const sim = makeSim({ origins: { v: { profile: "vllm", prefillMsPerToken: 0.2 } } });
    const body = { model: "m", messages: [user("y".repeat(991))], max_tokens: 1 };
    let start = Date.now();
    await chat(sim, "v", body);
    const cold = Date.now() - start;
    start = Date.now();
    await chat(sim, "v", body);
    const warm = Date.now() - start;
    expect(cold).toBeGreaterThanOrEqual(50 - SLACK_MS);
    expect(warm).toBeLessThan(cold);
  });

  it("faults: decodeTokensPerSec paces one request on an otherwise instant origin", async () => {
    const sim = makeSim({ origins: { z: {} } });
    const start = Date.now();
    const body = { model: "m", messages: [user("x")], stream: true, max_tokens: 4, sim: { z: { decodeTokensPerSec: 100 } } };
    await (await chat(sim, "z", body)).text();
    expect(Date.now() - start).toBeGreaterThanOrEqual(3 * 10 - SLACK_MS);
  });

  it("faults: delayMs holds the headers back, ttftMs replaces the TTFT", async () => {
    const sim = makeSim({ origins: { z: {} } });
    let start = Date.now();
    await chat(sim, "z", { model: "m", messages: [user("x")], stream: true, sim: { z: { delayMs: 30 } } });
    expect(Date.now() - start).toBeGreaterThanOrEqual(30 - SLACK_MS);

    start = Date.now();
    const res = await chat(sim, "z", { model: "m", messages: [user("x")], stream: true, sim: { z: { ttftMs: 30 } } });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    expect(Date.now() - start).toBeGreaterThanOrEqual(30 - SLACK_MS);
  });
});
