/**
 * The day profile: an origin's latency and availability by (virtual) hour, and the virtual clock a
 * benchmark's compressed day runs on. Pure parts are checked exactly; through the simulator, the
 * virtual clock is pinned to an instant (a tiny speed) so the hour is known whatever the date.
 */
import { describe, expect, it } from "vitest";
import { dayEffect, DayProfileSchema, inSpan, requestDraws, utcHour } from "../../src/sim/day-profile";
import { virtualNow } from "../../src/sim/virtual-clock";
import type { SimStats } from "../../src/sim";
import { chat, makeSim, simReset, user } from "./helpers";

const at = (h: number, m = 0) => Date.UTC(2030, 0, 2, h, m);
const flat = (v: number) => Array.from({ length: 24 }, () => v);
const constant = (u: number) => () => u;

describe("virtual clock", () => {
  it("runs speed times faster from its start; without one, the real clock", () => {
    const clock = { epochMs: at(0), realStartMs: 1_000, speed: 360 };
    expect(virtualNow(clock, 1_000)).toBe(at(0));
    expect(virtualNow(clock, 11_000)).toBe(at(1)); // ten real seconds: one virtual hour
    expect(virtualNow(clock, 0)).toBe(at(0) - 360_000);
    expect(virtualNow(undefined, 1234)).toBe(1234);
  });
});

describe("spans and hours (UTC)", () => {
  it("[from, to), and across midnight when from > to", () => {
    expect(inSpan({ from: "12:30", to: "12:50" }, at(12, 30))).toBe(true);
    expect(inSpan({ from: "12:30", to: "12:50" }, at(12, 50))).toBe(false);
    expect(inSpan({ from: "16:30", to: "00:30" }, at(23, 59))).toBe(true);
    expect(inSpan({ from: "16:30", to: "00:30" }, at(0, 29))).toBe(true);
    expect(inSpan({ from: "16:30", to: "00:30" }, at(0, 30))).toBe(false);
    expect(inSpan({ from: "00:00", to: "24:00" }, at(7))).toBe(true);
    expect(utcHour(at(23, 59))).toBe(23);
    expect(utcHour(at(0))).toBe(0);
  });
});

describe("dayEffect", () => {
  const profile = DayProfileSchema.parse({
    ttftMultiplier: flat(1).map((v, h) => (h === 12 ? 3 : v)),
    brownouts: [{ from: "13:00", to: "13:20", errorShare: 0.25, slowMs: [1000, 3000] }],
    maintenance: [{ from: "03:00", to: "04:00" }],
  });

  it("maintenance answers 503", () => {
    expect(dayEffect(profile, 200, at(3, 30), constant(0.5))).toEqual({
      kind: "maintenance",
      fault: { status: 503, message: "The origin is down for maintenance (sim day profile)." },
    });
  });

  it("a brown-out fails its share with its status and delays the rest within slowMs", () => {
    expect(dayEffect(profile, 200, at(13, 5), constant(0.1)).fault?.status).toBe(503);
    const slow = dayEffect(profile, 200, at(13, 5), constant(0.5));
    expect(slow).toEqual({ kind: "brownout_slow", fault: { delayMs: 2000 } });
  });

  it("the hour's multiplier scales the fixed TTFT; what exceeds it is added before the headers", () => {
    expect(dayEffect(profile, 200, at(12, 10), constant(0.5))).toEqual({ kind: "slowed", fault: { delayMs: 400 } });
    expect(dayEffect(profile, 200, at(11, 10), constant(0.5))).toEqual({ kind: "none", fault: undefined });
  });

  it("jitter is lognormal around the multiplier and never shortens the configured TTFT", () => {
    const jittery = DayProfileSchema.parse({ jitterSigma: flat(0.8) });
    const next = requestDraws(1, "o", "x");
    const delays = Array.from({ length: 2000 }, () => dayEffect(jittery, 100, at(10), next).fault?.delayMs ?? 0);
    expect(Math.min(...delays)).toBe(0);
    // Half the draws are below the median (no delay), and e^(0.8·2.33) ≈ 6.4× at the 99th percentile.
    const sorted = [...delays].sort((a, b) => a - b);
    expect(sorted[999]).toBeLessThan(10);
    expect(sorted[1979]).toBeGreaterThan(300);
  });

  it("draws depend on the seed, the origin and the messages only", () => {
    const a = requestDraws(7, "maas", [user("hi")]);
    const b = requestDraws(7, "maas", [user("hi")]);
    expect([a(), a()]).toEqual([b(), b()]);
    expect(requestDraws(7, "pool", [user("hi")])()).not.toBe(requestDraws(7, "maas", [user("hi")])());
    expect(requestDraws(8, "maas", [user("hi")])()).not.toBe(requestDraws(7, "maas", [user("hi")])());
  });
});

describe("an origin with a day profile", () => {
  /** A virtual clock that stays (to a millisecond a day) at `instant`. */
  const pinnedAt = (instant: number) => ({ epochMs: instant, realStartMs: Date.now(), speed: 1e-9 });
  const body = { model: "m", messages: [user("day")], stream: true };

  it("is closed in its maintenance hour, counts it, and forgets the count on reset", async () => {
    const sim = makeSim({ clock: pinnedAt(at(3, 15)), origins: { pool: { profile: "vllm", dayProfile: { maintenance: [{ from: "03:00", to: "04:00" }] } }, other: {} } });
    const res = await chat(sim, "pool", body);
    expect(res.status).toBe(503);
    expect((await chat(sim, "other", body)).status).toBe(200);
    const stats = (await (await sim.fetch(new Request("http://sim/_sim/stats"))).json()) as SimStats;
    expect(stats.day).toEqual({ pool: { maintenance: 1, brownoutErrors: 0, brownoutSlow: 0, slowed: 0, delayMs: 0 } });
    expect(stats.origins.pool?.requests).toBe(0);
    await simReset(sim);
    const after = (await (await sim.fetch(new Request("http://sim/_sim/stats"))).json()) as SimStats;
    expect(after.day?.pool?.maintenance).toBe(0);
  });

  it("open outside it; a request's own fault wins over the profile", async () => {
    const sim = makeSim({ clock: pinnedAt(at(5)), origins: { pool: { dayProfile: { maintenance: [{ from: "03:00", to: "04:00" }] } } } });
    expect((await chat(sim, "pool", body)).status).toBe(200);
    const closed = makeSim({ clock: pinnedAt(at(3, 15)), origins: { pool: { dayProfile: { maintenance: [{ from: "03:00", to: "04:00" }] } } } });
    expect((await chat(closed, "pool", { ...body, sim: { pool: { status: 429 } } })).status).toBe(429);
  });

  it("slows the first token at its peak hour", async () => {
    const dayProfile = { ttftMultiplier: flat(1).map((v, h) => (h === 12 ? 4 : v)) };
    const sim = makeSim({ clock: pinnedAt(at(12, 30)), origins: { maas: { ttftBaseMs: 20, dayProfile } } });
    const started = Date.now();
    const res = await chat(sim, "maas", body);
    await res.text();
    // 20 ms configured + 60 ms (×4) before the headers; lower bound only, real timers.
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });
});
