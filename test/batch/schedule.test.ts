/**
 * When a batch runs (src/batch/schedule.ts): the router's own decision for a batch-class request,
 * asked at instants ahead. Pure: the config is the suite's, the clock an argument.
 */
import { describe, expect, it } from "vitest";
import { planBatch, SCAN_STEP_MS } from "../../src/batch/schedule";
import { routerConfigSchema, type RouterConfigInput } from "../../src/config/schema";
import { decide, type RoutingRequest } from "../../src/routing/decide";
import { nextUtc } from "../support/clock";
import { testRouterConfig } from "../support/router-config";

const HOUR = 3_600_000;
const request: RoutingRequest = { priority: "batch", promptTokens: 100, outputTokens: 100, boundaries: [], budgetPressure: 0, softLimited: false, random: () => 0.5 };

/** The plan of a batch of `scenarioName` (with `extra` scenarios in the suite's config), by `decide()` itself. */
function planner(scenarioName: string, extra: Partial<RouterConfigInput["scenarios"]> = {}, inFlight?: (origin: string) => number) {
  const input = testRouterConfig("http://127.0.0.1:1");
  const config = routerConfigSchema.parse({ ...input, scenarios: { ...input.scenarios, ...extra } });
  const view = { name: scenarioName, scenario: config.scenarios[scenarioName]!, origins: config.origins, canaryStopped: false };
  const decideAt = (lookAhead: boolean) => (at: number) => decide({ ...request, lookAhead, ...(inFlight ? { inFlight } : {}) }, view, () => null, at);
  return (now: number, latestStart: number) => planBatch(decideAt(false), decideAt(true), now, latestStart);
}

describe("planBatch", () => {
  // beta (DeepSeek-like) is half price 16:30-00:30 UTC; alpha costs more at any hour.
  const offPeak = planner("batch-offpeak");
  // 100 prompt + 100 output tokens on beta: 0.27 and 1.10 USD per million, 137 µ$; half of it
  // rounded up (a price is never rounded in the provider's favour... nor against it: up).
  const FULL = 27 + 110;
  const HALF = 69;

  it("waits for the off-peak window when it opens in time, and says why", () => {
    const at10 = nextUtc({ hour: 10 });
    expect(offPeak(at10, at10 + 22 * HOUR)).toEqual({ kind: "wait", until: nextUtc({ hour: 16, minute: 30 }, at10), reason: `beta is cheaper from 16:30 UTC (${HALF} vs ${FULL} µ$ a request)` });
  });

  it("runs at once inside the window, and when the window opens after the latest start", () => {
    const at17 = nextUtc({ hour: 17 });
    expect(offPeak(at17, at17 + 22 * HOUR)).toEqual({ kind: "run" });
    const at10 = nextUtc({ hour: 10 });
    expect(offPeak(at10, nextUtc({ hour: 16, minute: 25 }, at10))).toEqual({ kind: "run" });
    expect(offPeak(at10, nextUtc({ hour: 16, minute: 30 }, at10)).kind).toBe("wait");
  });

  it("scans on the five-minute grid from the next step on", () => {
    const at = nextUtc({ hour: 16, minute: 27 });
    expect(offPeak(at, at + 10 * HOUR)).toEqual({ kind: "wait", until: at + 3 * 60_000, reason: expect.stringContaining("16:30 UTC") });
    expect((at + 3 * 60_000) % SCAN_STEP_MS).toBe(0);
  });

  it("waits while its only origin is reserved for interactive traffic, until the reservation ends", () => {
    const reserved = planner("night-pool", {
      "night-pool": { endpoint: "chat", candidates: [{ origin: "pool", model: "qwen2.5-7b", windows: [{ from: "08:00", to: "20:00", reservedFor: ["interactive"] }] }] },
    });
    const at10 = nextUtc({ hour: 10 });
    expect(reserved(at10, at10 + 22 * HOUR)).toEqual({ kind: "wait", until: nextUtc({ hour: 20 }, at10), reason: "no origin may serve batch requests until 20:00 UTC" });
    expect(reserved(nextUtc({ hour: 21 }), nextUtc({ hour: 21 }) + 22 * HOUR)).toEqual({ kind: "run" });
  });

  it("waits a moment when every origin is at capacity, and a while when none may ever serve", () => {
    const full = planner("chat-affinity", {}, () => 4);
    const at = nextUtc({ hour: 3 });
    expect(full(at, at + 22 * HOUR)).toEqual({ kind: "wait", until: at + 2_000, reason: "every origin is at capacity" });
    const closed = planner("shut", { shut: { endpoint: "chat", candidates: [{ origin: "pool", model: "m", windows: [{ from: "00:00", to: "24:00", closed: true }] }] } });
    expect(closed(at, at + 22 * HOUR)).toEqual({ kind: "wait", until: at + 300_000, reason: "no origin may serve batch requests now" });
  });
});
