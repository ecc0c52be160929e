import { describe, expect, it } from "vitest";
import { boundedLoads, idleFloor, rendezvousKey, stringKey } from "../../src/affinity/placement";
import { RecentLoad } from "../../src/affinity/recent-load";

const ORIGINS = ["a", "b", "c", "d"];
const firstOf = (key: number, origins: string[], weight: (o: string) => number = () => 1) =>
  origins.reduce((best, o) => (rendezvousKey(key, o, weight(o)) > rendezvousKey(key, best, weight(best)) ? o : best));

describe("placement", () => {
  it("rendezvous order moves only the keys of a removed origin", () => {
    const keys = Array.from({ length: 2000 }, (_, i) => stringKey(`prefix-${i}`));
    const before = keys.map((k) => firstOf(k, ORIGINS));
    const after = keys.map((k) => firstOf(k, ["a", "b", "d"]));
    keys.forEach((_, i) => {
      if (before[i] !== "c") expect(after[i]).toBe(before[i]);
    });
    // Spread evenly: each origin gets 500 ± 15 %.
    for (const o of ORIGINS) expect(Math.abs(before.filter((x) => x === o).length - 500)).toBeLessThan(75);
  });

  it("rendezvous order gives a heavier origin a proportional share", () => {
    const keys = Array.from({ length: 3000 }, (_, i) => stringKey(`k${i}`));
    const share = keys.filter((k) => firstOf(k, ["big", "small"], (o) => (o === "big" ? 3 : 1)) === "big").length / keys.length;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
  });

  it("bounds each origin at ceil((1+ε)·(total+1)·share)", () => {
    expect(boundedLoads([{ origin: "a", load: 3, capacity: 8 }, { origin: "b", load: 0, capacity: 8 }], 0.25)).toEqual(new Map([["a", 3], ["b", 3]]));
    // Idle: everyone may take one.
    expect(boundedLoads(ORIGINS.map((origin) => ({ origin, load: 0, capacity: 1 })), 0.25)).toEqual(new Map(ORIGINS.map((o) => [o, 1])));
    // Weighted by capacity: 10 in flight + 1, ε = 0.5: a gets ceil(1.5·11·3/4) = 13, b ceil(1.5·11/4) = 5.
    expect(boundedLoads([{ origin: "a", load: 8, capacity: 3 }, { origin: "b", load: 2, capacity: 1 }], 0.5)).toEqual(new Map([["a", 13], ["b", 5]]));
    // Nearly idle origins are never over their share: below ⌈ε · capacity⌉ = ⌈0.25 · 16⌉ = 4 in flight.
    expect(idleFloor(16, 0.25)).toBe(4);
    expect(idleFloor(4, 0.25)).toBe(1);
  });

  it("string keys are stable, 53-bit, and differ for different strings", () => {
    expect(stringKey("session-1")).toBe(stringKey("session-1"));
    expect(stringKey("session-1")).not.toBe(stringKey("session-2"));
    expect(Number.isSafeInteger(stringKey("x".repeat(1000)))).toBe(true);
  });
});

describe("recent load", () => {
  it("adds what is sent and halves it every half-life", () => {
    const recent = new RecentLoad(5_000);
    expect(recent.of("a", 0)).toBe(0);
    recent.add("a", 8, 1_000);
    recent.add("a", 8, 6_000);
    // 8 halved once, plus 8: 12 at 6 s; a half-life later 6, two later 3.
    expect(recent.of("a", 6_000)).toBe(12);
    expect(recent.of("a", 11_000)).toBe(6);
    expect(recent.of("a", 16_000)).toBe(3);
    expect(recent.of("b", 16_000)).toBe(0);
  });
});
