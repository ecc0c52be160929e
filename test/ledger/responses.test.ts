/**
 * Stored Responses API responses in the TenantLedger (src/ledger/response-store.ts), through real
 * stubs: kept for the tenant's retention, read, chained back through previous_response_id,
 * deleted, swept by the alarm; never written for a tenant that does not exist.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_CHAIN_LINKS } from "../../src/ledger/response-store";
import { adminFetch, ledgerOf, newTenant } from "../support/client";
import { DAY_MS } from "../support/clock";

const row = (id: string, previousResponseId: string | null, createdAt: number) => ({ id, previousResponseId, createdAt, body: JSON.stringify({ id }) });

const rowsOf = (tenantId: string) =>
  runInDurableObject(ledgerOf(tenantId), (_, state) => state.storage.sql.exec<{ id: string; expires_at: number }>("SELECT id, expires_at FROM responses ORDER BY id").toArray());

describe("stored responses", () => {
  it("keeps a response for the tenant's retention (30 days by default) and reads it back until then", async () => {
    const { tenantId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const now = Date.now();
    expect(await ledger.storeResponse(row("resp_a", null, now))).toBe(true);
    expect(await rowsOf(tenantId)).toEqual([{ id: "resp_a", expires_at: now + 30 * DAY_MS }]);
    expect(await ledger.getResponse("resp_a", now)).toBe(JSON.stringify({ id: "resp_a" }));
    expect(await ledger.getResponse("resp_a", now + 30 * DAY_MS)).toBeNull();
    expect(await ledger.getResponse("resp_b", now)).toBeNull();
  });

  it("takes the retention the tenant sets", async () => {
    const { tenantId } = await newTenant();
    expect((await adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { responseRetentionDays: 2 } })).status).toBe(200);
    const tenant = (await (await adminFetch(`/tenants/${tenantId}`)).json()) as { responseRetentionDays: number };
    expect(tenant.responseRetentionDays).toBe(2);
    const now = Date.now();
    await ledgerOf(tenantId).storeResponse(row("resp_a", null, now));
    expect(await rowsOf(tenantId)).toEqual([{ id: "resp_a", expires_at: now + 2 * DAY_MS }]);
    expect((await adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { responseRetentionDays: 0 } })).status).toBe(400);
  });

  it("rebuilds a conversation oldest first, and names the link that is missing", async () => {
    const { tenantId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const now = Date.now();
    await ledger.storeResponse(row("resp_1", null, now));
    await ledger.storeResponse(row("resp_2", "resp_1", now));
    await ledger.storeResponse(row("resp_3", "resp_2", now));
    expect(await ledger.responseChain("resp_3", now)).toEqual({ ok: true, bodies: ["resp_1", "resp_2", "resp_3"].map((id) => JSON.stringify({ id })) });
    expect(await ledger.deleteResponse("resp_2", now)).toBe(true);
    expect(await ledger.deleteResponse("resp_2", now)).toBe(false);
    expect(await ledger.responseChain("resp_3", now)).toEqual({ ok: false, reason: "not_found", id: "resp_2" });
    expect(await ledger.responseChain("resp_9", now)).toEqual({ ok: false, reason: "not_found", id: "resp_9" });
  });

  it("stops a walk that is too long or loops", async () => {
    const { tenantId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const now = Date.now();
    // A loop cannot be made through the API; written directly, the walk still ends.
    await ledger.storeResponse(row("resp_x", "resp_y", now));
    await ledger.storeResponse(row("resp_y", "resp_x", now));
    expect(await ledger.responseChain("resp_x", now)).toEqual({ ok: false, reason: "too_long" });
    await runInDurableObject(ledger, (_, state) => {
      for (let i = 1; i <= MAX_CHAIN_LINKS + 1; i++) {
        state.storage.sql.exec("INSERT INTO responses (id, previous_response_id, created_at, expires_at, body) VALUES (?, ?, ?, ?, '{}')", `resp_n${i}`, i > 1 ? `resp_n${i - 1}` : null, now, now + DAY_MS);
      }
    });
    expect((await ledger.responseChain(`resp_n${MAX_CHAIN_LINKS}`, now)).ok).toBe(true);
    expect(await ledger.responseChain(`resp_n${MAX_CHAIN_LINKS + 1}`, now)).toEqual({ ok: false, reason: "too_long" });
  });

  it("is swept by the alarm once expired, which the next expiry re-arms", async () => {
    const { tenantId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const now = Date.now();
    // Created long enough ago that its 30 days are over by the real clock: the alarm it arms is
    // due at once, and fires by itself (forcing it would run it as of the latest alarm set).
    await ledger.storeResponse(row("resp_new", null, now));
    await ledger.storeResponse(row("resp_old", null, now - 31 * DAY_MS));
    for (let i = 0; i < 250 && (await rowsOf(tenantId)).length > 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await rowsOf(tenantId)).map((r) => r.id)).toEqual(["resp_new"]);
    const alarm = await runInDurableObject(ledger, (_, state) => state.storage.getAlarm());
    expect(alarm).toBe(now + 30 * DAY_MS);
  });

  it("writes nothing for a tenant that does not exist", async () => {
    const name = `nobody_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const ledger = ledgerOf(name);
    expect(await ledger.storeResponse(row("resp_a", null, Date.now()))).toBe(false);
    expect(await ledger.getResponse("resp_a", Date.now())).toBeNull();
    expect(await ledger.responseChain("resp_a", Date.now())).toEqual({ ok: false, reason: "not_found", id: "resp_a" });
    expect(await ledger.deleteResponse("resp_a", Date.now())).toBe(false);
    const tables = await runInDurableObject(ledger, (_, state) => state.storage.sql.exec("SELECT name FROM sqlite_master").toArray());
    expect(tables).toEqual([]);
  });
});
