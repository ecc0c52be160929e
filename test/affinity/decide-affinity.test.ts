import { describe, expect, it } from "vitest";
import { rendezvousKey, type AffinityView } from "../../src/affinity/placement";
import { routerConfigSchema, type RouterConfigInput } from "../../src/config/schema";
import { decide, type RoutingRequest, type ScenarioView } from "../../src/routing/decide";
import { emptySnapshot } from "../support/snapshot";

const POOLS = ["p1", "p2", "p3", "p4"];
const NOON = Date.UTC(2026, 10, 23, 12, 0);

/** Four identical self-hosted pools (capacity 8, cached input a tenth of input) and one dear MaaS. */
function view(affinity: Record<string, unknown> = {}, extra: (c: RouterConfigInput) => void = () => {}): ScenarioView {
  const pool = (name: string) => ({
    baseUrl: `http://${name}/v1`,
    provider: "vllm" as const,
    kind: "self-hosted" as const,
    capacity: 8,
    expectedTtftMs: 500,
    pricing: { input: 1, cachedInput: 0.1, output: 2 },
  });
  const input: RouterConfigInput = {
    version: 1,
    origins: Object.fromEntries(POOLS.map((p) => [p, pool(p)])),
    scenarios: { chat: { candidates: POOLS.map((origin) => ({ origin, model: "qwen" })), affinity } },
  };
  extra(input);
  const config = routerConfigSchema.parse(input);
  return { name: "chat", scenario: config.scenarios.chat!, origins: config.origins, canaryStopped: false };
}

function request(affinity: Partial<AffinityView>, overrides: Partial<RoutingRequest> = {}): RoutingRequest {
  return {
    priority: "standard",
    promptTokens: 4000,
    outputTokens: 100,
    boundaries: [],
    budgetPressure: 0,
    softLimited: false,
    random: () => 0.5,
    affinity: { cachedTokens: {}, promptTokens: 4000, anchor: 123456789, sessionKey: null, rotation: 0, ...affinity },
    ...overrides,
  };
}

const none = () => null;
const order = (d: ReturnType<typeof decide>) => d.attempts.map((a) => a.origin);
const rendezvousOrder = (key: number, origins = POOLS) => [...origins].sort((a, b) => rendezvousKey(key, b, 8) - rendezvousKey(key, a, 8));
const loads = (counts: Record<string, number>) => (origin: string) => counts[origin] ?? 0;

describe("decide: prefix-cache affinity", () => {
  it("places a cold prefix by rendezvous order on its anchor, the same every time", () => {
    for (const anchor of [1, 99, 123456789, 2 ** 52 + 7]) {
      const d = decide(request({ anchor }), view(), none, NOON);
      expect(order(d)).toEqual(rendezvousOrder(anchor));
      expect(d.explanation.placement).toEqual({ policy: "affinity", kind: "cold", cachedTokens: 0 });
    }
  });

  it("compares origins by their TTFT with nothing cached, not by a raw TTFT that counts the hits they were given", () => {
    const cold = rendezvousOrder(42);
    // The first choice served mostly hits (raw TTFT 40 ms) but takes 900 ms cold; the second was
    // sent cold prompts (raw 400 ms) and takes 450 ms cold.
    const measured = (raw: number, coldMs: number) =>
      emptySnapshot("x", { samples: 50, ttftMs: { mean: raw, variance: 0, cv: 0 }, coldTtftMs: { mean: coldMs, variance: 0, cv: 0, samples: 50 } });
    const snaps = (o: string) => (o === cold[0] ? measured(40, 900) : o === cold[1] ? measured(400, 450) : null);
    const d = decide(request({ anchor: 42 }, { priority: "interactive" }), view(), snaps, NOON);
    const terms = (o: string) => d.explanation.candidates.find((c) => c.origin === o)!.terms!;
    expect(terms(cold[0]!)).toMatchObject({ ttftMs: 900, ttftSource: "cold" });
    expect(terms(cold[1]!)).toMatchObject({ ttftMs: 450, ttftSource: "cold" });
    expect(order(d)[0]).not.toBe(cold[0]);
    // A cached prefix scales the cold TTFT: 900 × (1 − 3,000/4,000) = 225.
    const sticky = decide(request({ anchor: 42, cachedTokens: { [cold[0]!]: 3000 } }, { priority: "interactive" }), view(), snaps, NOON);
    expect(sticky.explanation.candidates.find((c) => c.origin === cold[0])!.terms!.ttftMs).toBe(225);
    // Without affinity (another policy) the raw estimate stands.
    const rr = decide(request({ anchor: 42 }), view({ policy: "round-robin" }), snaps, NOON);
    expect(rr.explanation.candidates.find((c) => c.origin === cold[0])!.terms!).toMatchObject({ ttftMs: 40, ttftSource: "ewma" });
  });

  it("sends a request back to the origin holding its deepest prefix, priced and timed with the saving", () => {
    const cold = rendezvousOrder(42);
    const holder = cold[2]!;
    const d = decide(request({ anchor: 42, cachedTokens: { [holder]: 3072, [cold[0]!]: 1024 } }), view(), none, NOON);
    expect(order(d)[0]).toBe(holder);
    expect(d.explanation.placement).toEqual({ policy: "affinity", kind: "sticky", cachedTokens: 3072 });
    const terms = d.explanation.candidates.find((c) => c.origin === holder)!.terms!;
    // 928 uncached × 1 µ$ + 3072 × 0.1 µ$ + 100 × 2 µ$ = 928 + 307.2 + 200 → 1436 µ$ (rounded up).
    expect(terms.priceMicros).toBe(1436);
    expect(terms.cachedTokens).toBe(3072);
    // TTFT scaled by the uncached share: 500 × (1 − 3072/4000) = 116.
    expect(terms.ttftMs).toBeCloseTo(116, 9);
  });

  it("lets only a match of half the prompt or more decide among equals: a shared system prompt does not pull a new conversation", () => {
    const cold = rendezvousOrder(42);
    const holder = cold[1]!;
    // 400 of 4,000 tokens (a system prompt under a new document): priced in, within the band of
    // equals, and placement stays by rendezvous.
    const shallow = decide(request({ anchor: 42, cachedTokens: { [holder]: 400 } }), view(), none, NOON);
    expect(order(shallow)[0]).toBe(cold[0]);
    const deep = decide(request({ anchor: 42, cachedTokens: { [holder]: 2000 } }), view(), none, NOON);
    expect(order(deep)[0]).toBe(holder);
  });

  it("puts a cold conversation on the less loaded of its first two rendezvous origins (prompt tokens sent lately)", () => {
    const cold = rendezvousOrder(42);
    const busyFirst = (o: string) => (o === cold[0] ? 50_000 : o === cold[1] ? 10_000 : 0);
    expect(order(decide(request({ anchor: 42 }, { recentTokens: busyFirst }), view(), none, NOON)).slice(0, 2)).toEqual([cold[1], cold[0]]);
    // Never past the second choice, however idle the others: a conversation has two fixed places.
    const busyTwo = (o: string) => (o === cold[0] || o === cold[1] ? 50_000 : 0);
    expect(order(decide(request({ anchor: 42 }, { recentTokens: busyTwo }), view(), none, NOON))[0]).toBe(cold[0]);
    // A sticky request is not moved by it.
    expect(order(decide(request({ anchor: 42, cachedTokens: { [cold[0]!]: 3500 } }, { recentTokens: busyFirst }), view(), none, NOON))[0]).toBe(cold[0]);
  });


  it("with cache sizes declared, puts a cold conversation on the roomier cache of its two choices, before recent load", () => {
    const cold = rendezvousOrder(42);
    const rooms = (first: number, second: number) => (o: string) => (o === cold[0] ? first : o === cold[1] ? second : 1e9);
    const busySecond = (o: string) => (o === cold[1] ? 50_000 : 0);
    const firstTwo = (cacheRoom: (o: string) => number | null) => order(decide(request({ anchor: 42 }, { cacheRoom, recentTokens: busySecond }), view(), none, NOON)).slice(0, 2);
    // More room besides what is in use wins, over recent load and over rendezvous order; never past the second choice.
    expect(firstTwo(rooms(-5_000, -100))).toEqual([cold[1], cold[0]]);
    expect(firstTwo(rooms(2_000, 9_000))).toEqual([cold[1], cold[0]]);
    expect(firstTwo(rooms(9_000, 2_000))).toEqual([cold[0], cold[1]]);
    // Alike (or undeclared): recent prompt tokens decide, as without sizes.
    expect(firstTwo(rooms(500, 500))).toEqual([cold[0], cold[1]]);
    expect(firstTwo(() => null)).toEqual([cold[0], cold[1]]);
    // A sticky request stays, however full its cache.
    const sticky = request({ anchor: 42, cachedTokens: { [cold[0]!]: 3500 } }, { cacheRoom: rooms(-50_000, 1e6) });
    expect(order(decide(sticky, view(), none, NOON))[0]).toBe(cold[0]);
  });

  it("holds a dearer origin unequal once its extra price, weighted as the request's class weighs price, passes the band", () => {
    // A cheap pool, a MaaS 1.7× its price and one 7.5×, alike in TTFT. Scores put price over the
    // dearest's, so pool and the 1.7× MaaS score 0.09 apart for batch: within the band of equals.
    const priced = (input: number) => ({ input, cachedInput: input / 4, output: input * 4 });
    const origin = (name: string, input: number) => ({ baseUrl: `http://${name}/v1`, provider: "openai" as const, expectedTtftMs: 500, pricing: priced(input) });
    const names = ["pool", "lowcost", "premium"];
    const config = routerConfigSchema.parse({
      version: 1,
      origins: { pool: { ...origin("pool", 0.08), provider: "vllm", kind: "self-hosted" }, lowcost: origin("lowcost", 0.136), premium: origin("premium", 0.6) },
      scenarios: { chat: { candidates: names.map((o) => ({ origin: o, model: "m" })) } },
    });
    const priced3: ScenarioView = { name: "chat", scenario: config.scenarios.chat!, origins: config.origins, canaryStopped: false };
    // A conversation whose rendezvous order puts the dearer MaaS before the pool.
    const anchor = [...Array(1000).keys()].find((a) => rendezvousOrder(a, names).join() === "lowcost,pool,premium")!;
    const batch = decide(request({ anchor }, { priority: "batch" }), priced3, none, NOON);
    const score = (o: string) => batch.explanation.candidates.find((c) => c.origin === o)!.terms!.score;
    expect(score("lowcost") - score("pool")).toBeLessThan(0.15);
    // Batch weighs price 0.95: 0.95 × 0.7 > 0.15, so the pool serves it, then by score.
    expect(order(batch)).toEqual(["pool", "lowcost", "premium"]);
    // Interactive weighs it 0.1: 0.1 × 0.7 is within the band, so rendezvous order holds between
    // the two; 0.1 × 6.5 is not, so the dearest comes after them.
    expect(order(decide(request({ anchor }, { priority: "interactive" }), priced3, none, NOON))).toEqual(["lowcost", "pool", "premium"]);
    // Budget pressure raises the weight: interactive at a full budget is batch's case.
    expect(order(decide(request({ anchor }, { priority: "interactive", budgetPressure: 1 }), priced3, none, NOON))).toEqual(["pool", "lowcost", "premium"]);
  });

  it("spills a hot prefix past (1+ε) of the holder's fair share, in rendezvous order", () => {
    const cold = rendezvousOrder(42);
    const holder = cold[0]!;
    // 6 in flight, all at the holder: bound = ceil(1.25 · 7 · 1/4) = 3, and 6 + 1 > 3.
    const d = decide(request({ anchor: 42, cachedTokens: { [holder]: 3072 } }, { inFlight: loads({ [holder]: 6 }) }), view(), none, NOON);
    expect(order(d)).toEqual([...cold.slice(1), holder]);
    expect(d.explanation.placement.kind).toBe("spill");
    expect(d.explanation.candidates.find((c) => c.origin === holder)!.demoted).toBe("over_fair_share");
    // Within the bound it stays: 1 in flight at the holder, 1 elsewhere.
    const within = decide(request({ anchor: 42, cachedTokens: { [holder]: 3072 } }, { inFlight: loads({ [holder]: 1, [cold[1]!]: 1 }) }), view(), none, NOON);
    expect(order(within)[0]).toBe(holder);
  });

  it("measures the fair share in requests sent lately when the isolate counts them, rather than in flight", () => {
    const cold = rendezvousOrder(42);
    const holder = cold[0]!;
    const sticky = (overrides: Partial<RoutingRequest>) => decide(request({ anchor: 42, cachedTokens: { [holder]: 3072 } }, overrides), view(), none, NOON);
    // 40 of the last 70 requests went to the holder: bound = ceil(1.25 · 71 / 4) = 23 < 41, with
    // only 2 in flight (just past the idle floor, ceil(0.25 · 8) = 2).
    const lately = loads({ [cold[0]!]: 40, [cold[1]!]: 10, [cold[2]!]: 10, [cold[3]!]: 10 });
    const over = sticky({ recentRequests: lately, inFlight: loads({ [holder]: 2 }) });
    expect(over.explanation.placement.kind).toBe("spill");
    expect(over.explanation.candidates.find((c) => c.origin === holder)!.demoted).toBe("over_fair_share");
    // Nearly idle (1 in flight), it keeps its conversations whatever its share.
    expect(order(sticky({ recentRequests: lately, inFlight: loads({ [holder]: 1 }) }))[0]).toBe(holder);
    // Six slow requests in flight at the holder, but its share of the traffic is fair: it stays.
    const even = loads({ [cold[0]!]: 10, [cold[1]!]: 10, [cold[2]!]: 10, [cold[3]!]: 10 });
    expect(order(sticky({ recentRequests: even, inFlight: loads({ [holder]: 6 }) }))[0]).toBe(holder);
    // At capacity (8 in flight) it is demoted all the same.
    expect(sticky({ recentRequests: even, inFlight: loads({ [holder]: 8 }) }).explanation.candidates.find((c) => c.origin === holder)!.demoted).toBe("over_capacity");
  });

  it("honours ε: a larger ε keeps the sticky origin longer", () => {
    const holder = rendezvousOrder(42)[0]!;
    const busy = { inFlight: loads({ [holder]: 6 }) };
    expect(order(decide(request({ anchor: 42, cachedTokens: { [holder]: 3072 } }, busy), view({ epsilon: 0.25 }), none, NOON))[0]).not.toBe(holder);
    // ceil(2 · 7 / 4) = 4 < 7; with ε = 3: ceil(4 · 7 / 4) = 7 ≥ 7.
    expect(order(decide(request({ anchor: 42, cachedTokens: { [holder]: 3072 } }, busy), view({ epsilon: 3 }), none, NOON))[0]).toBe(holder);
  });

  it("lets a much cheaper origin win over a cached prefix for batch traffic", () => {
    const v = view({}, (c) => {
      c.origins.free = { baseUrl: "http://free/v1", provider: "vllm", kind: "self-hosted", capacity: 8, expectedTtftMs: 500 };
      c.scenarios.chat!.candidates.push({ origin: "free", model: "qwen" });
    });
    const holder = POOLS[0]!;
    const d = decide(request({ cachedTokens: { [holder]: 3072 } }, { priority: "batch" }), v, none, NOON);
    expect(order(d)[0]).toBe("free");
    expect(d.explanation.placement.kind).toBe("spill");
  });

  it("round-robin rotates over the healthy candidates in listed order", () => {
    const seen = [0, 1, 2, 3, 4].map((rotation) => order(decide(request({ rotation, cachedTokens: { p3: 3072 } }), view({ policy: "round-robin" }), none, NOON))[0]);
    expect(seen).toEqual(["p1", "p2", "p3", "p4", "p1"]);
  });

  it("least-loaded picks the origin with the fewest requests in flight per capacity", () => {
    const d = decide(request({}, { inFlight: loads({ p1: 3, p2: 1, p3: 2, p4: 0 }) }), view({ policy: "least-loaded" }), none, NOON);
    expect(order(d)).toEqual(["p4", "p2", "p3", "p1"]);
  });

  it("session-hash places by the session's key, whatever the prefix", () => {
    const v = view({ policy: "session-hash" });
    const a = decide(request({ sessionKey: 777, anchor: 1 }), v, none, NOON);
    const b = decide(request({ sessionKey: 777, anchor: 2, cachedTokens: { p1: 3000 } }), v, none, NOON);
    expect(order(a)).toEqual(rendezvousOrder(777));
    expect(order(b)).toEqual(order(a));
  });

  it("keeps rules first: an open circuit or a closed window beats any cached prefix", () => {
    const holder = rendezvousOrder(42)[0]!;
    const snaps = (o: string) => (o === holder ? emptySnapshot(o, { circuit: { state: "open", since: 0, openUntil: NOON + 60_000, reason: "consecutive_failures" } }) : null);
    const d = decide(request({ anchor: 42, cachedTokens: { [holder]: 3072 } }), view(), snaps, NOON);
    expect(order(d)).not.toContain(holder);
  });

  it("leaves ordered scenarios in their listed order", () => {
    const v = view({}, (c) => (c.scenarios.chat!.routing = "ordered"));
    expect(order(decide(request({ cachedTokens: { p4: 3072 } }), v, none, NOON))).toEqual(POOLS);
  });
});
