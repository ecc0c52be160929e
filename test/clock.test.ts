/** The router's clock (src/clock.ts): real, or a benchmark's compressed day. */
import { describe, expect, it } from "vitest";
import { clockOf, REAL_CLOCK } from "../src/clock";

describe("the router's clock", () => {
  it("is the real one unless BENCH_CLOCK is set: an alarm for an instant is set for that instant", () => {
    expect(clockOf(undefined)).toBe(REAL_CLOCK);
    expect(REAL_CLOCK.realAt(1_234_567)).toBe(1_234_567);
  });

  it("under BENCH_CLOCK, an instant of the router's day is reached at the real instant its speed says", () => {
    const realStartMs = Date.now();
    const clock = clockOf(JSON.stringify({ epochMs: 1_000_000_000, realStartMs, speed: 360 }));
    // An hour of the router's day is ten real seconds.
    expect(clock.realAt(1_000_000_000 + 3_600_000)).toBe(realStartMs + 10_000);
    expect(Math.abs(clock.realAt(clock.now()) - Date.now())).toBeLessThanOrEqual(5);
  });
});
