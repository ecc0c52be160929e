/**
 * Tenants in the admin API (issue #16): the list (stable pages, search by id or name, by state,
 * bounds), disabling and enabling (keys refused within one lease window, admitted again at once),
 * and deleting (every table, the alarm and the directory entry gone; every route 404s, keys are
 * refused, and nothing is written again). Leases' side of disabling is in test/lease/admin-changes.
 */
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addBudget, adminFetch, api, chat, errorOf, jsonOf as json, ledgerOf, newTenant, until, usageOf } from "../support/client";
import { LEASE_MS } from "../support/router-config";

const run = () => crypto.randomUUID().replace(/-/g, "").slice(0, 10);

interface TenantView {
  id: string;
  name: string;
  disabled: boolean;
  disabledAt: number | null;
  effectiveBy?: number;
}
interface Page {
  data: Array<{ id: string; name: string; disabled: boolean; createdAt: number }>;
  has_more: boolean;
  next_after: string | null;
}

/**
 * What a ledger holds on disk: its tables (SQLite's own and the runtime's `_cf_` ones aside), its
 * key-value entries and its alarm. An object that was deleted still shows in `listDurableObjectIds`
 * (its file may stay), so "nothing left" is asserted on this, the data.
 */
function storageOf(tenantId: string) {
  return runInDurableObject(ledgerOf(tenantId), async (_, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((r) => r.name),
    kv: [...(await state.storage.list()).keys()],
    alarm: await state.storage.getAlarm(),
  }));
}

describe("GET /admin/tenants", () => {
  it("keeps pages stable while tenants are added, and shows each one's state", async () => {
    const tag = run();
    for (const s of ["b", "d", "f"]) expect((await adminFetch("/tenants", { body: { id: `pg_${tag}_${s}` } })).status).toBe(201);
    const first = await json<Page>(adminFetch(`/tenants?search=${tag}&limit=2`));
    expect(first.data.map((t) => t.id)).toEqual([`pg_${tag}_b`, `pg_${tag}_d`]);
    expect(first.data[0]).toEqual({ id: `pg_${tag}_b`, name: `pg_${tag}_b`, createdAt: expect.any(Number), disabled: false });
    // One before the cursor and one after it: the next page neither repeats nor skips.
    for (const s of ["a", "e"]) expect((await adminFetch("/tenants", { body: { id: `pg_${tag}_${s}` } })).status).toBe(201);
    const second = await json<Page>(adminFetch(`/tenants?search=${tag}&limit=2&after=${first.next_after}`));
    expect(second.data.map((t) => t.id)).toEqual([`pg_${tag}_e`, `pg_${tag}_f`]);
    expect(second).toMatchObject({ has_more: false, next_after: null });
  });

  it("finds tenants by part of the id or of the name, whatever the case, accents included", async () => {
    const tag = run();
    const id = `srch_${tag}`;
    expect((await adminFetch("/tenants", { body: { id, name: `Ärzte Zürich ${tag}` } })).status).toBe(201);
    for (const search of [`ärzte zürich ${tag}`, `ZÜRICH ${tag.toUpperCase()}`, id.toUpperCase(), tag]) {
      const page = await json<Page>(adminFetch(`/tenants?search=${encodeURIComponent(search)}`));
      expect(page.data.map((t) => t.id), search).toEqual([id]);
    }
    // Renamed: found by the new name, no longer by the old one.
    expect((await adminFetch(`/tenants/${id}`, { method: "PATCH", body: { name: `Cliniques ${tag}` } })).status).toBe(200);
    expect((await json<Page>(adminFetch(`/tenants?search=${encodeURIComponent(`cliniques ${tag}`)}`))).data.map((t) => t.name)).toEqual([`Cliniques ${tag}`]);
    expect((await json<Page>(adminFetch(`/tenants?search=${encodeURIComponent(`Ärzte Zürich ${tag}`)}`))).data).toEqual([]);
  });

  it("refuses limits and parameters out of bounds with 400 and the parameter's name", async () => {
    const cases: Array<[string, string]> = [
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["limit=-1", "limit"],
      ["limit=1.5", "limit"],
      ["limit=ten", "limit"],
      ["search=", "search"],
      [`search=${"x".repeat(65)}`, "search"],
      ["disabled=maybe", "disabled"],
      [`after=${"a".repeat(65)}`, "after"],
    ];
    for (const [query, param] of cases) expect(await errorOf(adminFetch(`/tenants?${query}`)), query).toEqual({ status: 400, code: "invalid_value", param });
    expect(await errorOf(adminFetch("/tenants?surprise=1"))).toMatchObject({ status: 400, code: "invalid_value" });
    const most = await json<Page>(adminFetch("/tenants?limit=200"));
    expect(most.data.length).toBeLessThanOrEqual(200);
  });
});

describe("disabling and enabling a tenant", () => {
  it("refuses a strict tenant's keys from the next request, lists it as disabled, and admits them again once enabled", async () => {
    const { tenantId, key } = await newTenant({ allowedModels: null, strict: true });
    expect((await chat(key, { model: "chat-pool" })).status).toBe(200);

    const disabled = await json<TenantView>(adminFetch(`/tenants/${tenantId}/disable`, { body: { reason: "unpaid invoice" } }));
    expect(disabled).toMatchObject({ id: tenantId, disabled: true, disabledAt: expect.any(Number) });
    expect(disabled.effectiveBy).toBe(disabled.disabledAt! + LEASE_MS);
    for (const res of [await chat(key, { model: "chat-pool" }), await api("/models", key)]) {
      expect(await errorOf(res)).toEqual({ status: 401, code: "invalid_api_key", param: null });
    }
    // Disabling again changes nothing: the time it first took effect stands.
    expect(await json<TenantView>(adminFetch(`/tenants/${tenantId}/disable`, { method: "POST" }))).toMatchObject({ disabled: true, disabledAt: disabled.disabledAt });
    // The admin API still reads it; the list shows its state and filters by it.
    expect(await json<TenantView>(adminFetch(`/tenants/${tenantId}`))).toMatchObject({ disabled: true });
    expect((await json<Page>(adminFetch(`/tenants?search=${tenantId}&disabled=true`))).data.map((t) => [t.id, t.disabled])).toEqual([[tenantId, true]]);
    expect((await json<Page>(adminFetch(`/tenants?search=${tenantId}&disabled=false`))).data).toEqual([]);

    const before = Date.now();
    const enabled = await json<TenantView>(adminFetch(`/tenants/${tenantId}/enable`, { method: "POST" }));
    expect(enabled).toMatchObject({ disabled: false, disabledAt: disabled.disabledAt });
    expect(enabled.effectiveBy).toBeGreaterThanOrEqual(before);
    expect(enabled.effectiveBy).toBeLessThanOrEqual(Date.now());
    expect((await chat(key, { model: "chat-pool" })).status).toBe(200);
    expect((await json<Page>(adminFetch(`/tenants?search=${tenantId}&disabled=false`))).data.map((t) => t.id)).toEqual([tenantId]);
  });

  it("refuses a leased tenant's keys once the lease window it states has passed", async () => {
    const { tenantId, key } = await newTenant();
    for (let i = 0; i < 3; i++) expect((await chat(key, { model: "chat-pool" })).status).toBe(200);
    const disabled = await json<TenantView>(adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { disabled: true } }));
    expect(disabled.disabled).toBe(true);
    expect(disabled.effectiveBy! - disabled.disabledAt!).toBeGreaterThanOrEqual(LEASE_MS);
    await until(disabled.effectiveBy!);
    expect(await errorOf(chat(key, { model: "chat-pool" }))).toEqual({ status: 401, code: "invalid_api_key", param: null });
    expect((await json<Page>(adminFetch(`/tenants?search=${tenantId}`))).data[0]!.disabled).toBe(true);
  });

  it("answers bad bodies with 400 and unknown tenants with 404", async () => {
    const { tenantId } = await newTenant();
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/disable`, { body: { reason: 5 } }))).toEqual({ status: 400, code: "invalid_value", param: "reason" });
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/disable`, { body: { reason: "x", force: true } }))).toMatchObject({ status: 400, code: "invalid_value" });
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/enable`, { body: [] }))).toMatchObject({ status: 400, code: "invalid_value" });
    expect(await errorOf(adminFetch(`/tenants/nosuch_${run()}/disable`, { method: "POST" }))).toEqual({ status: 404, code: "not_found", param: null });
    expect(await errorOf(adminFetch(`/tenants/NOT-AN-ID/enable`, { method: "POST" }))).toEqual({ status: 404, code: "not_found", param: null });
    expect((await json<TenantView>(adminFetch(`/tenants/${tenantId}`))).disabled).toBe(false);
  });
});

describe("DELETE /admin/tenants/:tenant", () => {
  it("removes every table, the alarm and the directory entry; every route then 404s, its keys are refused, and nothing is written again", async () => {
    const { tenantId, key, keyId } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 50_000_000 });
    // Usage rows, a lease (leases are on in the suite) and with it an alarm.
    const served = await chat(key, { model: "chat-pool" });
    expect(served.status).toBe(200);
    await usageOf(tenantId, served.headers.get("x-request-id")!);
    expect((await chat(key, { model: "chat-pool" })).status).toBe(200);
    const full = await storageOf(tenantId);
    expect(full.tables).toEqual(expect.arrayContaining(["tenant", "api_keys", "budgets", "usage", "leases", "meta"]));
    expect(full.alarm).not.toBeNull();

    const before = Date.now();
    const res = await adminFetch(`/tenants/${tenantId}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const deleted = (await res.json()) as { effectiveBy: number };
    expect(deleted).toEqual({ object: "tenant.deleted", id: tenantId, deleted: true, effectiveBy: expect.any(Number) });
    expect(deleted.effectiveBy).toBeGreaterThanOrEqual(before + LEASE_MS);
    expect(await storageOf(tenantId)).toEqual({ tables: [], kv: [], alarm: null });

    const t = `/tenants/${tenantId}`;
    const routes: Array<[string, string, unknown?]> = [
      ["GET", t],
      ["PATCH", t, { name: "x" }],
      ["DELETE", t],
      ["POST", `${t}/disable`, {}],
      ["POST", `${t}/enable`, {}],
      ["GET", `${t}/limits`],
      ["PUT", `${t}/limits`, { rpm: 1 }],
      ["GET", `${t}/keys`],
      ["POST", `${t}/keys`, { name: "k" }],
      ["GET", `${t}/keys/${keyId}`],
      ["PATCH", `${t}/keys/${keyId}`, { name: "k" }],
      ["DELETE", `${t}/keys/${keyId}`],
      ["POST", `${t}/keys/${keyId}/rotate`, {}],
      ["GET", `${t}/keys/${keyId}/limits`],
      ["GET", `${t}/budgets`],
      ["POST", `${t}/budgets`, { metric: "cost", period: "day", limit: 1 }],
      ["GET", `${t}/usage`],
      ["GET", `${t}/usage/summary`],
    ];
    for (const [method, path, body] of routes) {
      expect(await errorOf(adminFetch(path, { method, body })), `${method} ${path}`).toEqual({ status: 404, code: "not_found", param: null });
    }
    expect((await json<Page>(adminFetch(`/tenants?search=${tenantId}`))).data).toEqual([]);

    // Within a lease window an isolate may still admit from its lease; after it, never.
    await until(deleted.effectiveBy);
    expect(await errorOf(chat(key, { model: "chat-pool" }))).toEqual({ status: 401, code: "invalid_api_key", param: null });
    expect(await errorOf(api("/usage", key))).toEqual({ status: 401, code: "invalid_api_key", param: null });
    // The isolate's lease closed into a ledger that holds nothing, and wrote nothing there.
    await new Promise((r) => setTimeout(r, LEASE_MS));
    expect(await storageOf(tenantId)).toEqual({ tables: [], kv: [], alarm: null });

    // The id is free again: a new tenant, with a new salt, which the old key does not open.
    expect((await adminFetch("/tenants", { body: { id: tenantId } })).status).toBe(201);
    expect(await errorOf(chat(key, { model: "chat-pool" }))).toEqual({ status: 401, code: "invalid_api_key", param: null });
    expect(await json<{ data: unknown[] }>(adminFetch(`${t}/keys`))).toEqual({ object: "list", data: [] });
  });

  it("answers 404 for a tenant that does not exist, and creates no storage for it", async () => {
    const ids = [`gone_${run()}`, `gone_${run()}`];
    for (const id of ids) expect(await errorOf(adminFetch(`/tenants/${id}`, { method: "DELETE" }))).toEqual({ status: 404, code: "not_found", param: null });
    const existing = new Set((await listDurableObjectIds(env.TENANT_LEDGER)).map((id) => id.toString()));
    expect(ids.filter((id) => existing.has(env.TENANT_LEDGER.idFromName(id).toString()))).toEqual([]);
  });
});
