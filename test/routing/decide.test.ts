import { describe, expect, it } from "vitest";
import { routerConfigSchema, type RouterConfigInput } from "../../src/config/schema";
import type { OriginSnapshot } from "../../src/health/types";
import { decide, type RoutingRequest, type ScenarioView } from "../../src/routing/decide";
import { parseBoundaryHeader } from "../../src/routing/boundary";
import { priorityOf } from "../../src/routing/priority";
import { emptySnapshot } from "../support/snapshot";

/** Three origins: a fast, steady, free self-hosted pool; a cheap but jittery MaaS; a dear, fast MaaS. */
function view(overrides: (c: RouterConfigInput) => void = () => {}, canaryStopped = false): ScenarioView {
  const input: RouterConfigInput = {
    version: 1,
    origins: {
      pool: { baseUrl: "http://pool/v1", provider: "vllm", kind: "self-hosted", region: "eu", capacity: 10, expectedTtftMs: 200 },
      cheap: { baseUrl: "http://cheap/v1", provider: "deepseek", region: "cn", expectedTtftMs: 400, pricing: { input: 0.27, output: 1.1 } },
      dear: { baseUrl: "http://dear/v1", provider: "openai", region: "us", expectedTtftMs: 150, pricing: { input: 2.5, output: 10 } },
    },
    scenarios: {
      chat: {
        candidates: [
          { origin: "pool", model: "qwen" },
          { origin: "cheap", model: "deepseek-chat" },
          { origin: "dear", model: "gpt-4o" },
        ],
      },
    },
  };
  overrides(input);
  const config = routerConfigSchema.parse(input);
  return { name: "chat", scenario: config.scenarios.chat!, origins: config.origins, canaryStopped };
}

function request(overrides: Partial<RoutingRequest> = {}): RoutingRequest {
  return { priority: "standard", promptTokens: 1000, outputTokens: 500, boundaries: [], budgetPressure: 0, softLimited: false, random: () => 0.5, ...overrides };
}

const snapshot = emptySnapshot;

const none = () => null;
const NOON = Date.UTC(2026, 10, 23, 12, 0); // a Monday
const order = (d: ReturnType<typeof decide>) => d.attempts.map((a) => a.origin);

describe("decide: classes", () => {
  it.each([
    ["interactive", ["dear", "pool", "cheap"]],
    ["standard", ["pool", "cheap", "dear"]],
    ["batch", ["pool", "cheap", "dear"]],
  ] as const)("%s orders by its objective", (priority, expected) => {
    // Without measurements every origin is at its prior; the pool is free, dear is fastest.
    const d = decide(request({ priority }), view(), none, NOON);
    expect(order(d)).toEqual(expected);
  });

  it("batch picks the cheapest priced origin over a faster one", () => {
    const v = view((c) => (c.scenarios.chat!.candidates = [{ origin: "dear", model: "m" }, { origin: "cheap", model: "m" }]));
    expect(order(decide(request({ priority: "batch" }), v, none, NOON))).toEqual(["cheap", "dear"]);
    expect(order(decide(request({ priority: "interactive" }), v, none, NOON))).toEqual(["dear", "cheap"]);
  });

  it("interactive prefers a steady origin to a faster but unstable one", () => {
    const v = view((c) => (c.scenarios.chat!.candidates = [{ origin: "cheap", model: "m" }, { origin: "dear", model: "m" }]));
    const snaps = (o: string) =>
      o === "cheap"
        ? snapshot(o, { samples: 100, ttftMs: { mean: 300, variance: 100, cv: 0.03 } as OriginSnapshot["ttftMs"] })
        : snapshot(o, { samples: 100, ttftMs: { mean: 200, variance: 90_000, cv: 1.5 } as OriginSnapshot["ttftMs"] });
    const d = decide(request({ priority: "interactive" }), v, snaps, NOON);
    expect(order(d)).toEqual(["cheap", "dear"]);
    expect(d.explanation.candidates.find((c) => c.origin === "dear")!.terms).toMatchObject({ ttftMs: 200, ttftSource: "ewma", cv: 1.5 });
  });

  it("uses this hour's profile when it has enough samples", () => {
    const hourly = Array.from({ length: 24 }, (_, h) => (h === 12 ? { mean: 5000, samples: 50 } : null));
    const snaps = (o: string) => (o === "pool" ? snapshot(o, { samples: 100, ttftMs: { mean: 100, variance: 0, cv: 0 } as OriginSnapshot["ttftMs"], hourlyTtftMs: hourly }) : null);
    const d = decide(request({ priority: "interactive" }), view(), snaps, NOON);
    expect(d.explanation.candidates[0]!.terms).toMatchObject({ ttftMs: 5000, ttftSource: "hourly" });
    expect(order(d)[0]).not.toBe("pool");
  });

  it("reads the class from service_tier or x-priority, capped by the key", () => {
    expect(priorityOf("priority", null, "interactive").priority).toBe("interactive");
    expect(priorityOf("flex", null, "interactive").priority).toBe("batch");
    expect(priorityOf("auto", null, "interactive").priority).toBe("standard");
    expect(priorityOf(undefined, "interactive", "standard")).toEqual({ priority: "standard", requested: "interactive", source: "header" });
    expect(priorityOf("priority", "batch", "interactive")).toEqual({ priority: "batch", requested: "batch", source: "header" });
    expect(priorityOf("bogus", "nonsense", "interactive")).toEqual({ priority: "standard", requested: "standard", source: "default" });
  });
});

describe("decide: time windows", () => {
  const reserved = (c: RouterConfigInput) => {
    c.origins.pool!.windows = [{ days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "18:00", timeZone: "Europe/Paris", reservedFor: ["interactive"] }];
  };
  it.each([
    // 2026-11-23 is a Monday; Paris is UTC+1 in November.
    ["07:59 UTC (08:59 Paris): before the window", Date.UTC(2026, 10, 23, 7, 59), true],
    ["08:00 UTC (09:00 Paris): the window opens", Date.UTC(2026, 10, 23, 8, 0), false],
    ["16:59 UTC (17:59 Paris): still inside", Date.UTC(2026, 10, 23, 16, 59), false],
    ["17:00 UTC (18:00 Paris): the window has closed", Date.UTC(2026, 10, 23, 17, 0), true],
    ["Saturday noon: not a window day", Date.UTC(2026, 10, 28, 12, 0), true],
  ])("a pool reserved for interactive in office hours, standard request at %s", (_, at, poolAllowed) => {
    const d = decide(request({ priority: "standard" }), view(reserved), none, at);
    expect(order(d).includes("pool")).toBe(poolAllowed);
    if (!poolAllowed) expect(d.explanation.candidates[0]!.excluded).toMatchObject({ rule: "reserved" });
    expect(order(decide(request({ priority: "interactive" }), view(reserved), none, at))).toContain("pool");
  });

  it("a closed window that crosses midnight", () => {
    const v = view((c) => (c.origins.pool!.windows = [{ days: ["fri"], from: "22:00", to: "06:00", closed: true }]));
    expect(order(decide(request(), v, none, Date.UTC(2026, 10, 27, 21, 59)))).toContain("pool"); // Fri 21:59
    expect(order(decide(request(), v, none, Date.UTC(2026, 10, 27, 22, 0)))).not.toContain("pool"); // Fri 22:00
    expect(order(decide(request(), v, none, Date.UTC(2026, 10, 28, 5, 59)))).not.toContain("pool"); // Sat 05:59
    expect(order(decide(request(), v, none, Date.UTC(2026, 10, 28, 6, 0)))).toContain("pool"); // Sat 06:00
    expect(order(decide(request(), v, none, Date.UTC(2026, 10, 28, 22, 0)))).toContain("pool"); // Sat 22:00
  });

  it("a scenario's own window for a candidate: the pool only at night for this scenario", () => {
    const v = view((c) => {
      c.scenarios.chat!.candidates[0] = { origin: "pool", model: "qwen", windows: [{ from: "08:00", to: "20:00", closed: true }] };
    });
    const day = decide(request(), v, none, NOON);
    expect(order(day)).not.toContain("pool");
    expect(day.explanation.candidates[0]!.excluded).toMatchObject({ rule: "window_closed", detail: "closed 08:00-20:00 UTC" });
    expect(order(decide(request(), v, none, Date.UTC(2026, 10, 23, 22, 0)))[0]).toBe("pool");
    // The origin itself is untouched: another scenario's view of it is open all day.
    expect(order(decide(request(), view(), none, NOON))).toContain("pool");
  });

  it("a capacity window puts a busy shared pool last", () => {
    const v = view((c) => (c.origins.pool!.windows = [{ from: "09:00", to: "18:00", capacityMultiplier: 0.2 }]));
    const snaps = (o: string) => (o === "pool" ? snapshot(o, { inFlight: 2 }) : null);
    const d = decide(request(), v, snaps, NOON);
    expect(order(d).at(-1)).toBe("pool");
    expect(d.explanation.candidates[0]).toMatchObject({ demoted: "over_capacity", terms: { load: 1, inFlight: 2, capacity: 2 } });
    // The terms an explanation carries, every one of them (the decision log and `x-router-decision` show them).
    expect(Object.keys(d.explanation.candidates[0]!.terms!)).toEqual(["ttftMs", "ttftSource", "cv", "errorRate", "load", "inFlight", "capacity", "cachedTokens", "priceMicros", "latency", "price", "weight", "score"]);
    expect(order(decide(request(), v, snaps, Date.UTC(2026, 10, 23, 20, 0)))[0]).toBe("pool"); // evening: capacity 10
  });

  it("prices follow the origin's price windows", () => {
    const v = view((c) => {
      c.origins.cheap!.pricing = { input: 0.27, output: 1.1, windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }] };
    });
    const day = decide(request(), v, none, NOON).explanation.candidates[1]!.terms!.priceMicros;
    const night = decide(request(), v, none, Date.UTC(2026, 10, 23, 17, 0)).explanation.candidates[1]!.terms!.priceMicros;
    expect(day).toBe(Math.ceil((1000 * 270_000 + 500 * 1_100_000) / 1e6));
    expect(night).toBe(Math.ceil((1000 * 135_000 + 500 * 550_000) / 1e6));
  });
});

describe("decide: health", () => {
  it("excludes an open circuit and tries a half-open one last", () => {
    const open = (o: string) => (o === "pool" ? snapshot(o, { circuit: { state: "open", since: NOON - 1000, openUntil: NOON + 30_000, reason: "consecutive_failures" } as OriginSnapshot["circuit"] }) : null);
    const d = decide(request(), view(), open, NOON);
    expect(order(d)).toEqual(["cheap", "dear"]);
    expect(d.explanation.candidates[0]!.excluded).toMatchObject({ rule: "circuit_open" });
    const half = (o: string) => (o === "pool" ? snapshot(o, { circuit: { state: "half_open", since: NOON, openUntil: null, reason: "cooldown_elapsed" } as OriginSnapshot["circuit"] }) : null);
    const probing = decide(request(), view(), half, NOON);
    expect(order(probing)).toEqual(["cheap", "dear", "pool"]);
    expect(probing.explanation.candidates[0]!.demoted).toBe("circuit_half_open");
  });

  it("says when a candidate may serve again when none may now (Retry-After of the 503)", () => {
    const only = (c: RouterConfigInput) => (c.scenarios.chat!.candidates = [{ origin: "pool", model: "qwen" }, { origin: "cheap", model: "m" }]);
    const openPool = (o: string) => (o === "pool" ? snapshot(o, { circuit: { state: "open", since: NOON - 1000, openUntil: NOON + 30_000, reason: "consecutive_failures" } as OriginSnapshot["circuit"] }) : null);
    // cheap is closed until 13:05; the pool's circuit reopens first, at 12:00:30.
    const closedCheap = view((c) => {
      only(c);
      c.origins.cheap!.windows = [{ from: "11:00", to: "13:05", closed: true }];
    });
    expect(decide(request(), closedCheap, openPool, NOON)).toMatchObject({ attempts: [], availableAt: NOON + 30_000 });
    // With the pool open for good, the window's end: scanned by the minute.
    expect(decide(request(), closedCheap, (o) => (o === "pool" ? snapshot(o, { circuit: { state: "open", since: NOON, openUntil: NOON + 7_200_000, reason: "error_rate" } as OriginSnapshot["circuit"] }) : null), NOON).availableAt).toBe(NOON + 65 * 60_000);
    // A boundary no candidate meets never ends by itself: no instant.
    const mars = decide(request({ boundaries: [parseBoundaryHeader("region=mars") as never] }), view(), none, NOON);
    expect(mars).toMatchObject({ attempts: [], availableAt: null });
    // And a decision with attempts has none.
    expect(decide(request(), view(), openPool, NOON).availableAt).toBeNull();
  });

  it("penalises the error rate", () => {
    const flaky = (o: string) => (o === "pool" ? snapshot(o, { errorRate: 0.6 }) : null);
    expect(order(decide(request(), view(), flaky, NOON))[0]).toBe("cheap");
  });

  it("puts an interactive request's SLO breakers last", () => {
    const v = view((c) => (c.scenarios.chat!.slo = { ttftMs: 300 }));
    const d = decide(request({ priority: "interactive" }), v, none, NOON);
    expect(order(d).at(-1)).toBe("cheap"); // prior 400 ms > 300 ms
    expect(d.explanation.candidates[1]!.demoted).toBe("slo");
  });
});

describe("decide: budget pressure", () => {
  it("weighs price more as the budget fills", () => {
    const v = view((c) => (c.scenarios.chat!.candidates = [{ origin: "dear", model: "m" }, { origin: "cheap", model: "m" }]));
    expect(order(decide(request({ priority: "interactive", budgetPressure: 0 }), v, none, NOON))).toEqual(["dear", "cheap"]);
    expect(order(decide(request({ priority: "interactive", budgetPressure: 1 }), v, none, NOON))).toEqual(["cheap", "dear"]);
  });

  it("past the soft limit, keeps only the degrade path", () => {
    const v = view((c) => (c.scenarios.chat!.degrade = ["cheap"]));
    const d = decide(request({ softLimited: true }), v, none, NOON);
    expect(order(d)).toEqual(["cheap"]);
    expect(d.explanation.candidates.filter((c) => c.excluded?.rule === "degrade").map((c) => c.origin)).toEqual(["pool", "dear"]);
  });

  it("past the soft limit without a degrade path, drops candidates far dearer than the cheapest", () => {
    const v = view((c) => (c.scenarios.chat!.candidates = [{ origin: "dear", model: "m" }, { origin: "cheap", model: "m" }]));
    const d = decide(request({ softLimited: true }), v, none, NOON);
    expect(order(d)).toEqual(["cheap"]);
    expect(d.explanation.candidates[0]!.excluded).toMatchObject({ rule: "budget_price" });
  });
});

describe("decide: data boundary", () => {
  it("never lists an origin outside the boundary, not even as a fallback", () => {
    const boundary = parseBoundaryHeader("kind=self-hosted");
    expect(boundary).toEqual({ kinds: ["self-hosted"] });
    const d = decide(request({ boundaries: [boundary as { kinds: ["self-hosted"] }] }), view(), none, NOON);
    expect(order(d)).toEqual(["pool"]);
    const down = (o: string) => (o === "pool" ? snapshot(o, { circuit: { state: "open", since: 0, openUntil: NOON + 1, reason: "consecutive_failures" } as OriginSnapshot["circuit"] }) : null);
    expect(decide(request({ boundaries: [{ kinds: ["self-hosted"] }] }), view(), down, NOON).attempts).toEqual([]);
  });

  it("combines boundaries: every one must allow the origin", () => {
    const d = decide(request({ boundaries: [{ regions: ["eu", "us"] }, { providers: ["openai", "deepseek"] }] }), view(), none, NOON);
    expect(order(d)).toEqual(["dear"]);
    expect(d.explanation.candidates.map((c) => c.excluded?.rule ?? null)).toEqual(["boundary", "boundary", null]);
  });

  it("rejects malformed boundary headers", () => {
    expect(parseBoundaryHeader("kind=self-hosted; region=eu,us")).toEqual({ kinds: ["self-hosted"], regions: ["eu", "us"] });
    expect(parseBoundaryHeader("colour=blue")).toHaveProperty("error");
    expect(parseBoundaryHeader("kind=cloud")).toHaveProperty("error");
    expect(parseBoundaryHeader(null)).toBeNull();
  });

  it("never mirrors a request outside its boundary", () => {
    const v = view((c) => (c.scenarios.chat!.shadow = { origin: "dear", model: "m", share: 1 }));
    expect(decide(request(), v, none, NOON).shadow).toEqual({ origin: "dear", model: "m" });
    expect(decide(request({ boundaries: [{ kinds: ["self-hosted"] }] }), v, none, NOON).shadow).toBeNull();
  });
});

describe("decide: canary and shadow", () => {
  const canary = (c: RouterConfigInput) => (c.scenarios.chat!.canary = { origin: "cheap", model: "deepseek-v4", share: 0.1 });

  it("serves its share first, and otherwise is not used", () => {
    const drawn = decide(request({ random: () => 0.05 }), view(canary), none, NOON);
    expect(drawn.attempts[0]).toEqual({ origin: "cheap", model: "deepseek-v4" });
    expect(drawn.explanation.canary).toBe("drawn");
    const not = decide(request({ random: () => 0.5 }), view(canary), none, NOON);
    expect(not.attempts).not.toContainEqual({ origin: "cheap", model: "deepseek-v4" });
    expect(not.explanation.canary).toBe("not_drawn");
  });

  it("keeps the share within statistical tolerance", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const n = 10_000;
    let drawn = 0;
    for (let i = 0; i < n; i++) if (decide(request({ random }), view(canary), none, NOON).explanation.canary === "drawn") drawn++;
    // 10 % of 10,000: σ = 30, so ±4σ = ±120.
    expect(Math.abs(drawn - 1000)).toBeLessThan(120);
  });

  it("a stopped canary serves nothing", () => {
    const d = decide(request({ random: () => 0 }), view(canary, true), none, NOON);
    expect(d.explanation.canary).toBe("stopped");
    expect(d.attempts).not.toContainEqual({ origin: "cheap", model: "deepseek-v4" });
  });
});

describe("decide: flex waits", () => {
  it("waits for a cheaper window within its bound, not beyond", () => {
    const v = view((c) => {
      c.scenarios.chat!.candidates = [{ origin: "cheap", model: "m" }];
      c.scenarios.chat!.flex = { maxWaitMs: 600_000 };
      c.origins.cheap!.pricing = { input: 0.27, output: 1.1, windows: [{ from: "16:30", to: "00:30", multiplier: 0.5 }] };
    });
    const fiveBefore = Date.UTC(2026, 10, 23, 16, 25);
    const d = decide(request({ priority: "batch" }), v, none, fiveBefore);
    expect(d.waitMs).toBe(300_000); // the first 1-minute step inside the window: 16:30
    expect(d.explanation.waitReason).toContain("cheaper");
    expect(decide(request({ priority: "batch" }), v, none, NOON).waitMs).toBeNull();
    expect(decide(request({ priority: "standard" }), v, none, fiveBefore).waitMs).toBeNull();
  });
});

describe("decide: explanation", () => {
  it("lists every candidate with its terms or the rule that excluded it", () => {
    const d = decide(request({ boundaries: [{ regions: ["eu", "cn"] }] }), view(), none, NOON);
    expect(d.explanation).toMatchObject({ scenario: "chat", priority: "standard", budgetPressure: 0, at: NOON, canary: null });
    expect(d.explanation.candidates.map((c) => [c.origin, c.excluded?.rule ?? null])).toEqual([
      ["pool", null],
      ["cheap", null],
      ["dear", "boundary"],
    ]);
    const pool = d.explanation.candidates[0]!.terms!;
    // latency 200 / 400 (cheap's prior is the worst); price 0 / 820 µ$.
    expect(pool).toMatchObject({ ttftMs: 200, ttftSource: "prior", cv: 0, errorRate: 0, load: 0, priceMicros: 0, weight: 0.5, latency: 0.5, price: 0 });
    expect(pool.score).toBeCloseTo(0.25);
  });
});
