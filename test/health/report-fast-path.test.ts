/**
 * The health report's fast path (src/health/report-fast-path.ts) against zod, in workerd as
 * deployed: on every generated report it either declines or returns what `healthReportSchema`
 * returns; and the reports our isolates send do take it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reportFastPath } from "../../src/health/report-fast-path";
import { healthReportSchema, PLACEMENTS, SAMPLE_KINDS } from "../../src/health/types";

/** Values a field may hold, valid for some field or for none. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -0, 1, -1, 1.5, 64, 65, 200, 201, 500, 1_000_000, 1_000_001, 86_400_000, 86_400_001, 10_000_000, 100_000_001, Number.MAX_SAFE_INTEGER, 2 ** 53, Infinity, NaN, "", "a", "x".repeat(64), "x".repeat(65), "x".repeat(201), "ok", "sticky", "passed", [], {}),
  fc.constantFrom(...SAMPLE_KINDS, ...PLACEMENTS),
  fc.string({ maxLength: 4 }),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);
const otherKey = fc.constantFrom("extra", "__proto__", "constructor", "0", "gate", "scenario", "at", "options");

/** `valid`, or with `hostile` now and then any value; with `hostile`, objects may gain other keys. */
function arbitraries(hostile: boolean) {
  const mostly = <T,>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => (hostile ? fc.oneof({ weight: 10, arbitrary: valid }, { weight: 1, arbitrary: anyValue }) : valid);
  const withExtra = <T extends object>(base: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    hostile
      ? fc.tuple(base, fc.option(fc.tuple(otherKey, anyValue), { freq: 8 })).map(([b, extra]) => {
          if (!extra) return b;
          const o = { ...b } as Record<string, unknown>;
          Object.defineProperty(o, extra[0], { value: extra[1], enumerable: true, writable: true, configurable: true });
          return o;
        })
      : base;
  const name = mostly(fc.oneof(fc.constantFrom("pool", "chat-default", "x".repeat(64)), fc.string({ minLength: 1, maxLength: 8 })));
  const count = (max: number) => mostly(fc.integer({ min: 0, max }));
  const millis = mostly(fc.oneof(fc.integer({ min: 0, max: 86_400_000 }), fc.double({ min: 0, max: 86_400_000, noNaN: true })));
  const prefix = withExtra(
    fc.record({ scenario: name, placement: mostly(fc.constantFrom(...PLACEMENTS)), promptTokens: count(100_000_000), predictedTokens: count(100_000_000), reportedTokens: count(100_000_000) }, { requiredKeys: hostile ? [] : undefined }),
  );
  const outcome = withExtra(fc.record({ scenario: name, gate: mostly(fc.constantFrom("passed", "failed")) }, { requiredKeys: hostile ? [] : ["scenario"] }));
  const sample = fc
    .record(
      {
        at: count(Number.MAX_SAFE_INTEGER),
        kind: fc.constantFrom(...SAMPLE_KINDS),
        ttftMs: millis,
        latencyMs: millis,
        outputTokens: count(10_000_000),
        probe: fc.boolean(),
        tenant: name,
        prefix,
        outcome,
      },
      { requiredKeys: ["at", "kind"] },
    )
    .chain((s) => {
      // A valid sample: ok exactly when its kind is, and a probe names no tenant.
      const valid: Record<string, unknown> = { ...s, ok: s.kind === "ok" };
      if (valid.probe && valid.tenant !== undefined) delete valid.probe;
      return hostile ? fc.record({ ok: fc.boolean(), probe: fc.option(fc.boolean(), { nil: undefined }) }).map((h) => withKeys(valid, h)) : fc.constant(valid);
    });
  const options = fc.option(withExtra(fc.record({ alpha: mostly(fc.double({ min: 0.01, max: 1, noNaN: true })), timeZone: mostly(fc.constantFrom("UTC", "Europe/Paris", ...(hostile ? ["Mars/Olympus"] : []))) }, { requiredKeys: [] })), {
    nil: undefined,
  });
  return fc
    .record({
      batchId: mostly(fc.string({ minLength: 1, maxLength: 12 })),
      origin: name,
      isolateId: mostly(fc.uuid()),
      at: count(Number.MAX_SAFE_INTEGER),
      inFlight: count(1_000_000),
      samples: mostly(fc.array(hostile ? fc.oneof({ weight: 10, arbitrary: withExtra(sample) }, { weight: 1, arbitrary: anyValue }) : sample, { maxLength: 6 })),
      options,
    })
    .map((r) => {
      const report: Record<string, unknown> = { ...r };
      if (r.options === undefined) delete report.options;
      return report;
    })
    .chain((r) => (hostile ? withExtra(fc.constant(r)) : fc.constant(r)));
}

/** `valid` with the keys of `changes` set (an `undefined` value deletes the key, or keeps it at random). */
function withKeys(valid: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out = { ...valid };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

describe("the health report's fast path", () => {
  it("declines or agrees with zod on any report", () => {
    fc.assert(
      fc.property(arbitraries(true), (report) => {
        const fast = reportFastPath(report);
        if (fast === undefined) return;
        const zod = healthReportSchema.safeParse(report);
        expect(zod.success).toBe(true);
        expect(fast).toStrictEqual(zod.data);
      }),
      { numRuns: 3000 },
    );
  });

  it("takes every valid report, with what zod returns", () => {
    fc.assert(
      fc.property(arbitraries(false), (report) => {
        const zod = healthReportSchema.safeParse(report);
        expect(zod.success).toBe(true);
        expect(reportFastPath(report)).toStrictEqual(zod.data);
      }),
      { numRuns: 1000 },
    );
  });

  it("takes a reporter's batch and leaves the edge cases to zod", () => {
    const sample = { at: 1, ok: true, kind: "ok", ttftMs: 12, latencyMs: 40, outputTokens: 16, prefix: { scenario: "s", placement: "sticky", promptTokens: 100, predictedTokens: 64, reportedTokens: 64 }, outcome: { scenario: "s" } };
    const report = { batchId: "i:1", origin: "pool", isolateId: "i", at: 2, inFlight: 0, samples: [sample, { at: 1, ok: false, kind: "timeout", latencyMs: 5, tenant: "t" }], options: { alpha: 0.5 } };
    expect(reportFastPath(report)).toStrictEqual(healthReportSchema.parse(report));
    expect(reportFastPath({ ...report, options: undefined })).toBeUndefined();
    expect(reportFastPath({ ...report, samples: [{ ...sample, ttftMs: undefined }] })).toBeUndefined();
    expect(reportFastPath({ ...report, samples: [{ ...sample, ok: false }] })).toBeUndefined();
    expect(reportFastPath({ ...report, samples: [{ ...sample, kind: "timeout", ok: false, probe: true, tenant: "t" }] })).toBeUndefined();
    expect(reportFastPath({ ...report, options: { alpha: 0 } })).toBeUndefined();
  });
});
