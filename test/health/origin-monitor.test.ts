/**
 * The OriginMonitor through real Durable Object stubs, one object per test: batches applied in
 * time order, a retried batch applied once, the snapshot's contents to the last digit, in-flight
 * counts summed across isolates and expired, the breaker's transitions, and refused batches.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HealthReport, HealthSample } from "../../src/health/types";

let counter = 0;
/** A fresh monitor name per test: objects are never shared between tests. */
const uniqueOrigin = () => `mon-${Date.now().toString(36)}-${(counter++).toString(36)}`;
const monitorOf = (origin: string) => env.ORIGIN_MONITOR.getByName(origin);

// Monday 2026-01-05, 09:15 UTC.
const T0 = Date.UTC(2026, 0, 5, 9, 15);

function batch(origin: string, samples: HealthSample[], extra: Partial<HealthReport> = {}): HealthReport {
  return { batchId: crypto.randomUUID(), origin, isolateId: "iso-a", at: T0 + 60_000, inFlight: 0, samples, ...extra };
}

const okSample = (at: number, more: Partial<HealthSample> = {}): HealthSample => ({ at, ok: true, kind: "ok", ...more });
const failSample = (at: number, kind: HealthSample["kind"] = "timeout"): HealthSample => ({ at, ok: false, kind });

/** The error an RPC call failed with (awaited here, so no rejection is left unhandled). */
async function failure(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the call to fail");
}

describe("OriginMonitor", () => {
  it("applies a batch's samples in the order their attempts started", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    // Sent newest first. In time order with α = 0.5: 100 → 150 (var 2500) → 225 (var 0.5·(2500 + 150·75) = 6875);
    // in the order sent it would end at 175.
    const samples = [300, 200, 100].map((ttft, i) => okSample(T0 + (3 - i) * 1000, { ttftMs: ttft }));
    expect(await m.report(batch(origin, samples, { options: { alpha: 0.5 } }))).toEqual({ applied: 3, duplicate: false, probe: false });
    const snap = await m.snapshot(T0 + 60_000);
    expect(snap.ttftMs).toEqual({ mean: 225, variance: 6875, cv: Math.sqrt(6875) / 225 });
    // The breaker too: F F S F F F in time order is three in a row, not five.
    const o2 = uniqueOrigin();
    const mixed = [okSample(T0 + 3), ...[1, 2, 4, 5, 6].map((t) => failSample(T0 + t))];
    await monitorOf(o2).report(batch(o2, mixed));
    expect((await monitorOf(o2).snapshot(T0 + 60_000)).circuit.state).toBe("closed");
    expect((await monitorOf(o2).snapshot(T0 + 60_000)).consecutiveFailures).toBe(3);
  });

  it("ignores a batch id it has already applied", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    const b = batch(origin, [okSample(T0, { ttftMs: 100 }), failSample(T0 + 1)], { inFlight: 4 });
    expect(await m.report(b)).toEqual({ applied: 2, duplicate: false, probe: false });
    expect(await m.report({ ...b, inFlight: 9 })).toEqual({ applied: 0, duplicate: true, probe: false });
    const snap = await m.snapshot(T0 + 60_000);
    expect(snap).toMatchObject({ samples: 2, inFlight: 4, errorRate: 0.1 });
  });

  it("keeps the TTFT with nothing cached, from the samples that report cached tokens", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    const prefix = { scenario: "chat", placement: "sticky" as const, promptTokens: 4_000, predictedTokens: 3_000, reportedTokens: 3_000 };
    await m.report(batch(origin, [okSample(T0, { ttftMs: 100, prefix }), okSample(T0 + 1, { ttftMs: 70 })], { options: { alpha: 0.5 } }));
    // 100 ms with 3 of 4 tokens cached: 400 ms cold. The sample without a report does not count.
    expect((await m.snapshot(T0 + 2)).coldTtftMs).toEqual({ mean: 400, variance: 0, cv: 0, samples: 1 });
  });

  it("reports a snapshot with every EWMA, the hour-of-day profile and the circuit", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    const sentAt = Date.UTC(2026, 0, 5, 10, 0, 1);
    const samples: HealthSample[] = [
      okSample(T0, { ttftMs: 100, latencyMs: 1100, outputTokens: 50 }), // 50 tokens in 1 s
      okSample(T0 + 1000, { ttftMs: 300, latencyMs: 2300, outputTokens: 160 }), // 160 tokens in 2 s
      { at: T0 + 2000, ok: false, kind: "timeout", latencyMs: 400 }, // a failure's latency is not a latency
      { at: T0 + 3000, ok: true, kind: "ok", latencyMs: 5, probe: true }, // nor is a probe's
      okSample(Date.UTC(2026, 0, 5, 10, 0), { ttftMs: 200 }),
    ];
    await m.report(batch(origin, samples, { at: sentAt, inFlight: 2, options: { alpha: 0.5 } }));
    expect(await m.snapshot(sentAt + 1000)).toEqual({
      origin,
      circuit: { state: "closed", since: 0, openUntil: null, reason: "initial" },
      // 100 → 200 (var 10 000) → 200 (var 5 000)
      ttftMs: { mean: 200, variance: 5_000, cv: Math.sqrt(5_000) / 200 },
      // None of these samples reports cached tokens.
      coldTtftMs: null,
      // 1100 → 1700 (var 0.5·1200·600 = 360 000)
      latencyMs: { mean: 1_700, variance: 360_000, cv: 600 / 1_700 },
      // 50 → 65 (var 0.5·30·15 = 225)
      tokensPerSec: { mean: 65, variance: 225, cv: 15 / 65 },
      // 0, 0, 1, 0, 0 → 0, 0, 0.5, 0.25, 0.125
      errorRate: 0.125,
      consecutiveFailures: 0,
      attributedToTenants: 0,
      lastAttributed: null,
      inFlight: 2,
      samples: 5,
      hourlyTtftMs: Array.from({ length: 24 }, (_, h) => (h === 9 ? { mean: 200, samples: 2 } : h === 10 ? { mean: 200, samples: 1 } : null)),
      updatedAt: sentAt,
      canaryStops: {},
      prefixCache: {},
      outcomes: {},
    });
  });

  it("records a canary stop once, keeps it, and forgets it when resumed", async () => {
    const m = env.ORIGIN_MONITOR.getByName(`canary-${crypto.randomUUID().slice(0, 8)}`);
    expect(await m.stopCanary("chat", "error rate 0.6 > 0.5", 1_000)).toEqual({ at: 1_000, reason: "error rate 0.6 > 0.5" });
    expect(await m.stopCanary("chat", "a later reason", 2_000)).toEqual({ at: 1_000, reason: "error rate 0.6 > 0.5" });
    expect((await m.snapshot(3_000)).canaryStops).toEqual({ chat: { at: 1_000, reason: "error rate 0.6 > 0.5" } });
    expect(await m.resumeCanary("chat")).toBe(true);
    expect(await m.resumeCanary("chat")).toBe(false);
    expect((await m.snapshot(3_000)).canaryStops).toEqual({});
  });

  it("buckets hours in the origin's time zone", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    await m.report(batch(origin, [okSample(T0, { ttftMs: 80 })], { options: { timeZone: "Asia/Kathmandu" } })); // 09:15 UTC = 15:00 NPT
    const hourly = (await m.snapshot(T0 + 60_000)).hourlyTtftMs;
    expect(hourly.findIndex((h) => h !== null)).toBe(15);
  });

  it("sums in-flight counts of isolates that reported within 30 s", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    await m.report(batch(origin, [], { isolateId: "a", inFlight: 3, at: T0 }));
    await m.report(batch(origin, [], { isolateId: "b", inFlight: 2, at: T0 + 10_000 }));
    expect((await m.snapshot(T0 + 10_000)).inFlight).toBe(5);
    expect((await m.snapshot(T0 + 30_000)).inFlight).toBe(5); // a's report is exactly 30 s old
    expect((await m.snapshot(T0 + 30_001)).inFlight).toBe(2);
    expect((await m.snapshot(T0 + 40_001)).inFlight).toBe(0);
    // A newer report replaces the isolate's count; a late, older one does not.
    await m.report(batch(origin, [], { isolateId: "a", inFlight: 1, at: T0 + 20_000 }));
    await m.report(batch(origin, [], { isolateId: "a", inFlight: 7, at: T0 + 15_000 }));
    expect((await m.snapshot(T0 + 20_000)).inFlight).toBe(3);
  });

  it("records the breaker's transitions and dates half-open at the end of the cool-down", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    await m.report(batch(origin, [1, 2, 3, 4, 5].map((t) => failSample(T0 + t, "connect_error"))));
    const open = await m.snapshot(T0 + 1000);
    expect(open).toMatchObject({ circuit: { state: "open", since: T0 + 5, openUntil: T0 + 30_005, reason: "consecutive_failures" }, consecutiveFailures: 5, errorRate: 1 });
    expect(await m.transitions(10)).toEqual([
      { at: T0 + 5, from: "closed", to: "open", reason: "consecutive_failures", detail: "5 consecutive failures (last: connect_error)" },
    ]);
    // Noticed late, dated at openUntil all the same.
    expect((await m.snapshot(T0 + 45_000)).circuit).toEqual({ state: "half_open", since: T0 + 30_005, openUntil: null, reason: "cooldown_elapsed" });
    await m.report(batch(origin, [okSample(T0 + 46_000, { probe: true }), okSample(T0 + 47_000, { probe: true })]));
    expect((await m.snapshot(T0 + 48_000)).circuit).toEqual({ state: "closed", since: T0 + 47_000, openUntil: null, reason: "probes_succeeded" });
    expect((await m.transitions(50)).map((t) => `${t.from}>${t.to}@${t.at - T0}`)).toEqual(["half_open>closed@47000", "open>half_open@30005", "closed>open@5"]);
    expect(await m.transitions(1)).toHaveLength(1);
    expect(await m.transitions(0)).toEqual([]);
  });

  it("applies circuit options sent with a batch and keeps them", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    await m.report(batch(origin, [failSample(T0 + 1), failSample(T0 + 2)], { options: { circuit: { failureThreshold: 2, cooldownMs: 1_000 } } }));
    expect((await m.snapshot(T0 + 3)).circuit).toEqual({ state: "open", since: T0 + 2, openUntil: T0 + 1_002, reason: "consecutive_failures" });
    await m.report(batch(origin, [failSample(T0 + 1_100)])); // no options: the last ones hold (a failed probe doubles 1 s)
    expect((await m.snapshot(T0 + 1_101)).circuit).toMatchObject({ state: "open", since: T0 + 1_100, openUntil: T0 + 3_100 });
  });

  // Issue #12: six oversized prompts of one tenant, each timing out, opened both origins' circuits.
  it("attributes a tenant's failures past its cap, and asks for one probe per gap across isolates", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    const acme = (at: number): HealthSample => ({ at, ok: false, kind: "timeout", latencyMs: 1_000, tenant: "acme" });
    const sent = T0 + 100;
    const six = batch(origin, [1, 2, 3, 4, 5, 6].map((t) => acme(T0 + t)), { at: sent });
    expect(await m.report(six)).toEqual({ applied: 6, duplicate: false, probe: true });
    expect(await m.snapshot(sent)).toMatchObject({
      circuit: { state: "closed", reason: "initial" },
      consecutiveFailures: 2,
      errorRate: 1,
      samples: 2,
      attributedToTenants: 4,
      lastAttributed: { tenant: "acme", at: T0 + 6, kind: "timeout" },
    });
    // A retry is no new evidence: no probe.
    expect(await m.report(six)).toEqual({ applied: 0, duplicate: true, probe: false });
    // Another isolate, 1 999 ms later: the probe asked of iso-a answers for it too.
    expect(await m.report(batch(origin, [acme(T0 + 7)], { isolateId: "iso-b", at: sent + 1_999 }))).toMatchObject({ probe: false });
    expect(await m.report(batch(origin, [acme(T0 + 8)], { isolateId: "iso-b", at: sent + 2_000 }))).toMatchObject({ probe: true });
    // The probe finds the origin well: the run of failures is over, and nothing more to confirm.
    const probed = batch(origin, [{ at: sent + 2_010, ok: true, kind: "ok", latencyMs: 4, probe: true }], { isolateId: "iso-b", at: sent + 2_020 });
    expect(await m.report(probed)).toEqual({ applied: 1, duplicate: false, probe: false });
    expect(await m.snapshot(sent + 2_020)).toMatchObject({ circuit: { state: "closed" }, consecutiveFailures: 0, samples: 3, attributedToTenants: 6 });
    // A window after its last counted failure, the tenant is forgotten.
    await m.report(batch(origin, [], { at: T0 + 60_002 }));
    const stored = await runInDurableObject(m, (_, state) => JSON.parse(state.storage.sql.exec<{ state: string }>("SELECT state FROM monitor").one().state) as { tenantFailures: unknown });
    expect(stored.tenantFailures).toEqual({});
  });

  it("opens through the probe it asks for when one tenant meets a dead origin", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    const options = { circuit: { failureThreshold: 3 } };
    const acme = (at: number): HealthSample => ({ at, ok: false, kind: "connect_error", tenant: "acme" });
    expect(await m.report(batch(origin, [acme(T0 + 1), acme(T0 + 2), acme(T0 + 3)], { options }))).toMatchObject({ probe: true });
    expect((await m.snapshot(T0 + 4)).circuit.state).toBe("closed");
    const failed = batch(origin, [{ at: T0 + 5, ok: false, kind: "connect_error", probe: true }], { options });
    expect(await m.report(failed)).toEqual({ applied: 1, duplicate: false, probe: false });
    expect((await m.snapshot(T0 + 6)).circuit).toEqual({ state: "open", since: T0 + 5, openUntil: T0 + 30_005, reason: "consecutive_failures" });
    expect(await m.transitions(1)).toEqual([
      { at: T0 + 5, from: "closed", to: "open", reason: "consecutive_failures", detail: "3 consecutive failures (last: connect_error)" },
    ]);
  });

  it("keeps its state in storage", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    await m.report(batch(origin, [okSample(T0, { ttftMs: 120 })]));
    const stored = await runInDurableObject(m, (_, state) => {
      const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM monitor WHERE id = 1").one();
      return JSON.parse(row.state) as { origin: string; samples: number; ttft: unknown };
    });
    expect(stored).toMatchObject({ origin, samples: 1, ttft: { mean: 120, variance: 0, samples: 1 } });
  });

  it("refuses malformed batches and batches for another origin, and changes nothing", async () => {
    const origin = uniqueOrigin();
    const m = monitorOf(origin);
    const bad: Array<[HealthReport, string]> = [
      [batch(origin, [{ at: T0, ok: true, kind: "timeout" }]), "samples[0].ok"],
      [batch(origin, [okSample(T0, { latencyMs: Number.NaN })]), "samples[0].latencyMs"],
      [batch(origin, [okSample(T0), okSample(T0, { outputTokens: 1.5 })]), "samples[1].outputTokens"],
      [batch(origin, [], { inFlight: -1 }), "inFlight"],
      [batch(origin, [{ at: T0, ok: false, kind: "exploded" as HealthSample["kind"] }]), "samples[0].kind"],
      [batch(origin, [], { options: { timeZone: "Mars/Olympus" } }), "options.timeZone"],
      [batch(origin, [{ at: T0, ok: false, kind: "timeout", probe: true, tenant: "acme" }]), "samples[0].tenant"],
      [batch(origin, [{ at: T0, ok: false, kind: "timeout", tenant: "" }]), "samples[0].tenant"],
    ];
    for (const [b, path] of bad) expect((await failure(() => m.report(b))).message).toContain(`invalid health report: ${path}: `);
    expect((await failure(() => m.report(batch("someone-else", [okSample(T0)])))).message).toMatch(/cannot take samples of someone-else/);
    expect(await m.snapshot(T0)).toMatchObject({ samples: 0, updatedAt: null, errorRate: 0, ttftMs: null, inFlight: 0 });
  });
});
