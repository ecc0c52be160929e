/**
 * Leased admission (issue #14): several isolates (lease holders) against one real TenantLedger.
 * Budgets are never overspent (settled + reserved, leases included, ≤ limit at every step), the
 * usage rows add up to what was settled, a crashed holder's lease is charged in full minus what it
 * reported, rate limits and concurrency slots hold across holders, and revocation reaches every
 * holder within one lease window (a strict key at once).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addBudget, adminFetch, newTenant } from "../support/client";
import { books, heldCost, Isolate, ledgerCalls, LEASE_MS, HOLD_MS, reservation, runAlarmsUntil, TestClock, type Admitted } from "./support";
import type { LeaseReport } from "../../src/ledger/types";

async function setLimits(tenantId: string, limits: { rpm: number | null; tpm: number | null; concurrency: number | null }) {
  expect((await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: limits })).status).toBe(200);
}

/** settled + reserved ≤ limit for every budget row; and the all-time cost budget equals the usage log. */
function checkBooks(b: Awaited<ReturnType<typeof books>>): void {
  for (const u of b.usage) {
    const budget = b.budgets.find((x) => x.id === u.budget_id)!;
    expect(u.settled + u.reserved, `${budget.metric}/${budget.period} ${u.period_key}`).toBeLessThanOrEqual(budget.hard_limit);
    expect(u.reserved).toBeGreaterThanOrEqual(0);
  }
  const total = b.budgets.find((x) => x.metric === "cost" && x.period === "total")!;
  const settled = b.usage.filter((u) => u.budget_id === total.id).reduce((s, u) => s + u.settled, 0);
  expect(b.rows.reduce((s, r) => s + r.cost_micros, 0)).toBe(settled);
}

describe("leases under random interleavings (fast-check)", () => {
  type Op =
    | { kind: "admit"; holder: number; prompt: number; cap: number }
    | { kind: "settle"; pick: number; share: number }
    | { kind: "burst"; holder: number; n: number }
    | { kind: "tick"; ms: number }
    | { kind: "crash"; holder: number }
    | { kind: "expire" };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 10, arbitrary: fc.record({ kind: fc.constant("admit" as const), holder: fc.nat(2), prompt: fc.integer({ min: 1, max: 10 }), cap: fc.integer({ min: 1, max: 10 }) }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), share: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    // Many requests from one isolate, each using all it reserved: the budget runs out.
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("burst" as const), holder: fc.nat(2), n: fc.integer({ min: 5, max: 30 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 2 * LEASE_MS }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), holder: fc.nat(2) }) },
    { weight: 1, arbitrary: fc.constant({ kind: "expire" as const }) },
  );

  it("never overspends, keeps the log equal to the books, and charges a crashed holder's leases in full minus what it reported", async () => {
    let leased = 0;
    await fc.assert(
      // Budgets of 15 to 100 worst-case requests: runs reach the limit, where leases stop.
      fc.asyncProperty(fc.integer({ min: 450, max: 3_000 }), fc.array(op, { minLength: 20, maxLength: 60 }), async (limit, ops) => {
        const { tenantId, key } = await newTenant();
        await addBudget(tenantId, { metric: "cost", period: "day", limit });
        await addBudget(tenantId, { metric: "cost", period: "total", limit: limit * 2 });
        const clock = new TestClock();
        const ledger = ledgerCalls(tenantId);
        // The third isolate sees the ledger 50 ms away: it renews early, its renewals overlapping the other operations.
        const holders = [0, 1, 2].map((i) => new Isolate(`h${i}`, clock, ledger, i === 2 ? 50 : undefined));
        const crashed = new Set<number>();
        const open: Array<Admitted & { holder: number }> = [];
        for (const o of ops) {
          if (o.kind === "admit" && !crashed.has(o.holder)) {
            const a = await holders[o.holder]!.admit(key, reservation(o.prompt, o.cap));
            if (!("refused" in a)) {
              open.push({ ...a, holder: o.holder });
              if (a.via === "lease") leased++;
            }
          } else if (o.kind === "burst" && !crashed.has(o.holder)) {
            const h = holders[o.holder]!;
            for (let i = 0; i < o.n; i++) {
              const a = await h.admit(key, reservation(10, 10));
              if ("refused" in a) break;
              if (a.via === "lease") leased++;
              await h.settle(a, 1);
            }
          } else if (o.kind === "settle" && open.length > 0) {
            const a = open.splice(o.pick % open.length, 1)[0]!;
            if (!crashed.has(a.holder)) await holders[a.holder]!.settle(a, o.share);
          } else if (o.kind === "tick") {
            await clock.advance(o.ms);
            for (const [i, h] of holders.entries()) if (!crashed.has(i)) await h.settleDown();
          } else if (o.kind === "crash") {
            crashed.add(o.holder);
            holders[o.holder]!.crash();
          } else if (o.kind === "expire") {
            // Past every deadline: leases and reservations nobody settled are charged.
            await clock.advance(LEASE_MS + HOLD_MS + 1);
            // Nothing in flight: what the crashed isolates sent before they died has landed too.
            for (const h of holders) await h.settleDown();
            const before = await books(tenantId);
            const due = before.leases.filter((l) => l.charge_at <= clock.now());
            await runAlarmsUntil(tenantId, clock.now());
            const after = await books(tenantId);
            for (const lease of due) {
              // Charged in full, minus what was reported: what the ledger still held, as one row.
              expect(after.rows.find((r) => r.request_id === lease.lease_id)).toEqual({ request_id: lease.lease_id, cost_micros: heldCost(lease), outcome: "lease_expired" });
            }
            for (let i = open.length - 1; i >= 0; i--) if (open[i]!.via === "ledger" || crashed.has(open[i]!.holder)) open.splice(i, 1);
          }
          checkBooks(await books(tenantId));
        }
      }),
      // A failure is reported with the smallest counterexample found in 90 s: shrinking a
      // timing-dependent failure could otherwise outlast the test's timeout, which hides it.
      { numRuns: 15, interruptAfterTimeLimit: 90_000 },
    );
    // The runs did admit from leases, not only through the ledger.
    expect(leased).toBeGreaterThan(20);
  }, 120_000);
});

describe("a crashed isolate", () => {
  // Regression: the property test above crashed an isolate only by sending it no more requests. Its
  // timers still ran, so its lease closed at its window's end, and that close could reach the
  // ledger between the test's look at the books and the alarm it ran: a lease due to be charged
  // was found closed instead. fast-check then shrank that timing-dependent failure for longer than
  // the test's 120 s timeout, which is all that was reported (seen as a hang, about one run in
  // three once renewals stopped holding their key's flag until a window closed).
  it("sends nothing once dead: its lease is charged in full at its deadline, minus what it reported", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 10_000 });
    await addBudget(tenantId, { metric: "cost", period: "total", limit: 20_000 });
    const clock = new TestClock();
    const isolate = new Isolate("dies", clock, ledgerCalls(tenantId));
    const reserve = reservation(5, 5);
    for (const via of ["ledger", "lease"]) {
      const a = await isolate.admit(key, reserve);
      expect(a).toMatchObject({ via });
      await isolate.settle(a as Admitted, 0.5);
    }
    isolate.crash();
    // Its window ends, with nothing in flight: alive, it would close the lease now.
    await clock.advance(LEASE_MS + HOLD_MS + 1);
    await isolate.settleDown();
    const before = await books(tenantId);
    expect(before.leases).toHaveLength(1);
    await runAlarmsUntil(tenantId, clock.now());
    const after = await books(tenantId);
    const lease = before.leases[0]!;
    expect(after.rows.find((r) => r.request_id === lease.lease_id)).toEqual({ request_id: lease.lease_id, cost_micros: heldCost(lease), outcome: "lease_expired" });
    expect(after.leases).toEqual([]);
    checkBooks(after);
  });
});

describe("a burst across holders", () => {
  it("never goes over a budget of 4x's worth, and refuses only when the unleased budget could not cover the request", async () => {
    const { tenantId, key } = await newTenant();
    const limit = 4_000;
    await addBudget(tenantId, { metric: "cost", period: "day", limit });
    await addBudget(tenantId, { metric: "cost", period: "total", limit: 1_000_000 });
    const clock = new TestClock();
    const ledger = ledgerCalls(tenantId);
    const holders = [0, 1, 2, 3].map((i) => new Isolate(`b${i}`, clock, ledger));
    // 20 + 20×2 µ$ = 60 µ$ worst case; the budget fits 66 of them; 4x that are sent.
    const reserve = reservation(20, 20);
    const worst = 60;
    let admitted = 0;
    let spent = 0;
    for (let i = 0; i < 4 * Math.floor(limit / worst); i++) {
      const h = holders[i % 4]!;
      const a = await h.admit(key, reserve);
      const b = await books(tenantId);
      checkBooks(b);
      if ("refused" in a) {
        expect(a.refused).toBe("insufficient_quota");
        // Refused only when what no lease holds could not cover it.
        const day = b.usage.find((u) => u.budget_id === b.budgets.find((x) => x.period === "day")!.id)!;
        expect(limit - day.settled - day.reserved).toBeLessThan(worst);
        continue;
      }
      admitted++;
      spent += worst;
      await h.settle(a, 1);
    }
    expect(admitted).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(limit);
    for (const h of holders) await h.settleDown();
    await clock.advance(LEASE_MS + 1);
    for (const h of holders) await h.settleDown();
    const b = await books(tenantId);
    checkBooks(b);
    expect(b.leases).toEqual([]);
  });
});

describe("rate limits and concurrency across holders", () => {
  it("never admits more requests than the bucket holds, nor more in flight than the limit", async () => {
    const { tenantId, key } = await newTenant();
    await setLimits(tenantId, { rpm: 120, tpm: null, concurrency: 40 });
    const clock = new TestClock();
    const ledger = ledgerCalls(tenantId);
    const holders = [0, 1, 2, 3].map((i) => new Isolate(`r${i}`, clock, ledger));
    const reserve = reservation(5, 5);
    // No time passes: the bucket does not refill. Nothing settles: every admission holds a slot.
    const inFlight: Admitted[] = [];
    let refusedForRate = 0;
    for (let i = 0; i < 200; i++) {
      const a = await holders[i % 4]!.admit(key, reserve);
      if ("refused" in a) refusedForRate += a.refused === "rate_limited" ? 1 : 0;
      else inFlight.push(a);
    }
    expect(inFlight.length).toBeLessThanOrEqual(40);
    expect(refusedForRate).toBe(200 - inFlight.length);
    // Settle them all: slots come back, and the bucket (120 a minute) bounds the next round.
    for (const a of inFlight) await holders[Number(a.id[1])]!.settle(a, 1);
    let more = 0;
    for (let i = 0; i < 200; i++) {
      const a = await holders[i % 4]!.admit(key, reserve);
      if (!("refused" in a)) {
        more++;
        await holders[i % 4]!.settle(a, 1);
      }
    }
    expect(inFlight.length + more).toBeLessThanOrEqual(120);
  });
});

describe("revocation", () => {
  it("reaches every holder within one lease window; a strict key is refused on its next request", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const clock = new TestClock();
    const ledger = ledgerCalls(tenantId);
    const holders = [0, 1].map((i) => new Isolate(`v${i}`, clock, ledger));
    const reserve = reservation(5, 5);
    for (const h of holders) {
      expect(await h.admit(key, reserve)).toMatchObject({ via: "ledger" });
      expect(await h.admit(key, reserve)).toMatchObject({ via: "lease" });
    }
    const revoked = await adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" });
    const { revokedAt, effectiveBy } = (await revoked.json()) as { revokedAt: number; effectiveBy: number };
    expect(effectiveBy - revokedAt).toBe(300); // the suite's lease window
    // Within the window, the holders' leases still admit; past it, the key is refused everywhere.
    for (const h of holders) expect(await h.admit(key, reserve)).toMatchObject({ via: "lease" });
    await clock.advance(LEASE_MS);
    for (const h of holders) expect(await h.admit(key, reserve)).toEqual({ refused: "invalid_key" });

    const strict = await newTenant({ allowedModels: null, strict: true });
    const s = new Isolate("s", clock, ledgerCalls(strict.tenantId));
    expect(await s.admit(strict.key, reserve)).toMatchObject({ via: "ledger" });
    expect(await s.admit(strict.key, reserve)).toMatchObject({ via: "ledger" });
    await adminFetch(`/tenants/${strict.tenantId}/keys/${strict.keyId}`, { method: "DELETE" });
    expect(await s.admit(strict.key, reserve)).toEqual({ refused: "invalid_key" });
  });
});

describe("a renewed lease closes with the work of the request that renewed it", () => {
  // Regression: the renewed lease's closing was queued after the renewing request had handed its
  // work to `waitUntil`; with no request after it (the key's last), nothing kept the closing alive
  // once that request ended, the lease stayed open, and the ledger would charge it in full at its
  // deadline (seen as test/routes/ops.test.ts timing out in `settledAll` under load).
  it("the renewing request's work resolves only once the renewed lease is closed at the ledger", async () => {
    const { tenantId, key } = await newTenant();
    const clock = new TestClock();
    const isolate = new Isolate("renewer", clock, ledgerCalls(tenantId));
    const reserve = reservation(5, 5);
    const first = await isolate.admit(key, reserve);
    expect(first).toMatchObject({ via: "ledger" });
    await isolate.settle(first as Admitted, 1);
    await clock.advance(LEASE_MS - 100);

    // The key's last request: admitted under the lease, in its last quarter, so it renews.
    const at = clock.now();
    const local = isolate.holder.admit(key, "s", reserve, at);
    expect(local.kind).toBe("admitted");
    expect(isolate.holder.renew(key, at)).toBe(true);
    let done = false;
    const work = Promise.all(isolate.holder.drain()).then(() => (done = true));
    for (let i = 0; i < 200 && (await books(tenantId)).leases.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await books(tenantId)).leases).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);

    if (local.kind === "admitted") isolate.holder.settle(local.ticket, { request: { requestId: "last", at, keyId: local.admission.keyId, endpoint: "chat", scenario: "s", origin: "o", model: "m", stream: false, promptTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 1, costMicros: 3, usageSource: "origin", status: 200, outcome: "ok", latencyMs: 1 } });
    await clock.advance(LEASE_MS + 1);
    await work;
    await isolate.holder.flush();
    expect((await books(tenantId)).leases).toEqual([]);
  });

  it("sends what a lease holds at once when a reader needs a row (feedback), without waiting for the report delay", async () => {
    const { tenantId, key } = await newTenant();
    const clock = new TestClock();
    // Rows wait 200 ms of the test's clock to be reported together, as in the Worker; the clock stands still.
    const calls = ledgerCalls(tenantId);
    let reports = 0;
    const counted = { ...calls, reportLease: (r: LeaseReport) => (reports++, calls.reportLease(r)) };
    const isolate = new Isolate("reader", clock, counted, undefined, 200);
    const reserve = reservation(5, 5);
    const first = await isolate.admit(key, reserve);
    expect(first).toMatchObject({ via: "ledger" });
    await isolate.settle(first as Admitted, 1);
    const leased = (await isolate.admit(key, reserve)) as Admitted;
    expect(leased).toMatchObject({ via: "lease" });
    const request = isolate.settlement(leased, 0.5);
    if (leased.via === "lease") isolate.holder.settle(leased.ticket, { request });
    isolate.holder.drain();
    await new Promise((r) => setTimeout(r, 20));
    expect((await books(tenantId)).rows.map((r) => r.request_id)).toEqual([(first as Admitted).id]);

    // Another tenant's rows are not sent; this tenant's are, in one report, also handed over as queued work.
    expect(reports).toBe(0);
    await isolate.holder.reportNow("some-other-tenant");
    expect(reports).toBe(0);
    expect((await books(tenantId)).rows).toHaveLength(1);
    const sent = isolate.holder.reportNow(tenantId);
    expect(isolate.holder.drain()).toHaveLength(1);
    await sent;
    expect(reports).toBe(1);
    const rows = (await books(tenantId)).rows;
    expect(rows.find((r) => r.request_id === leased.id)).toEqual({ request_id: leased.id, cost_micros: request.costMicros, outcome: "ok" });
    // Nothing is left to report when the delay ends: no second report.
    await clock.advance(200);
    await isolate.holder.flush();
    expect(reports).toBe(1);
    expect((await books(tenantId)).rows).toHaveLength(2);
  });
});
