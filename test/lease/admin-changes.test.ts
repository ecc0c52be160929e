/**
 * Admin changes against isolates holding leases (issue #16), on one injected clock: a disabled
 * tenant's keys are refused by every holder within one lease window, and no lease outlives a key's
 * expiry or a rotated secret's grace (a lease granted just before either ends at it); a budget made
 * or deleted while a lease is out.
 */
import { describe, expect, it } from "vitest";
import { addBudget, adminFetch, newTenant } from "../support/client";
import { books, Isolate, ledgerCalls, LEASE_MS, reservation, TestClock, type Admitted } from "./support";

describe("admin changes under leases", () => {
  it("a disabled tenant is refused by every holder once its lease window ends", async () => {
    const { tenantId, key } = await newTenant();
    const clock = new TestClock();
    const holders = [0, 1].map((i) => new Isolate(`d${i}`, clock, ledgerCalls(tenantId)));
    const reserve = reservation(5, 5);
    for (const h of holders) {
      expect(await h.admit(key, reserve)).toMatchObject({ via: "ledger" });
      expect(await h.admit(key, reserve)).toMatchObject({ via: "lease" });
    }
    expect((await adminFetch(`/tenants/${tenantId}/disable`, { method: "POST" })).status).toBe(200);
    for (const h of holders) expect(await h.admit(key, reserve)).toMatchObject({ via: "lease" });
    await clock.advance(LEASE_MS);
    for (const h of holders) expect(await h.admit(key, reserve)).toEqual({ refused: "tenant_disabled" });
    expect((await adminFetch(`/tenants/${tenantId}/enable`, { method: "POST" })).status).toBe(200);
    for (const h of holders) expect(await h.admit(key, reserve)).toMatchObject({ via: "ledger" });
  });

  it("no lease admits past a key's expiry", async () => {
    const { tenantId } = await newTenant();
    const clock = new TestClock();
    const expiresAt = clock.at + LEASE_MS / 2;
    const created = await adminFetch(`/tenants/${tenantId}/keys`, { body: { expiresAt } });
    const { key } = (await created.json()) as { key: string };
    const h = new Isolate("e", clock, ledgerCalls(tenantId));
    const reserve = reservation(5, 5);
    expect(await h.admit(key, reserve)).toMatchObject({ via: "ledger" });
    await clock.advance(expiresAt - 1 - clock.at);
    expect(await h.admit(key, reserve)).toMatchObject({ via: "lease" });
    await clock.advance(1);
    expect(await h.admit(key, reserve)).toEqual({ refused: "invalid_key" });
  });

  it("no lease on a rotated secret admits past its grace; the new secret is the same key throughout", async () => {
    const { tenantId, key: old, keyId } = await newTenant();
    const clock = new TestClock();
    // A grace long enough to end after the test clock's start (a day or more ahead of the real one).
    const res = await adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { body: { graceSeconds: 3 * 86_400 } });
    const rotated = (await res.json()) as { key: string; previous: { expiresAt: number } };
    const graceEnds = rotated.previous.expiresAt;
    clock.at = graceEnds - LEASE_MS / 2;
    const h = new Isolate("r", clock, ledgerCalls(tenantId));
    const reserve = reservation(5, 5);
    for (const k of [old, rotated.key]) expect(await h.admit(k, reserve)).toMatchObject({ via: "ledger", keyId });
    await clock.advance(graceEnds - 1 - clock.at);
    for (const k of [old, rotated.key]) expect(await h.admit(k, reserve)).toMatchObject({ via: "lease", keyId });
    await clock.advance(1);
    expect(await h.admit(old, reserve)).toEqual({ refused: "invalid_key" });
    expect(await h.admit(rotated.key, reserve)).toMatchObject({ keyId });
  });

  it("a budget made while a lease is out counts what the lease served; one deleted meanwhile gets no rows back", async () => {
    const { tenantId, key } = await newTenant();
    const clock = new TestClock();
    const h = new Isolate("n", clock, ledgerCalls(tenantId));
    const reserve = reservation(20, 20);
    expect(await h.admit(key, reserve)).toMatchObject({ via: "ledger" });
    const made = await addBudget(tenantId, { metric: "cost", period: "day", limit: 1_000_000 });
    const gone = await addBudget(tenantId, { metric: "tokens", period: "total", limit: 1_000_000 });
    const a = (await h.admit(key, reserve)) as Admitted;
    expect(a.via).toBe("lease");
    expect((await adminFetch(`/tenants/${tenantId}/budgets/${gone.id}`, { method: "DELETE" })).status).toBe(200);
    await h.settle(a, 1);
    await h.settleDown();
    const b = await books(tenantId);
    const row = b.rows.find((r) => r.request_id === a.id)!;
    expect(row.cost_micros).toBe(60);
    // Nothing was reserved against it (the lease predates it), and what was served is settled.
    expect(b.usage.filter((u) => u.budget_id === made.id)).toEqual([{ budget_id: made.id, period_key: expect.any(String), settled: 60, reserved: 0 }]);
    expect(b.usage.filter((u) => u.budget_id === gone.id)).toEqual([]);
  });
});
