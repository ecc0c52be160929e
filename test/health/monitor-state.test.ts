/**
 * The monitor's pure steps: decode speed's guards, which samples feed which EWMA, time order, and
 * the tenant cap with the probes it asks for (issue #12).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { afterBatch, applySample, decodeSpeed, initialMonitorState, inTimeOrder, snapshotOf, type MonitorState } from "../../src/health/monitor-state";
import { healthOptionsSchema, type HealthOptionsInput, type HealthSample } from "../../src/health/types";

describe("decodeSpeed", () => {
  it.each<[string, Partial<HealthSample>, number | undefined]>([
    ["100 tokens in 2 s after the first", { ttftMs: 500, latencyMs: 2_500, outputTokens: 100 }, 50],
    ["no TTFT", { latencyMs: 2_500, outputTokens: 100 }, undefined],
    ["no latency", { ttftMs: 500, outputTokens: 100 }, undefined],
    ["no tokens", { ttftMs: 500, latencyMs: 2_500 }, undefined],
    ["zero tokens", { ttftMs: 500, latencyMs: 2_500, outputTokens: 0 }, undefined],
    ["no decode time", { ttftMs: 500, latencyMs: 500, outputTokens: 1 }, undefined],
  ])("%s", (_, sample, expected) => {
    expect(decodeSpeed(sample)).toBe(expected);
  });
});

describe("applySample", () => {
  const full = { ttftMs: 100, latencyMs: 1_100, outputTokens: 10 };
  it.each<[string, HealthSample, { ttft: boolean; latency: boolean; tps: boolean; errors: number }]>([
    ["a success feeds every metric", { at: 0, ok: true, kind: "ok", ...full }, { ttft: true, latency: true, tps: true, errors: 0 }],
    ["a failure feeds only the error rate", { at: 0, ok: false, kind: "broken", ...full }, { ttft: false, latency: false, tps: false, errors: 1 }],
    ["a probe feeds only the error rate", { at: 0, ok: true, kind: "ok", probe: true, ...full }, { ttft: false, latency: false, tps: false, errors: 0 }],
  ])("%s", (_, sample, fed) => {
    const s = applySample(initialMonitorState("o"), sample);
    expect({ ttft: s.ttft !== null, latency: s.latency !== null, tps: s.tokensPerSec !== null, errors: s.errors!.mean }).toEqual(fed);
    expect(s.samples).toBe(1);
    expect(s.hourlyTtft[0] !== null).toBe(fed.ttft);
  });

  it("keeps the TTFT with nothing cached apart: each TTFT over its uncached share, from samples that report cached tokens", () => {
    const prefix = (promptTokens: number, reportedTokens: number) => ({ scenario: "chat", placement: "sticky" as const, promptTokens, predictedTokens: 0, reportedTokens });
    let s = applySample(initialMonitorState("o"), { at: 0, ok: true, kind: "ok", ttftMs: 100 });
    expect(s.coldTtft ?? null).toBeNull();
    // 3,000 of 4,000 tokens cached: 100 ms is a quarter of the uncached TTFT, 400 ms.
    s = applySample(s, { at: 1, ok: true, kind: "ok", ttftMs: 100, prefix: prefix(4_000, 3_000) });
    expect(s.coldTtft).toMatchObject({ mean: 400, samples: 1 });
    // All cached counts as the floor (a fifth); a cold one as it is.
    s = applySample(initialMonitorState("o"), { at: 1, ok: true, kind: "ok", ttftMs: 50, prefix: prefix(4_000, 4_000) });
    expect(s.coldTtft!.mean).toBe(250);
    s = applySample(initialMonitorState("o"), { at: 1, ok: true, kind: "ok", ttftMs: 900, prefix: prefix(4_000, 0) });
    expect(s.coldTtft!.mean).toBe(900);
    // The raw TTFT EWMA still sees every success as it was.
    expect(s.ttft!.mean).toBe(900);
  });

  it("orders samples by start time, keeping equal instants in their order", () => {
    const s = (at: number, kind: HealthSample["kind"]): HealthSample => ({ at, ok: kind === "ok", kind });
    expect(inTimeOrder([s(3, "ok"), s(1, "timeout"), s(3, "broken"), s(2, "ok")]).map((x) => `${x.at}${x.kind}`)).toEqual([
      "1timeout",
      "2ok",
      "3ok",
      "3broken",
    ]);
  });
});

const stateWith = (options: HealthOptionsInput = {}): MonitorState => initialMonitorState("o", healthOptionsSchema.parse(options));
const failOf = (tenant: string, at: number, kind: HealthSample["kind"] = "timeout"): HealthSample => ({ at, ok: false, kind, tenant });
const probe = (at: number, ok: boolean): HealthSample => (ok ? { at, ok, kind: "ok", probe: true } : { at, ok, kind: "connect_error", probe: true });
const applyAll = (state: MonitorState, samples: HealthSample[]) => samples.reduce(applySample, state);

// Issue #12: six oversized prompts of one tenant, each timing out, opened both origins' circuits.
describe("a tenant's failures past its cap", () => {
  it("are attributed to the tenant: neither the breaker nor the error rate sees them", () => {
    const s = applyAll(stateWith(), [1, 2, 3, 4, 5, 6].map((t) => failOf("acme", 1_000 + t)));
    expect(snapshotOf(s, 2_000, 0)).toMatchObject({
      circuit: { state: "closed" },
      consecutiveFailures: 2,
      errorRate: 1,
      samples: 2,
      attributedToTenants: 4,
      lastAttributed: { tenant: "acme", at: 1_006, kind: "timeout" },
    });
    expect(s.tenantFailures).toEqual({ acme: [1_001, 1_002] });
  });

  it("successes always count, and so do probes", () => {
    const s = applyAll(stateWith({ alpha: 0.5 }), [failOf("acme", 1), failOf("acme", 2), failOf("acme", 3), { at: 4, ok: true, kind: "ok", ttftMs: 10 }, probe(5, false)]);
    // Errors 1, 1, 0, 1 with α 0.5: 1 → 1 → 0.5 → 0.75.
    expect(snapshotOf(s, 10, 0)).toMatchObject({ samples: 4, errorRate: 0.75, consecutiveFailures: 1, attributedToTenants: 1 });
  });

  it("count again once the window has slid past the counted ones", () => {
    const s = applyAll(stateWith({ circuit: { tenantFailureCap: 1, tenantWindowMs: 10_000 } }), [failOf("acme", 0), failOf("acme", 9_999), failOf("acme", 10_000)]);
    expect(snapshotOf(s, 10_000, 0)).toMatchObject({ samples: 2, attributedToTenants: 1, consecutiveFailures: 2, lastAttributed: { at: 9_999 } });
  });
});

describe("afterBatch", () => {
  const T = 1_000_000;

  it("asks for a probe when a failure was attributed, at most once per probeGapMs", () => {
    const s = applyAll(stateWith(), [failOf("acme", T), failOf("acme", T + 1), failOf("acme", T + 2)]);
    const first = afterBatch(s, 0, T + 100);
    expect(first.probe).toBe(true);
    expect(first.state.probeGrantedAt).toBe(T + 100);
    const more = applySample(first.state, failOf("acme", T + 200));
    expect(afterBatch(more, 1, T + 2_099).probe).toBe(false);
    expect(afterBatch(more, 1, T + 2_100)).toMatchObject({ probe: true, state: { probeGrantedAt: T + 2_100 } });
    // Nothing attributed in this batch, nothing awaiting: no probe.
    expect(afterBatch(more, 2, T + 10_000).probe).toBe(false);
    // A grant stamped by a clock far ahead does not block grants until that clock is reached.
    expect(afterBatch({ ...more, probeGrantedAt: T + 3_600_000 }, 1, T + 3_000).probe).toBe(true);
  });

  it("asks for a probe while a rule awaits one, and not while the circuit is open", () => {
    // A cap of 5 with a threshold of 3: acme's own failures trip the rule, which awaits a probe.
    const suspect = applyAll(stateWith({ circuit: { failureThreshold: 3, tenantFailureCap: 5 } }), [1, 2, 3].map((t) => failOf("acme", T + t)));
    expect(suspect.circuit).toMatchObject({ state: "closed", awaitingProbe: true });
    expect(afterBatch(suspect, 0, T + 10).probe).toBe(true);
    const open = applySample(suspect, probe(T + 20, false));
    expect(open.circuit.state).toBe("open");
    expect(afterBatch(applySample(open, failOf("acme", T + 30)), 0, T + 40).probe).toBe(false);
  });

  it("forgets tenants whose counted failures are a window old", () => {
    const s = applyAll(stateWith(), [failOf("acme", T), failOf("globex", T + 30_000)]);
    expect(afterBatch(s, 0, T + 60_000).state.tenantFailures).toEqual({ globex: [T + 30_000] });
  });
});

describe("tenant cap properties", () => {
  const thresholds = fc.record({ failureThreshold: fc.integer({ min: 1, max: 8 }), tenantFailureCap: fc.integer({ min: 0, max: 4 }) });

  it("never opens on one tenant's failures, whatever succeeds around them, without a probe failing", () => {
    const sample = fc.record({ what: fc.constantFrom("acme-fails", "globex-succeeds", "probe-succeeds"), dt: fc.integer({ min: 0, max: 90_000 }) });
    fc.assert(
      fc.property(thresholds, fc.array(sample, { maxLength: 300 }), (circuit, samples) => {
        let s = stateWith({ circuit: { ...circuit, minSamples: 1 } });
        let clock = 0;
        for (const x of samples) {
          clock += x.dt;
          s = applySample(s, x.what === "acme-fails" ? failOf("acme", clock) : x.what === "probe-succeeds" ? probe(clock, true) : { at: clock, ok: true, kind: "ok" });
          expect(s.circuit.state).toBe("closed");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("opens on failures spread over ⌈threshold / cap⌉ tenants (two at least), and not over fewer", () => {
    fc.assert(
      fc.property(
        fc.record({ failureThreshold: fc.integer({ min: 1, max: 8 }), tenantFailureCap: fc.integer({ min: 1, max: 4 }) }),
        fc.infiniteStream(fc.nat()),
        (circuit, picks) => {
          const n = Math.max(2, Math.ceil(circuit.failureThreshold / circuit.tenantFailureCap));
          // Each of n tenants fails cap + 1 times within one window, interleaved at random; the rate rule is off.
          const pending = Array.from({ length: n }, (_, i) => Array.from({ length: circuit.tenantFailureCap + 1 }, () => `t${i}`)).flat();
          const order: string[] = [];
          const draw = picks[Symbol.iterator]();
          while (pending.length > 0) order.push(pending.splice(draw.next().value % pending.length, 1)[0]!);
          const options = { circuit: { ...circuit, errorRateThreshold: 1 } };
          const all = applyAll(stateWith(options), order.map((tenant, i) => failOf(tenant, 1_000 + i)));
          expect(all.circuit).toMatchObject({ state: "open", reason: "consecutive_failures" });
          // One tenant fewer: under the threshold by the cap, or one tenant alone.
          const fewer = applyAll(stateWith(options), order.filter((t) => t !== "t0").map((tenant, i) => failOf(tenant, 1_000 + i)));
          expect(fewer.circuit.state).toBe("closed");
        },
      ),
      { numRuns: 300 },
    );
  });
});
