import { describe, expect, it } from "vitest";
import { Readiness } from "../../src/observe/readiness";

describe("Readiness", () => {
  it("fails a check that rejects, resolves false or does not answer within 2 s, and names only the check", async () => {
    let calls = 0;
    const readiness = new Readiness(
      () => ({
        ok: async () => (calls++, true),
        rejects: () => Promise.reject(new Error("internal detail")),
        no: async () => false,
        hangs: () => new Promise<boolean>(() => {}),
      }),
      Date.now,
    );
    const started = Date.now();
    expect(await readiness.report()).toEqual({ ready: false, checks: { ok: "ok", rejects: "failing", no: "failing", hangs: "failing" } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(calls).toBe(1);
  });

  it("runs the checks at most once per 5 s, however often it is asked", async () => {
    let now = 0;
    let calls = 0;
    const readiness = new Readiness(() => ({ store: async () => (calls++, true) }), () => now);
    await Promise.all([readiness.report(), readiness.report(), readiness.report()]);
    now = 4_999;
    expect(await readiness.report()).toEqual({ ready: true, checks: { store: "ok" } });
    expect(calls).toBe(1);
    now = 5_000;
    await readiness.report();
    expect(calls).toBe(2);
  });
});
