/**
 * The circuit breaker as a pure state machine: every transition with its reason and time, the
 * cool-down's doubling and cap, half-open probe accounting, stale outcomes, and properties over
 * random sequences (no closed → half_open edge; an open circuit always ends after it began).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  admissionOf,
  advanceCircuit,
  blameWith,
  circuitOptionsSchema,
  DEFAULT_CIRCUIT_OPTIONS,
  HISTORY_LIMIT,
  initialCircuit,
  recordOutcome,
  tryAcquire,
  type Circuit,
  type CircuitOptions,
  type CircuitOptionsInput,
  type CircuitStateName,
} from "../../src/health/circuit";

const opts = (o: CircuitOptionsInput = {}): CircuitOptions => circuitOptionsSchema.parse(o);
const fail = (at: number, kind = "timeout") => ({ at, ok: false, kind });
const ok = (at: number) => ({ at, ok: true, kind: "ok" });
/** A failure of `tenant`'s request. */
const failOf = (tenant: string, at: number, kind = "timeout") => ({ at, ok: false, kind, tenant });

function feed(c: Circuit, outcomes: Array<{ at: number; ok: boolean; kind?: string }>, o: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS): Circuit {
  return outcomes.reduce((s, x) => recordOutcome(s, x, o), c);
}

/** An open circuit: five failures at 1..5 ms with the default options. */
const opened = () => feed(initialCircuit(), [1, 2, 3, 4, 5].map((t) => fail(t)));

describe("circuit options", () => {
  it("defaults to the documented values", () => {
    expect(DEFAULT_CIRCUIT_OPTIONS).toEqual({
      failureThreshold: 5,
      errorRateThreshold: 0.5,
      minSamples: 20,
      errorRateAlpha: 0.1,
      cooldownMs: 30_000,
      maxCooldownMs: 300_000,
      halfOpenMaxProbes: 1,
      halfOpenSuccesses: 2,
      tenantFailureCap: 2,
      tenantWindowMs: 60_000,
      probeGapMs: 2_000,
    });
  });

  it.each<[CircuitOptionsInput, string]>([
    [{ failureThreshold: 0 }, "failureThreshold"],
    [{ errorRateThreshold: 0 }, "errorRateThreshold"],
    [{ errorRateThreshold: 1.5 }, "errorRateThreshold"],
    [{ cooldownMs: 60_000, maxCooldownMs: 30_000 }, "cooldownMs"],
    [{ halfOpenMaxProbes: 0 }, "halfOpenMaxProbes"],
    [{ tenantFailureCap: -1 }, "tenantFailureCap"],
    [{ tenantFailureCap: 21 }, "tenantFailureCap"],
    [{ tenantWindowMs: 999 }, "tenantWindowMs"],
    [{ probeGapMs: 99 }, "probeGapMs"],
    [{ unknown: 1 } as CircuitOptionsInput, ""],
  ])("refuses %j at %s", (input, path) => {
    const result = circuitOptionsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join(".")).toBe(path);
  });
});

describe("closed → open", () => {
  it("opens on the fifth consecutive failure, at its time, for the base cool-down", () => {
    const four = feed(initialCircuit(), [1, 2, 3, 4].map((t) => fail(t)));
    expect(four).toMatchObject({ state: "closed", consecutiveFailures: 4, history: [] });
    const c = recordOutcome(four, fail(5, "connect_error"));
    expect(c).toMatchObject({ state: "open", since: 5, openUntil: 30_005, reason: "consecutive_failures", consecutiveFailures: 5, cooldownMs: 30_000 });
    expect(c.history).toEqual([{ at: 5, from: "closed", to: "open", reason: "consecutive_failures", detail: "5 consecutive failures (last: connect_error)" }]);
  });

  it("a success resets the consecutive count", () => {
    const c = feed(initialCircuit(), [fail(1), fail(2), fail(3), fail(4), ok(5), fail(6), fail(7), fail(8), fail(9)]);
    expect(c).toMatchObject({ state: "closed", consecutiveFailures: 4 });
  });

  // α = 0.5 keeps every rate exact in binary: F → 1, S → 0.5, F → 0.75, S → 0.375, F → 0.6875.
  const rateOnly = opts({ failureThreshold: 100, minSamples: 4, errorRateAlpha: 0.5 });

  it("opens when the error-rate EWMA exceeds the threshold over at least the minimum samples", () => {
    const three = feed(initialCircuit(), [fail(1), ok(2), fail(3)], rateOnly);
    expect(three).toMatchObject({ state: "closed", window: { samples: 3, errorRate: 0.75 } }); // 0.75 > 0.5, but 3 < 4 samples
    const four = recordOutcome(three, ok(4), rateOnly);
    expect(four).toMatchObject({ state: "closed", window: { samples: 4, errorRate: 0.375 } });
    const c = recordOutcome(four, fail(5), rateOnly);
    expect(c).toMatchObject({ state: "open", since: 5, openUntil: 30_005, reason: "error_rate", consecutiveFailures: 1 });
    expect(c.history.at(-1)!.detail).toBe("error rate 0.688 > 0.5 over 5 samples");
  });

  it("does not open at exactly the threshold, nor on a success above it", () => {
    const o = opts({ failureThreshold: 100, minSamples: 3, errorRateAlpha: 0.5 });
    const atThreshold = feed(initialCircuit(), [ok(1), ok(2), fail(3)], o);
    expect(atThreshold).toMatchObject({ state: "closed", window: { samples: 3, errorRate: 0.5 } });
    expect(recordOutcome(atThreshold, fail(4), o)).toMatchObject({ state: "open", reason: "error_rate" });
    // α = 0.25: F → 1, F → 1, S → 0.75 over 3 samples: above the threshold, but a success opens nothing.
    const o2 = opts({ failureThreshold: 100, minSamples: 3, errorRateAlpha: 0.25 });
    const high = feed(initialCircuit(), [fail(1), fail(2), ok(3)], o2);
    expect(high).toMatchObject({ state: "closed", window: { samples: 3, errorRate: 0.75 } });
    expect(recordOutcome(high, fail(4), o2)).toMatchObject({ state: "open", since: 4, reason: "error_rate" }); // 0.8125
  });

  it("prefers the consecutive-failure reason when both rules fire", () => {
    const o = opts({ failureThreshold: 3, minSamples: 3 });
    expect(feed(initialCircuit(), [fail(1), fail(2), fail(3)], o)).toMatchObject({ state: "open", reason: "consecutive_failures" });
  });
});

describe("open → half_open → closed | open", () => {
  it("turns half-open exactly when the cool-down elapses, dated at openUntil", () => {
    const c = opened();
    expect(advanceCircuit(c, 30_004)).toBe(c);
    const h = advanceCircuit(c, 30_005);
    expect(h).toMatchObject({ state: "half_open", since: 30_005, openUntil: null, reason: "cooldown_elapsed", probesInFlight: 0 });
    expect(advanceCircuit(c, 99_000)).toMatchObject({ state: "half_open", since: 30_005 });
    expect(h.history.at(-1)).toEqual({ at: 30_005, from: "open", to: "half_open", reason: "cooldown_elapsed", detail: "cool-down of 30000 ms elapsed" });
  });

  it("ignores outcomes while open: nothing was admitted", () => {
    const c = opened();
    expect(feed(c, [ok(10), ok(11), fail(12)])).toEqual(c);
  });

  it("admits one probe at a time while half-open and closes after two successes", () => {
    let c = opened();
    const denied = tryAcquire(c, 30_004);
    expect(denied.allowed).toBe(false);
    const first = tryAcquire(c, 31_000);
    expect(first).toMatchObject({ allowed: true, circuit: { state: "half_open", probesInFlight: 1 } });
    expect(tryAcquire(first.circuit, 31_001).allowed).toBe(false); // one probe in flight
    c = recordOutcome(first.circuit, ok(31_000));
    expect(c).toMatchObject({ state: "half_open", consecutiveSuccesses: 1, probesInFlight: 0 });
    const second = tryAcquire(c, 32_000);
    expect(second.allowed).toBe(true);
    c = recordOutcome(second.circuit, ok(32_000));
    expect(c).toMatchObject({
      state: "closed",
      since: 32_000,
      openUntil: null,
      reason: "probes_succeeded",
      cooldownMs: 30_000,
      consecutiveFailures: 0,
      window: { samples: 0, errorRate: 0 },
    });
    expect(c.history.map((t) => [t.from, t.to, t.reason, t.at])).toEqual([
      ["closed", "open", "consecutive_failures", 5],
      ["open", "half_open", "cooldown_elapsed", 30_005],
      ["half_open", "closed", "probes_succeeded", 32_000],
    ]);
  });

  it("admits as many concurrent probes as configured", () => {
    const o = opts({ halfOpenMaxProbes: 2 });
    const a = tryAcquire(opened(), 40_000, o);
    const b = tryAcquire(a.circuit, 40_000, o);
    expect([a.allowed, b.allowed, tryAcquire(b.circuit, 40_000, o).allowed]).toEqual([true, true, false]);
  });

  it("re-opens on a failed probe, doubling the cool-down up to the cap, and resets it on close", () => {
    let c = opened();
    const cooldowns: number[] = [c.openUntil! - c.since];
    for (let i = 0; i < 5; i++) {
      const probeAt = c.openUntil!;
      c = recordOutcome(c, fail(probeAt, "status_5xx"));
      expect(c).toMatchObject({ state: "open", since: probeAt, reason: "probe_failed" });
      cooldowns.push(c.openUntil! - c.since);
    }
    expect(cooldowns).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    expect(c.history.at(-1)!.detail).toBe("probe failed (status_5xx); cool-down 300000 ms");
    const t = c.openUntil!;
    c = feed(c, [ok(t), ok(t + 1)]);
    expect(c).toMatchObject({ state: "closed", cooldownMs: 30_000 });
    c = feed(c, [1, 2, 3, 4, 5].map((i) => fail(t + 10 + i)));
    expect(c).toMatchObject({ state: "open", since: t + 15, openUntil: t + 15 + 30_000 });
  });

  it("ignores outcomes of attempts that started before the current state", () => {
    const closed = feed(opened(), [ok(30_005), ok(30_006)]);
    expect(closed).toMatchObject({ state: "closed", since: 30_006 });
    // The failures that opened it, arriving again late from a slow isolate, change nothing.
    expect(feed(closed, [1, 2, 3, 4, 5].map((t) => fail(t)))).toEqual(closed);
  });

  it("keeps the last 50 transitions", () => {
    let c = opened();
    for (let i = 0; i < 40; i++) c = recordOutcome(c, fail(c.openUntil!)); // half_open + open each time
    expect(c.history).toHaveLength(HISTORY_LIMIT);
    expect(c.history.at(-1)).toMatchObject({ from: "half_open", to: "open", at: c.since });
    for (let i = 1; i < c.history.length; i++) expect(c.history[i]!.from).toBe(c.history[i - 1]!.to);
  });
});

describe("admissionOf (an isolate's view)", () => {
  it.each<[string, { state: CircuitStateName; openUntil: number | null }, number, number, string]>([
    ["closed", { state: "closed", openUntil: null }, 0, 5, "allow"],
    ["open, cooling down", { state: "open", openUntil: 5_000 }, 4_999, 0, "deny"],
    ["open, cool-down over: probe", { state: "open", openUntil: 5_000 }, 5_000, 0, "probe"],
    ["half-open, no probe of ours in flight", { state: "half_open", openUntil: null }, 9_000, 0, "probe"],
    ["half-open, our probe in flight", { state: "half_open", openUntil: null }, 9_000, 1, "deny"],
  ])("%s", (_, view, at, probes, expected) => {
    expect(admissionOf(view, at, probes)).toBe(expected);
  });
});

// Issue #12: six oversized prompts of one tenant, each timing out, opened both origins' circuits.
describe("no tenant opens a circuit alone", () => {
  it("blames nobody, then one tenant, then the origin once a second tenant or a probe fails", () => {
    const nobody = { on: "nobody" } as const;
    const acme = blameWith(nobody, "acme");
    expect(acme).toEqual({ on: "tenant", tenant: "acme" });
    expect(blameWith(acme, "acme")).toEqual(acme);
    expect(blameWith(acme, "globex")).toEqual({ on: "origin" });
    expect(blameWith(acme, undefined)).toEqual({ on: "origin" });
    expect(blameWith(nobody, undefined)).toEqual({ on: "origin" });
    expect(blameWith({ on: "origin" }, "acme")).toEqual({ on: "origin" });
  });

  it("keeps a closed circuit closed on any number of one tenant's failures, awaiting a probe", () => {
    const c = feed(initialCircuit(), [1, 2, 3, 4, 5, 6, 7].map((t) => failOf("acme", t)));
    expect(c).toMatchObject({ state: "closed", consecutiveFailures: 7, streakBlame: { on: "tenant", tenant: "acme" }, awaitingProbe: true, history: [] });
    // Four failures are not yet a rule's worth: nothing to confirm.
    expect(feed(initialCircuit(), [1, 2, 3, 4].map((t) => failOf("acme", t))).awaitingProbe).toBe(false);
  });

  it("opens on a probe's failure after them, and a probe's success clears the suspicion", () => {
    const suspect = feed(initialCircuit(), [1, 2, 3, 4, 5].map((t) => failOf("acme", t)));
    expect(recordOutcome(suspect, fail(6, "connect_error"))).toMatchObject({
      state: "open",
      since: 6,
      openUntil: 30_006,
      awaitingProbe: false,
      history: [{ at: 6, from: "closed", to: "open", reason: "consecutive_failures", detail: "6 consecutive failures (last: connect_error)" }],
    });
    expect(recordOutcome(suspect, ok(6))).toMatchObject({ state: "closed", consecutiveFailures: 0, streakBlame: { on: "nobody" }, awaitingProbe: false });
  });

  it("opens on the fifth consecutive failure when two tenants share them", () => {
    const four = feed(initialCircuit(), [failOf("acme", 1), failOf("acme", 2), failOf("acme", 3), failOf("globex", 4)]);
    expect(four).toMatchObject({ state: "closed", streakBlame: { on: "origin" }, awaitingProbe: false });
    expect(recordOutcome(four, failOf("acme", 5))).toMatchObject({ state: "open", since: 5, reason: "consecutive_failures" });
  });

  it("weighs on the rate rule only the failures since the rate was last acceptable", () => {
    const o = opts({ failureThreshold: 100, minSamples: 3, errorRateThreshold: 0.5, errorRateAlpha: 0.5 });
    // globex's failure is forgotten once successes bring the rate back to 0.5 or below:
    // rates 1 (globex) → 0.5 → 0.25 → 0.625 (acme) → 0.8125 (acme), the last two acme's alone.
    const held = feed(initialCircuit(), [failOf("globex", 1), ok(2), ok(3), failOf("acme", 4), failOf("acme", 5)], o);
    expect(held).toMatchObject({ state: "closed", window: { samples: 5, errorRate: 0.8125, blame: { on: "tenant", tenant: "acme" } }, awaitingProbe: true });
    expect(recordOutcome(held, failOf("initech", 6), o)).toMatchObject({
      state: "open",
      history: [{ at: 6, reason: "error_rate", detail: "error rate 0.906 > 0.5 over 6 samples" }],
    });
  });

  it("keeps a half-open circuit half-open on one tenant's failure, without undoing its successes", () => {
    const o = opts({ halfOpenSuccesses: 2 });
    const half = advanceCircuit(opened(), 30_005);
    const oneOk = recordOutcome(tryAcquire(half, 30_010, o).circuit, ok(30_010), o);
    const held = recordOutcome(tryAcquire(oneOk, 30_020, o).circuit, failOf("acme", 30_020), o);
    expect(held).toMatchObject({ state: "half_open", consecutiveSuccesses: 1, probesInFlight: 0, streakBlame: { on: "tenant", tenant: "acme" }, awaitingProbe: true });
    expect(recordOutcome(held, ok(30_030), o)).toMatchObject({ state: "closed", reason: "probes_succeeded", awaitingProbe: false });
    // A second tenant's failure, or a probe's, re-opens it.
    expect(recordOutcome(held, failOf("globex", 30_030), o)).toMatchObject({ state: "open", reason: "probe_failed", cooldownMs: 60_000 });
    expect(recordOutcome(held, fail(30_030), o)).toMatchObject({ state: "open", reason: "probe_failed" });
  });

  it("reads a circuit stored before blame existed as blaming the origin", () => {
    const { streakBlame: _s, awaitingProbe: _a, ...stored } = feed(initialCircuit(), [1, 2, 3, 4].map((t) => fail(t)));
    const legacy: Circuit = { ...stored, window: { samples: stored.window.samples, errorRate: stored.window.errorRate } };
    expect(recordOutcome(legacy, failOf("acme", 5))).toMatchObject({ state: "open", reason: "consecutive_failures" });
  });
});

type Op = { kind: "outcome"; ok: boolean; dt: number; late: number } | { kind: "acquire"; dt: number } | { kind: "wait"; dt: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("outcome" as const), ok: fc.boolean(), dt: fc.integer({ min: 0, max: 500 }), late: fc.integer({ min: 0, max: 2_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("acquire" as const), dt: fc.integer({ min: 0, max: 500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait" as const), dt: fc.integer({ min: 0, max: 600_000 }) }) },
);

const options: fc.Arbitrary<CircuitOptionsInput> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 6 }),
  errorRateThreshold: fc.double({ min: 0.05, max: 1, noNaN: true }),
  minSamples: fc.integer({ min: 1, max: 25 }),
  errorRateAlpha: fc.double({ min: 0.01, max: 1, noNaN: true }),
  cooldownMs: fc.integer({ min: 1, max: 60_000 }),
  halfOpenMaxProbes: fc.integer({ min: 1, max: 3 }),
  halfOpenSuccesses: fc.integer({ min: 1, max: 3 }),
});

const ALLOWED = new Set(["closed>open", "open>half_open", "half_open>closed", "half_open>open"]);

describe("circuit properties", () => {
  it("never goes closed → half_open, and an open circuit always ends after it began", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(options, fc.array(op, { maxLength: 200 }), (input, ops) => {
        const o = opts(input);
        let c = initialCircuit(0, o);
        let clock = 0;
        const check = (s: Circuit) => {
          if (s.state === "open") expect(s.openUntil).toBeGreaterThan(s.since);
          else expect(s.openUntil).toBeNull();
          expect(s.history.length).toBeLessThanOrEqual(HISTORY_LIMIT);
          s.history.forEach((t, i) => {
            expect(ALLOWED.has(`${t.from}>${t.to}`), `${t.from} → ${t.to}`).toBe(true);
            seen.add(`${t.from}>${t.to}`);
            if (i > 0) {
              expect(t.from).toBe(s.history[i - 1]!.to);
              expect(t.at).toBeGreaterThanOrEqual(s.history[i - 1]!.at);
            }
          });
          expect(s.probesInFlight).toBeLessThanOrEqual(o.halfOpenMaxProbes);
        };
        for (const x of ops) {
          clock += x.dt;
          if (x.kind === "outcome") c = recordOutcome(c, { at: Math.max(0, clock - x.late), ok: x.ok }, o);
          else if (x.kind === "acquire") c = tryAcquire(c, clock, o).circuit;
          else c = advanceCircuit(c, clock);
          check(c);
        }
      }),
      { numRuns: 300 },
    );
    // The runs reached every edge, so the property was not vacuous.
    expect([...seen].sort()).toEqual([...ALLOWED].sort());
  });

  it("never opens a closed circuit on one tenant's failures, whatever else succeeds", () => {
    // Outcomes: the tenant's failures, anyone's successes, probes' successes, in any order and at
    // any time; a failure of nobody's (a probe's) is the only thing that could open it.
    const outcome = fc.record({ who: fc.constantFrom("acme-fails", "someone-succeeds", "probe-succeeds"), dt: fc.integer({ min: 0, max: 120_000 }) });
    fc.assert(
      fc.property(options, fc.array(outcome, { maxLength: 300 }), (input, outcomes) => {
        const o = opts(input);
        let c = initialCircuit(0, o);
        let clock = 0;
        for (const x of outcomes) {
          clock += x.dt;
          c = recordOutcome(c, x.who === "acme-fails" ? failOf("acme", clock) : x.who === "someone-succeeds" ? { ...ok(clock), tenant: "globex" } : ok(clock), o);
          expect(c.state).toBe("closed");
        }
        expect(c.history).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
