/** The monitor's pure steps: decode speed's guards, which samples feed which EWMA, and time order. */
import { describe, expect, it } from "vitest";
import { applySample, decodeSpeed, initialMonitorState, inTimeOrder } from "../../src/health/monitor-state";
import type { HealthSample } from "../../src/health/types";

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
