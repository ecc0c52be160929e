/**
 * The isolate's snapshot cache with an injected clock and a fake namespace whose answers the test
 * releases: synchronous reads, one refresh per origin in flight, stale-while-revalidate, failures
 * that keep the old snapshot; then once through real monitors.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { SnapshotCache, type SnapshotNamespace } from "../../src/health/snapshots";
import type { OriginSnapshot } from "../../src/health/types";
import { emptySnapshot } from "../support/snapshot";

const snap = (origin: string, samples: number): OriginSnapshot => emptySnapshot(origin, { samples });

/** A namespace whose snapshot calls wait until the test answers them. */
function fakeNamespace() {
  const calls: Array<{ origin: string; at: number; answer: (s: OriginSnapshot) => void; fail: (e: Error) => void }> = [];
  const namespace: SnapshotNamespace = {
    getByName: (origin) => ({
      snapshot: (at) => new Promise<OriginSnapshot>((answer, fail) => calls.push({ origin, at, answer, fail })),
    }),
  };
  return { namespace, calls };
}

function setup(ttlMs?: number) {
  const fake = fakeNamespace();
  const clock = { t: 100_000 };
  const cache = new SnapshotCache({ namespace: fake.namespace, now: () => clock.t, ...(ttlMs ? { ttlMs } : {}) });
  return { ...fake, clock, cache };
}

describe("SnapshotCache", () => {
  it("returns null before the first snapshot, and starts one refresh shared by every caller", async () => {
    const { cache, calls } = setup();
    const first = cache.get("a");
    expect(first.snapshot).toBeNull();
    expect(first.refresh).not.toBeNull();
    const second = cache.get("a");
    expect(second).toEqual({ snapshot: null, refresh: first.refresh });
    expect(calls.map((c) => [c.origin, c.at])).toEqual([["a", 100_000]]);
    calls[0]!.answer(snap("a", 1));
    await first.refresh;
    expect(cache.get("a")).toEqual({ snapshot: snap("a", 1), refresh: null });
    expect(calls).toHaveLength(1);
  });

  it("serves a stale snapshot while one background refresh runs (stale-while-revalidate)", async () => {
    const { cache, calls, clock } = setup();
    const warm = cache.get("a");
    calls[0]!.answer(snap("a", 1));
    await warm.refresh;
    clock.t += 4_999;
    expect(cache.get("a").refresh).toBeNull();
    clock.t += 1; // 5 s old: stale
    const stale = cache.get("a");
    expect(stale.snapshot).toEqual(snap("a", 1));
    expect(stale.refresh).not.toBeNull();
    clock.t += 10_000;
    expect(cache.get("a")).toEqual({ snapshot: snap("a", 1), refresh: stale.refresh }); // still one in flight
    expect(calls.map((c) => c.at)).toEqual([100_000, 105_000]);
    calls[1]!.answer(snap("a", 2));
    await stale.refresh;
    // Fresh as of when it was asked for (105 000), so stale again at 110 000.
    expect(cache.peek("a")).toEqual(snap("a", 2));
    clock.t = 109_999;
    expect(cache.get("a").refresh).toBeNull();
    clock.t = 110_000;
    expect(cache.get("a").refresh).not.toBeNull();
  });

  it("keeps the last snapshot when a refresh fails, and tries again a TTL later", async () => {
    const { cache, calls, clock } = setup(1_000);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const warm = cache.get("a");
    calls[0]!.answer(snap("a", 1));
    await warm.refresh;
    clock.t += 1_000;
    const failing = cache.get("a");
    calls[1]!.fail(new Error("overloaded"));
    await expect(failing.refresh).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith("health snapshot of a failed: overloaded");
    expect(cache.get("a")).toEqual({ snapshot: snap("a", 1), refresh: null });
    clock.t += 1_000;
    expect(cache.get("a").refresh).not.toBeNull();
    expect(calls).toHaveLength(3);
    error.mockRestore();
  });

  it("reads several origins at once with one promise for their refreshes", async () => {
    const { cache, calls } = setup();
    const warm = cache.get("a");
    calls[0]!.answer(snap("a", 1));
    await warm.refresh;
    const read = cache.getMany(["a", "b", "c"]);
    expect([...read.snapshots]).toEqual([
      ["a", snap("a", 1)],
      ["b", null],
      ["c", null],
    ]);
    expect(calls.map((c) => c.origin)).toEqual(["a", "b", "c"]);
    calls[1]!.answer(snap("b", 5));
    calls[2]!.answer(snap("c", 6));
    await read.refresh;
    expect(cache.getMany(["b", "c"])).toEqual({ snapshots: new Map([["b", snap("b", 5)], ["c", snap("c", 6)]]), refresh: null });
  });

  it("reads real monitors", async () => {
    const origin = `snap-${crypto.randomUUID().slice(0, 8)}`;
    const namespace: SnapshotNamespace = env.ORIGIN_MONITOR;
    await env.ORIGIN_MONITOR.getByName(origin).report({
      batchId: "b1",
      origin,
      isolateId: "i",
      at: 50_000,
      inFlight: 1,
      samples: [{ at: 49_000, ok: true, kind: "ok", ttftMs: 40 }],
    });
    const cache = new SnapshotCache({ namespace, now: () => 60_000 });
    await cache.get(origin).refresh;
    expect(cache.peek(origin)).toMatchObject({ origin, samples: 1, inFlight: 1, ttftMs: { mean: 40 } });
  });
});
