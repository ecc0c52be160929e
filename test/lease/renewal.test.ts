/**
 * Early renewal (issue #14): with the ledger a 50 ms round trip away, a lease holder measures the
 * round trip and asks for its next lease while what its lease has left still covers two round trips
 * at the key's recent rate, so a steady stream of requests rarely waits for the ledger.
 */
import { describe, expect, it } from "vitest";
import { addBudget, adminFetch, newTenant } from "../support/client";
import { books, DistantLedger, LEASE_MS, Isolate, ledgerCalls, reservation, TestClock } from "./support";

const RTT_MS = 50;

/** Sends a request after each gap in `gapsMs` (ms of the test's clock), each settled at once; says how each was admitted. */
async function stream(isolate: Isolate, ledger: DistantLedger, clock: TestClock, key: string, gapsMs: number[]) {
  const via: Array<"lease" | "ledger" | string> = [];
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

async function distant() {
  const { tenantId, key } = await newTenant();
  // Far from its limits, with no rate limits: the slices are what the holder asks for.
  await addBudget(tenantId, { metric: "cost", period: "total", limit: 1_000_000_000 });
  expect((await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: { rpm: null, tpm: null, concurrency: null } })).status).toBe(200);
  const clock = new TestClock();
  const ledger = new DistantLedger(ledgerCalls(tenantId), clock, RTT_MS);
  return { tenantId, key, clock, ledger, isolate: new Isolate("h0", clock, ledger) };
}

/** Every request has its usage row, and the rows add up to what the books settled. */
async function expectExactBooks(tenantId: string, requests: number) {
  const b = await books(tenantId);
  expect(b.rows.length).toBe(requests);
  expect(b.rows.reduce((s, r) => s + r.cost_micros, 0)).toBe(b.usage.reduce((s, u) => s + u.settled, 0));
  expect(b.usage.reduce((s, u) => s + u.reserved, 0)).toBe(0);
}

describe("early lease renewal with a distant ledger (50 ms round trip)", () => {
  it("renews a steady stream's lease before it runs out: past the first two round trips, no request waits for the ledger", async () => {
    const { tenantId, key, clock, ledger, isolate } = await distant();
    // 200 requests a second for 3 s.
    const exact = await stream(isolate, ledger, clock, key, Array<number>(600).fill(5));
    expect(isolate.holder.roundTripMs).toBe(RTT_MS);
    // The first round trip has no lease; the first lease is the smallest (4 requests), asked for
    // before the rate was known. (Renewing only when exhausted or in the last quarter, and one
    // renewal per window, 88 of the 600 took the exact path.)
    expect(exact).toEqual([...range(0, 9), ...range(14, 20)]);
    expect(ledger.calls).toMatchObject({ admit: 17, acquireLease: 5 });
    await expectExactBooks(tenantId, 600);
  });

  it("follows a rise in the rate without waiting for the ledger: 200 then 1,000 requests a second", async () => {
    const { tenantId, key, clock, ledger, isolate } = await distant();
    const exact = await stream(isolate, ledger, clock, key, [...Array<number>(200).fill(5), ...Array<number>(1_000).fill(1)]);
    expect(exact).toEqual([...range(0, 9), ...range(14, 20)]);
    expect(ledger.calls).toMatchObject({ admit: 17, acquireLease: 4 });
    await expectExactBooks(tenantId, 1_200);
  });
});
