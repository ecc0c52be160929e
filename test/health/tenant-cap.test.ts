/**
 * The per-tenant failure cap as pure functions (issue #12): which failures count in a sliding
 * window, out-of-order samples, forgetting, and the bound on tenants tracked.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chargeFailure, forgetExpired, MAX_TRACKED_TENANTS, type TenantFailures } from "../../src/health/tenant-cap";

const W = 60_000;

/** Charges `times` of `tenant` in order; which counted, and the failures after. */
function chargeAll(times: number[], tenant = "acme", cap = 2, start: TenantFailures = {}): { counted: boolean[]; failures: TenantFailures } {
  let failures = start;
  const counted: boolean[] = [];
  for (const at of times) {
    const charge = chargeFailure(failures, tenant, at, cap, W);
    counted.push(charge.counted);
    failures = charge.failures;
  }
  return { counted, failures };
}

describe("chargeFailure", () => {
  it("counts a tenant's first `cap` failures in a window and attributes the rest", () => {
    expect(chargeAll([1_000, 2_000, 3_000, 4_000])).toEqual({ counted: [true, true, false, false], failures: { acme: [1_000, 2_000] } });
  });

  it("slides: a failure counts again once the oldest counted one is a window away", () => {
    // 61 000 is 60 000 after 1 000 (out of its window) and 59 000 after 2 000 (within it).
    const { counted, failures } = chargeAll([1_000, 2_000, 61_000, 61_500, 62_000]);
    expect(counted).toEqual([true, true, true, false, true]);
    expect(failures).toEqual({ acme: [61_000, 62_000] });
  });

  it("counts at most `cap` in a burst across a minute boundary, unlike a tumbling window", () => {
    expect(chargeAll([59_000, 59_500, 60_500, 61_000]).counted).toEqual([true, true, false, false]);
  });

  it("judges a late sample against the counted failures on both sides of it", () => {
    expect(chargeAll([10_000, 5_000, 7_000]).counted).toEqual([true, true, false]);
    // 5 000 shares a window with 10 000 only (69 000 is 64 s later); 68 000 with 10 000 and 69 000.
    expect(chargeAll([10_000, 69_000, 5_000, 68_000]).counted).toEqual([true, true, true, false]);
  });

  it("keeps tenants apart, and a cap of 0 counts none", () => {
    const acme = chargeAll([1, 2, 3]);
    expect(chargeAll([4, 5, 6], "globex", 2, acme.failures)).toEqual({
      counted: [true, true, false],
      failures: { acme: [1, 2], globex: [4, 5] },
    });
    expect(chargeAll([1, 2], "acme", 0)).toEqual({ counted: [false, false], failures: {} });
  });

  it("takes a tenant named like an Object.prototype property as any other", () => {
    expect(chargeAll([1, 2, 3], "__proto__").counted).toEqual([true, true, false]);
    expect(chargeAll([1, 2, 3], "constructor").counted).toEqual([true, true, false]);
  });

  it(`tracks at most ${MAX_TRACKED_TENANTS} tenants: the expired go first, then the stalest`, () => {
    const full: TenantFailures = Object.fromEntries(Array.from({ length: MAX_TRACKED_TENANTS }, (_, i) => [`t${i}`, [100_000 + i]]));
    // None has expired at 100 000 + 200: t0, whose last failure is oldest, makes room.
    const one = chargeFailure(full, "new", 100_000 + MAX_TRACKED_TENANTS, 2, W);
    expect(one.counted).toBe(true);
    expect(Object.keys(one.failures)).toHaveLength(MAX_TRACKED_TENANTS);
    expect(one.failures.t0).toBeUndefined();
    expect(one.failures.new).toEqual([100_200]);
    // A window later every one of them has expired: they all go.
    const later = chargeFailure(full, "new", 160_200, 2, W);
    expect(later.failures).toEqual({ new: [160_200] });
  });
});

describe("forgetExpired", () => {
  it("forgets tenants whose last counted failure is a window old, and returns the same object when none is", () => {
    const failures: TenantFailures = { acme: [1_000, 50_000], globex: [2_000] };
    expect(forgetExpired(failures, 62_000, W)).toEqual({ acme: [1_000, 50_000] });
    expect(forgetExpired(failures, 61_999, W)).toBe(failures);
  });
});

describe("cap properties", () => {
  it("never counts more than `cap` of a tenant's failures in any window, for failures in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.record({ tenant: fc.constantFrom("a", "b", "c"), dt: fc.integer({ min: 0, max: 30_000 }) }), { maxLength: 200 }),
        (cap, failures) => {
          let state: TenantFailures = {};
          let clock = 0;
          const counted: Record<string, number[]> = { a: [], b: [], c: [] };
          for (const f of failures) {
            clock += f.dt;
            const charge = chargeFailure(state, f.tenant, clock, cap, W);
            state = charge.failures;
            if (charge.counted) counted[f.tenant]!.push(clock);
          }
          for (const times of Object.values(counted)) {
            // Any cap + 1 consecutive counted failures span a whole window at least.
            for (let i = cap; i < times.length; i++) expect(times[i]! - times[i - cap]!).toBeGreaterThanOrEqual(W);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
