/**
 * Prefill slots: FIFO queueing in virtual time. Exact waits come from the queue itself and from
 * `/_sim/stats` under a fixed clock (every request arrives at the same instant); real timing is
 * checked with lower bounds only, as in timing.test.ts.
 */
import { describe, expect, it } from "vitest";
import { PrefillQueue } from "../../src/sim";
import { chat, fixedClock, makeSim, simStats, user, type Completion } from "./helpers";

const SLACK_MS = 5;

/** Milliseconds from now until the first chunk of a streamed answer arrives. */
async function firstChunkAfter(start: number, res: Promise<Response>): Promise<number> {
  const reader = ((await res).body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  const at = Date.now() - start;
  while (!(await reader.read()).done);
  return at;
}

describe("PrefillQueue", () => {
  it("one slot: each prefill waits for the one before it; an idle slot starts at once", () => {
    const q = new PrefillQueue(1);
    expect(q.reserve(0, 50).waitMs).toBe(0); // busy until 50
    expect(q.reserve(0, 50).waitMs).toBe(50); // starts at 50, busy until 100
    expect(q.reserve(10, 5).waitMs).toBe(90); // starts at 100, busy until 105
    expect(q.reserve(200, 5).waitMs).toBe(0); // the slot has been free since 105
  });

  it("two slots: a request takes the earliest-free one", () => {
    const q = new PrefillQueue(2);
    expect(q.reserve(0, 30).waitMs).toBe(0); // slot 0 until 30
    expect(q.reserve(0, 50).waitMs).toBe(0); // slot 1 until 50
    expect(q.reserve(0, 10).waitMs).toBe(30); // slot 0: 30 → 40
    expect(q.reserve(0, 10).waitMs).toBe(40); // slot 0 again (40 < 50): 40 → 50
    expect(q.reserve(0, 10).waitMs).toBe(50); // a tie at 50 goes to slot 0
  });

  it("zero slots is unlimited", () => {
    const q = new PrefillQueue(0);
    for (let i = 0; i < 5; i++) expect(q.reserve(0, 1000).waitMs).toBe(0);
  });

  it("clear frees every slot", () => {
    const q = new PrefillQueue(1);
    q.reserve(0, 100);
    q.clear();
    expect(q.reserve(0, 100).waitMs).toBe(0);
  });
});

describe("prefillSlots on an origin", () => {
  // "m<|user|>" is 9 bytes; 991 more make 1000 bytes: 250 tokens, 15 full blocks of 16.
  const body = { model: "m", messages: [user("y".repeat(991))], max_tokens: 1 };

  it("1 slot: the second request waits for the first one's prefill; cached tokens shorten a prefill", async () => {
    // 0.125 ms per uncached token: cold 250 × 0.125 = 31.25 ms, warm (240 cached) 10 × 0.125 = 1.25 ms.
    const sim = makeSim({ origins: { v: { profile: "vllm", prefillSlots: 1, prefillMsPerToken: 0.125 } } }, fixedClock());
    const cached: number[] = [];
    for (let i = 0; i < 3; i++) {
      const json = (await (await chat(sim, "v", body)).json()) as Completion;
      cached.push((json.usage?.prompt_tokens_details as { cached_tokens: number }).cached_tokens);
    }
    expect(cached).toEqual([0, 240, 240]);
    // All three arrive at the same instant: waits 0, 31.25 (the cold prefill), 32.5 (+ a warm one).
    expect((await simStats(sim)).v?.queueWaitMs).toEqual({ total: 63.75, max: 32.5 });
  });

  it("0 slots (the default): nobody waits", async () => {
    const sim = makeSim({ origins: { v: { profile: "vllm", prefillMsPerToken: 0.125 } } }, fixedClock());
    for (let i = 0; i < 3; i++) await (await chat(sim, "v", body)).text();
    expect((await simStats(sim)).v?.queueWaitMs).toEqual({ total: 0, max: 0 });
  });

  it("2 slots: the third of three simultaneous requests waits for the shortest", async () => {
    const sim = makeSim({ origins: { b: { prefillSlots: 2, ttftBaseMs: 4 } } }, fixedClock());
    await Promise.all([0, 1, 2].map(async () => (await chat(sim, "b", body)).text()));
    expect((await simStats(sim)).b?.queueWaitMs).toEqual({ total: 4, max: 4 });
  });

  it("a fault's ttftMs skips the queue: it neither waits nor holds a slot", async () => {
    const sim = makeSim({ origins: { z: { prefillSlots: 1, ttftBaseMs: 20 } } }, fixedClock());
    await (await chat(sim, "z", { ...body, sim: { z: { ttftMs: 0 } } })).text(); // no slot taken
    await (await chat(sim, "z", body)).text(); // the slot is free: wait 0, busy for 20
    await (await chat(sim, "z", { ...body, sim: { z: { ttftMs: 0 } } })).text(); // no wait
    await (await chat(sim, "z", body)).text(); // waits 20
    expect((await simStats(sim)).z?.queueWaitMs).toEqual({ total: 20, max: 20 });
  });

  it("streamed, in real time: the second stream's first token comes after both prefills", async () => {
    const sim = makeSim({ origins: { s: { prefillSlots: 1, ttftBaseMs: 40 } } });
    const stream = { model: "m", messages: [user("x")], stream: true, max_tokens: 2 };
    const start = Date.now();
    const [first, second] = await Promise.all([
      firstChunkAfter(start, chat(sim, "s", stream)),
      firstChunkAfter(start, chat(sim, "s", stream)),
    ]);
    expect(first).toBeGreaterThanOrEqual(40 - SLACK_MS);
    expect(second).toBeGreaterThanOrEqual(80 - SLACK_MS);
    const wait = (await simStats(sim)).s?.queueWaitMs;
    // Real clock: only the second waited, for the first one's 40 ms less the gap between their
    // arrivals (a millisecond or so; the bound is loose for a loaded machine).
    expect(wait?.max).toBe(wait?.total);
    expect(wait?.max).toBeGreaterThan(20);
    expect(wait?.max).toBeLessThanOrEqual(40);
  });

  it("non-streamed, in real time: the second answer waits for the first one's prefill", async () => {
    const sim = makeSim({ origins: { p: { prefillSlots: 1, ttftBaseMs: 30 } } });
    const start = Date.now();
    const times = await Promise.all(
      [0, 1].map(async () => {
        await (await chat(sim, "p", body)).text();
        return Date.now() - start;
      }),
    );
    expect(Math.max(...times)).toBeGreaterThanOrEqual(60 - SLACK_MS);
  });
});
