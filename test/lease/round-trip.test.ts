/** The ledger's round trip as an isolate estimates it (src/lease/round-trip.ts): a clamped, weighted average. */
import { describe, expect, it } from "vitest";
import { RoundTrip } from "../../src/lease/round-trip";

describe("RoundTrip", () => {
  it("starts at 0, takes its first sample whole, then moves a fifth of the way to each next one", () => {
    const rtt = new RoundTrip(() => 1_000);
    expect(rtt.ms).toBe(0);
    rtt.note(50);
    expect(rtt.ms).toBe(50);
    rtt.note(100);
    expect(rtt.ms).toBe(60);
    rtt.note(10);
    expect(rtt.ms).toBe(50);
  });

  it("clamps a slow call to the lease window, and ignores a clock stepped back or a sample that is not a number", () => {
    let window = 1_000;
    const rtt = new RoundTrip(() => window);
    rtt.note(60_000);
    expect(rtt.ms).toBe(1_000);
    window = 500;
    rtt.note(60_000);
    expect(rtt.ms).toBe(900);
    for (const bad of [-5, Number.NaN, Number.POSITIVE_INFINITY]) rtt.note(bad);
    expect(rtt.ms).toBe(900);
  });
});
