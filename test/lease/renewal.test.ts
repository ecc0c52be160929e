/**
 * Lease renewal (issue #14). With the ledger a 50 ms round trip away, a lease holder measures the
 * round trip and asks for its next lease while what its lease has left still covers two round trips
 * at the key's recent rate, so a steady stream of requests rarely waits for the ledger. A renewal
 * the ledger refuses is not asked again on every request.
 */
import { describe, expect, it } from "vitest";
import { addBudget, adminFetch, newTenant } from "../support/client";
import { LeaseHolder } from "../../src/lease/holder";
import { books, DistantLedger, LEASE_MS, Isolate, ledgerCalls, reservation, TestClock, type Admitted } from "./support";

const RTT_MS = 50;

/** Sends a request after each gap in `gapsMs` (ms of the test's clock), each settled at once; the indexes of those the ledger admitted. */
async function stream(isolate: Isolate, ledger: DistantLedger, clock: TestClock, key: string, gapsMs: number[]) {
  const via: string[] = [];
  const done: Promise<void>[] = [];
  for (const [i, gap] of gapsMs.entries()) {
    done.push(
      isolate.admit(key, reservation(10, 10)).then(async (a) => {
        if ("refused" in a) via[i] = a.refused;
        else {
          via[i] = a.via;
          await isolate.settle(a, 1);
        }
      }),
    );
    await clock.advance(gap);
    await ledger.idle();
  }
  await clock.advance(RTT_MS);
  await ledger.idle();
  await Promise.all(done);
  // Past the last lease's window: every lease closes and reports.
  await clock.advance(LEASE_MS);
  await ledger.idle();
  await isolate.settleDown();
  expect(via.filter((v) => v !== "lease" && v !== "ledger")).toEqual([]);
  return via.flatMap((v, i) => (v === "ledger" ? [i] : []));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A tenant far from its limits, with no rate limits (the slices are what the holder asks for), whose ledger is `rttMs` away. */
async function distant(rttMs = RTT_MS) {
  const { tenantId, key, keyId } = await newTenant();
  await addBudget(tenantId, { metric: "cost", period: "total", limit: 1_000_000_000 });
  expect((await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: { rpm: null, tpm: null, concurrency: null } })).status).toBe(200);
  const clock = new TestClock();
  const ledger = new DistantLedger(ledgerCalls(tenantId), clock, rttMs);
  return { tenantId, key, keyId, clock, ledger, isolate: new Isolate("h0", clock, ledger) };
}

/** Every request has its usage row, the rows add up to what the books settled, and nothing is still held. */
async function expectExactBooks(tenantId: string, requests: number) {
  const b = await books(tenantId);
  expect(b.rows.length).toBe(requests);
  expect(b.rows.reduce((s, r) => s + r.cost_micros, 0)).toBe(b.usage.reduce((s, u) => s + u.settled, 0));
  expect(b.usage.reduce((s, u) => s + u.reserved, 0)).toBe(0);
  expect(b.leases).toEqual([]);
}

describe("early lease renewal with a distant ledger (50 ms round trip)", () => {
  it("renews a steady stream's lease before it runs out: past the first two round trips, no request waits for the ledger", async () => {
    const { tenantId, key, clock, ledger, isolate } = await distant();
    // 200 requests a second for 3 s.
    const exact = await stream(isolate, ledger, clock, key, Array<number>(600).fill(5));
    expect(isolate.holder.roundTripMs).toBe(RTT_MS);
    // The first round trip has no lease; the first lease is the smallest (4 requests), asked for
    // before the rate was known. (Renewing only when a lease ran short or entered its last
    // quarter, 50 of the 600 took the exact path, with the renewal flag cleared when the ledger
    // answers or not.)
    expect(exact).toEqual([...range(0, 9), ...range(14, 20)]);
    expect(ledger.calls).toMatchObject({ admit: 17, acquireLease: 5 });
    await expectExactBooks(tenantId, 600);
  });

  it("follows a rise in the rate without waiting for the ledger: 200 then 1,000 requests a second", async () => {
    const { tenantId, key, clock, ledger, isolate } = await distant();
    const exact = await stream(isolate, ledger, clock, key, [...Array<number>(200).fill(5), ...Array<number>(1_000).fill(1)]);
    // (140 of the 1,200 before early renewal.)
    expect(exact).toEqual([...range(0, 9), ...range(14, 20)]);
    expect(ledger.calls).toMatchObject({ admit: 17, acquireLease: 4 });
    await expectExactBooks(tenantId, 1_200);
  });
});

describe("a refused renewal", () => {
  // Regression: the renewal flag cleared on a refusal and the lease stayed current, so each request
  // it still admitted in its last quarter asked the ledger again, to be refused again.
  it("is not asked again on every request: the lease runs out, and the exact path decides", async () => {
    const { tenantId, key, keyId, clock, ledger, isolate } = await distant(0);
    expect(await isolate.admit(key, reservation(5, 5))).toMatchObject({ via: "ledger" });
    await ledger.idle();
    expect((await adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" })).status).toBe(200);
    // In the lease's last quarter every request admitted under it would renew it; the ledger
    // refuses the first renewal (the key is revoked), and no other is asked for.
    await clock.advance((LEASE_MS * 3) / 4);
    for (let i = 0; i < 3; i++) {
      const a = await isolate.admit(key, reservation(5, 5));
      expect(a).toMatchObject({ via: "lease" });
      await ledger.idle();
      await isolate.settle(a as Admitted, 1);
    }
    expect(ledger.calls).toMatchObject({ admit: 1, acquireLease: 1 });
    // Past the window, the exact path refuses the key.
    await clock.advance(LEASE_MS / 4);
    expect(await isolate.admit(key, reservation(5, 5))).toEqual({ refused: "invalid_key" });
    expect(ledger.calls).toMatchObject({ admit: 2, acquireLease: 1 });
  });

  it("that failed is asked again a round trip later, not on every request", async () => {
    const { tenantId, key, clock, ledger, isolate } = await distant();
    const first = isolate.admit(key, reservation(5, 5));
    await clock.advance(RTT_MS);
    await ledger.idle();
    expect(await first).toMatchObject({ via: "ledger" });
    expect(isolate.holder.roundTripMs).toBe(RTT_MS);
    // The ledger cannot be reached when the lease enters its last quarter.
    const reachable = ledger.acquireLease;
    let failed = 0;
    ledger.acquireLease = () => (failed++, Promise.reject(new Error("ledger unreachable")));
    await clock.advance(LEASE_MS * 0.75 - RTT_MS);
    // Admitted under the lease (which holds four requests' worth) and settled, but for the last,
    // settled once its renewal is answered (settling waits for what the isolate has in flight).
    const admit = async (settle = true) => {
      const a = await isolate.admit(key, reservation(5, 5));
      expect(a).toMatchObject({ via: "lease" });
      if (settle) await isolate.settle(a as Admitted, 0);
      return a as Admitted;
    };
    for (let i = 0; i < 3; i++) await admit();
    expect(failed).toBe(1);
    // A round trip later, the next request asks again, and the next lease comes.
    ledger.acquireLease = reachable;
    await clock.advance(RTT_MS - 1);
    await admit();
    expect(ledger.calls.acquireLease).toBe(0);
    await clock.advance(1);
    const last = await admit(false);
    expect(ledger.calls.acquireLease).toBe(1);
    await clock.advance(RTT_MS);
    await ledger.idle();
    await isolate.settle(last, 0);
    await isolate.settleDown();
    // The first lease was replaced and closed; the second is open.
    expect((await books(tenantId)).leases).toHaveLength(1);
  });

  it("an ask whose answer never comes back (its request cancelled before it heard) is given up after a window", () => {
    const clock = new TestClock();
    const holder = new LeaseHolder({ holder: "x", now: clock.now, leaseMs: LEASE_MS, holdMs: 60_000 });
    const reserve = reservation(5, 5);
    const at = clock.now();
    expect(holder.wantWithAdmission("k", reserve, at)).toBeDefined();
    // No answer: a burst of exact admissions asks once, not once each...
    expect(holder.wantWithAdmission("k", reserve, at + 1)).toBeUndefined();
    expect(holder.wantWithAdmission("k", reserve, at + LEASE_MS - 1)).toBeUndefined();
    // ...and a window later the key may ask again, rather than never.
    expect(holder.wantWithAdmission("k", reserve, at + LEASE_MS)).toBeDefined();
    holder.answered("k");
    expect(holder.wantWithAdmission("k", reserve, at + LEASE_MS + 1)).toBeDefined();
  });
});
