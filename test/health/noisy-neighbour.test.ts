/**
 * Issue #12, through the Worker: one tenant's failing requests must not open an origin's circuit
 * for everyone, while an origin that fails for everyone still opens its circuit, even when a single
 * tenant is there to notice (the probe the monitor asks for confirms it). Requests that ask our
 * simulator for faults report none.
 */
import { describe, expect, it } from "vitest";
import type { OriginSnapshot } from "../../src/health/types";
import { adminFetch, chat, newTenant, waitFor } from "../support/client";
import { LONG_PROMPT } from "../support/router-config";

const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An origin's health as operators see it (`GET /admin/origins`). */
async function healthOf(origin: string): Promise<OriginSnapshot> {
  const page = (await (await adminFetch("/origins")).json()) as { data: OriginSnapshot[] };
  return page.data.find((o) => o.origin === origin)!;
}

/** Reads an origin's health until `done` (samples reach the monitor after the responses). */
function healthWhen(origin: string, done: (h: OriginSnapshot) => boolean, what: string): Promise<OriginSnapshot> {
  return waitFor(what, () => healthOf(origin), done);
}

describe("noisy neighbours", () => {
  it("a tenant whose long prompts time out leaves the origin's circuit closed, and the next tenant is served there", async () => {
    const noisy = await newTenant();
    const next = await newTenant();
    const long = { model: "chat-prefill-bound", messages: [{ role: "user", content: LONG_PROMPT }] };
    // The attack: six oversized prompts, each timing out. Three failures open this circuit.
    const answers = await Promise.all(Array.from({ length: 6 }, () => chat(noisy.key, long)));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(attemptsOf(res)).toBe("prefill-bound;result=timeout, pool;result=200");
      await res.text();
    }
    // Two count against the origin and four are the tenant's; those asked for a probe, which found
    // the origin well: failures 1, 1 and the probe's success 0 make an error rate of 0.9 (α 0.1).
    const health = await healthWhen("prefill-bound", (h) => h.attributedToTenants === 4 && h.samples >= 3, "the probe's sample");
    expect(health).toMatchObject({
      circuit: { state: "closed", reason: "initial" },
      consecutiveFailures: 0,
      samples: 3,
      errorRate: 0.9,
      attributedToTenants: 4,
      lastAttributed: { tenant: noisy.tenantId, kind: "timeout" },
    });
    // Each request reads a view refreshed since the last (the snapshot TTL is 50 ms).
    for (let i = 0; i < 3; i++) {
      await sleep(60);
      const res = await chat(next.key, { model: "chat-prefill-bound" });
      expect(attemptsOf(res)).toBe("prefill-bound;result=200");
      await res.text();
    }
  });

  it("an origin that fails for everyone opens its circuit with a single tenant, through the probe", async () => {
    const { key, tenantId } = await newTenant();
    for (let i = 0; i < 3; i++) {
      const res = await chat(key, { model: "chat-gone-first" });
      expect(attemptsOf(res)).toBe("gone;result=connect_error, pool;result=200");
      await res.text();
    }
    // Two of the tenant's failures count, the third asks for a probe, and the probe's failure,
    // which blames the origin, is the third in a row.
    const health = await healthWhen("gone", (h) => h.circuit.state === "open", "the circuit to open");
    expect(health).toMatchObject({
      circuit: { state: "open", reason: "consecutive_failures" },
      consecutiveFailures: 3,
      samples: 3,
      errorRate: 1,
      attributedToTenants: 1,
      lastAttributed: { tenant: tenantId, kind: "connect_error" },
    });
    const transitions = (await (await adminFetch("/origins/gone/transitions")).json()) as { data: unknown[] };
    expect(transitions.data).toEqual([
      { at: health.circuit.since, from: "closed", to: "open", reason: "consecutive_failures", detail: "3 consecutive failures (last: connect_error)" },
    ]);
    // Traffic moves as soon as this isolate's view of the circuit is refreshed.
    for (let i = 0; ; i++) {
      const res = await chat(key, { model: "chat-gone-first" });
      await res.text();
      if (attemptsOf(res) === "pool;result=200") break;
      if (i === 40) throw new Error("traffic did not move");
      await sleep(25);
    }
  });

  it("a request that asks the simulator for faults reports no failure, and ends its attempts", async () => {
    const { key } = await newTenant();
    for (let i = 0; i < 4; i++) {
      const res = await chat(key, { model: "chat-faulted", sim: { faulted: { status: 503 } } });
      expect(attemptsOf(res)).toBe("faulted;result=503, pool;result=200");
      await res.text();
    }
    // The same tenant's plain request is served there: its success is all the monitor hears, and
    // no attempt is left counted in flight.
    const served = await chat(key, { model: "chat-faulted" });
    expect(attemptsOf(served)).toBe("faulted;result=200");
    await served.text();
    const health = await healthWhen("faulted", (h) => h.samples > 0, "the success's sample");
    expect(health).toMatchObject({
      circuit: { state: "closed", reason: "initial" },
      consecutiveFailures: 0,
      errorRate: 0,
      samples: 1,
      attributedToTenants: 0,
      inFlight: 0,
    });
  });
});
