/**
 * The isolate's health reporter with an injected clock, an injected sleep and a fake namespace:
 * when batches leave (50 samples, 2 s by the delayed send or by the clock), what they carry
 * (in-flight counts, ids, options), retries with the same id; then once through real monitors.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { HealthReporter, type ReportNamespace } from "../../src/health/reporter";
import type { HealthReport, HealthSample } from "../../src/health/types";

/** A namespace whose monitors record batches, failing the first `failures` calls. */
function fakeNamespace(failures = 0) {
  const calls: HealthReport[] = [];
  const delivered: HealthReport[] = [];
  const namespace: ReportNamespace = {
    getByName: (origin) => ({
      report: async (b) => {
        expect(b.origin).toBe(origin);
        calls.push(structuredClone(b));
        if (failures-- > 0) throw new Error("monitor unreachable");
        delivered.push(structuredClone(b));
        return { applied: b.samples.length, duplicate: false };
      },
    }),
  };
  return { namespace, calls, delivered };
}

/** A sleep that resolves only when the test says so. */
function manualSleep() {
  const waits: Array<{ ms: number; wake: () => void }> = [];
  const sleep = (ms: number) => new Promise<void>((wake) => waits.push({ ms, wake }));
  return { sleep, waits };
}

const sample = (at: number, ok = true): HealthSample => (ok ? { at, ok, kind: "ok", ttftMs: 10 } : { at, ok, kind: "status_5xx" });

function setup(failures = 0) {
  const fake = fakeNamespace(failures);
  const clock = { t: 1_000 };
  const timer = manualSleep();
  const reporter = new HealthReporter({ namespace: fake.namespace, now: () => clock.t, isolateId: "iso", sleep: timer.sleep });
  return { ...fake, ...timer, clock, reporter };
}

describe("HealthReporter", () => {
  it("sends a batch when 50 samples are buffered, and nothing before", async () => {
    const { reporter, delivered, waits } = setup();
    const first = reporter.record("a", sample(1));
    expect(first).not.toBeNull(); // the delayed send of this buffer
    expect(waits.map((w) => w.ms)).toEqual([2_000]);
    for (let i = 2; i <= 49; i++) expect(reporter.record("a", sample(i))).toBeNull();
    expect(delivered).toEqual([]);
    const full = reporter.record("a", sample(50));
    expect(full).not.toBeNull();
    await full;
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toEqual({
      batchId: "iso:1",
      origin: "a",
      isolateId: "iso",
      at: 1_000,
      inFlight: 0,
      samples: Array.from({ length: 50 }, (_, i) => sample(i + 1)),
    });
    expect(reporter.buffered("a")).toBe(0);
    // The buffer's delayed send wakes to nothing: its samples are gone already.
    waits[0]!.wake();
    await first;
    expect(delivered).toHaveLength(1);
  });

  it("sends a buffer 2 s after its first sample, through the delayed send", async () => {
    const { reporter, delivered, waits } = setup();
    const send = reporter.record("a", sample(1))!;
    expect(reporter.record("a", sample(2))).toBeNull();
    waits[0]!.wake();
    await send;
    expect(delivered.map((b) => b.samples.length)).toEqual([2]);
    // The next sample starts a new buffer with its own delayed send.
    expect(reporter.record("a", sample(3))).not.toBeNull();
    expect(waits).toHaveLength(2);
  });

  it("sends buffers that are 2 s old by the clock on any record", async () => {
    const { reporter, delivered, clock } = setup();
    void reporter.record("a", sample(1));
    clock.t = 2_999;
    expect(reporter.record("a", sample(2))).toBeNull();
    clock.t = 3_000;
    const sends = reporter.record("b", sample(3)); // a's buffer is due, b's just started
    await Promise.race([sends, new Promise((r) => setTimeout(r, 10))]);
    expect(delivered.map((b) => [b.origin, b.samples.length, b.at])).toEqual([["a", 2, 3_000]]);
    expect(reporter.buffered("b")).toBe(1);
    expect(reporter.flushDue()).toBeNull();
    await reporter.flushAll();
    expect(delivered.map((b) => b.origin)).toEqual(["a", "b"]);
    expect(reporter.flushAll()).toBeNull();
  });

  it("counts attempts in flight from begin to their sample; probes are not attempts", async () => {
    const { reporter, delivered } = setup();
    reporter.begin("a");
    reporter.begin("a");
    reporter.begin("a");
    void reporter.record("a", sample(1));
    void reporter.record("a", { ...sample(2), probe: true });
    expect(reporter.inFlight("a")).toBe(2);
    reporter.record("b", sample(3)); // never begun: stays at 0
    expect(reporter.inFlight("b")).toBe(0);
    await reporter.flushAll();
    expect(delivered.map((b) => [b.origin, b.inFlight])).toEqual([
      ["a", 2],
      ["b", 0],
    ]);
  });

  it("numbers batches per isolate and sends each origin's settings", async () => {
    const fake = fakeNamespace();
    const reporter = new HealthReporter({
      namespace: fake.namespace,
      now: () => 5,
      isolateId: "iso-9",
      sleep: () => new Promise(() => {}),
      optionsOf: (origin) => (origin === "a" ? { timeZone: "Europe/Paris", circuit: { failureThreshold: 3 } } : undefined),
    });
    void reporter.record("a", sample(1));
    void reporter.record("b", sample(2));
    await reporter.flushAll();
    expect(fake.delivered.map((b) => [b.batchId, b.options])).toEqual([
      ["iso-9:1", { timeZone: "Europe/Paris", circuit: { failureThreshold: 3 } }],
      ["iso-9:2", undefined],
    ]);
  });

  it("retries a failed send once with the same batch id, then gives up quietly", async () => {
    const once = setup(1);
    await once.reporter.flush("a"); // nothing buffered: nothing sent
    void once.reporter.record("a", sample(1));
    await once.reporter.flush("a");
    expect(once.calls.map((b) => b.batchId)).toEqual(["iso:1", "iso:1"]);
    expect(once.delivered).toHaveLength(1);

    const twice = setup(2);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    void twice.reporter.record("a", sample(1));
    await expect(twice.reporter.flush("a")).resolves.toBeUndefined();
    expect(twice.calls).toHaveLength(2);
    expect(twice.delivered).toEqual([]);
    expect(error).toHaveBeenCalledWith("health report iso:1 for a lost: monitor unreachable");
    error.mockRestore();
  });

  it("ends an attempt with nothing to report: it is no longer in flight", () => {
    const { reporter } = setup();
    reporter.begin("a");
    reporter.begin("a");
    reporter.end("a");
    expect(reporter.inFlight("a")).toBe(1);
    reporter.end("a");
    reporter.end("a");
    expect(reporter.inFlight("a")).toBe(0);
    expect(reporter.buffered("a")).toBe(0);
  });

  it("runs the probe a monitor asks for and sends its sample in a batch of its own", async () => {
    const delivered: HealthReport[] = [];
    const probed: string[] = [];
    const namespace: ReportNamespace = {
      getByName: () => ({
        report: async (b) => {
          delivered.push(structuredClone(b));
          // The monitor asks for a probe in answer to the tenant's failure, not to the probe's sample.
          return { applied: b.samples.length, duplicate: false, probe: b.samples.some((x) => x.tenant !== undefined) };
        },
      }),
    };
    const probe = async (origin: string): Promise<HealthSample> => {
      probed.push(origin);
      return { at: 1_500, ok: false, kind: "connect_error", latencyMs: 2, probe: true };
    };
    const reporter = new HealthReporter({ namespace, now: () => 1_000, isolateId: "iso", sleep: () => new Promise(() => {}), probe });
    void reporter.record("a", { at: 900, ok: false, kind: "timeout", tenant: "acme" });
    await reporter.flush("a");
    expect(probed).toEqual(["a"]);
    expect(delivered.map((b) => [b.batchId, b.samples])).toEqual([
      ["iso:1", [{ at: 900, ok: false, kind: "timeout", tenant: "acme" }]],
      ["iso:2", [{ at: 1_500, ok: false, kind: "connect_error", latencyMs: 2, probe: true }]],
    ]);
  });

  it("ignores a request for a probe it cannot run, and never rejects", async () => {
    const asking: ReportNamespace = { getByName: () => ({ report: async (b) => ({ applied: b.samples.length, duplicate: false, probe: true }) }) };
    const quiet = (probe?: (origin: string) => Promise<HealthSample | null>) =>
      new HealthReporter({ namespace: asking, now: () => 1_000, sleep: () => new Promise(() => {}), ...(probe ? { probe } : {}) });
    for (const reporter of [quiet(), quiet(async () => null)]) {
      void reporter.record("a", sample(1));
      await expect(reporter.flush("a")).resolves.toBeUndefined();
    }
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const throwing = quiet(async () => {
      throw new Error("no config");
    });
    void throwing.record("a", sample(1));
    await expect(throwing.flush("a")).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith("probe of a asked by its monitor failed to run: no config");
    error.mockRestore();
  });

  it("reports to real monitors", async () => {
    const origin = `rep-${crypto.randomUUID().slice(0, 8)}`;
    const namespace: ReportNamespace = env.ORIGIN_MONITOR;
    const reporter = new HealthReporter({ namespace, now: () => 10_000, sleep: () => new Promise(() => {}) });
    reporter.begin(origin);
    reporter.begin(origin);
    void reporter.record(origin, sample(9_000));
    void reporter.record(origin, sample(9_500, false));
    await reporter.flushAll();
    const snap = await env.ORIGIN_MONITOR.getByName(origin).snapshot(10_000);
    expect(snap).toMatchObject({ samples: 2, inFlight: 0, errorRate: 0.1, ttftMs: { mean: 10, variance: 0 }, updatedAt: 10_000 });
  });
});
