/**
 * The tenant directory and the key check in the Worker (issue #12, item 1): tenants are listed,
 * keys made before the MAC keep working for listed tenants, tenants made before the directory are
 * adopted, and a ledger without a tenant writes nothing.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminFetch, api, chat, ledgerOf, newTenant } from "../support/client";
import { DEMO_TENANT_KEY } from "../support/router-config";

const OPEN = { allowedModels: null, boundary: null, maxPriority: "interactive" as const, debug: false, strict: false };
const run = () => crypto.randomUUID().replace(/-/g, "").slice(0, 10);

/** The tables of an object's SQLite database. */
function tablesOf(stub: DurableObjectStub): Promise<string[]> {
  return runInDurableObject(stub, (_, state) =>
    state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray().map((r) => r.name),
  );
}

describe("the tenant directory", () => {
  it("lists tenants in id order, by pages, and finds them by part of the id or name", async () => {
    const tag = run();
    for (const [id, name] of [[`dir_${tag}_b`, "Beta Corp"], [`dir_${tag}_a`, "Alpha Labs"], [`dir_${tag}_c`, "Gamma"]]) {
      expect((await adminFetch("/tenants", { body: { id, name } })).status).toBe(201);
    }
    const first = (await (await adminFetch(`/tenants?search=${tag}&limit=2`)).json()) as { data: Array<{ id: string; name: string }>; has_more: boolean; next_after: string };
    expect(first.data.map((t) => t.id)).toEqual([`dir_${tag}_a`, `dir_${tag}_b`]);
    expect(first).toMatchObject({ has_more: true, next_after: `dir_${tag}_b` });
    const second = (await (await adminFetch(`/tenants?search=${tag}&limit=2&after=${first.next_after}`)).json()) as { data: Array<{ id: string }>; has_more: boolean };
    expect(second.data.map((t) => t.id)).toEqual([`dir_${tag}_c`]);
    expect(second.has_more).toBe(false);
    // By name, whatever the case.
    const byName = (await (await adminFetch(`/tenants?search=ALPHA%20LABS`)).json()) as { data: Array<{ id: string; name: string; createdAt: number }> };
    expect(byName.data.find((t) => t.id === `dir_${tag}_a`)).toMatchObject({ name: "Alpha Labs", createdAt: expect.any(Number) });
    expect((await adminFetch("/tenants?limit=0")).status).toBe(400);
  });

  it("refuses a second tenant with the same id, and keeps the first", async () => {
    const id = `dup_${run()}`;
    expect((await adminFetch("/tenants", { body: { id, name: "first" } })).status).toBe(201);
    const again = await adminFetch("/tenants", { body: { id, name: "second" } });
    expect(again.status).toBe(409);
    expect(((await (await adminFetch(`/tenants/${id}`)).json()) as { name: string }).name).toBe("first");
  });

  it("serves the local demo's legacy key (no MAC), its tenant being listed from the start", async () => {
    expect((await api("/models", DEMO_TENANT_KEY)).status).toBe(200);
    expect((await api("/models", "tr-demo-wrong")).status).toBe(401);
  });

  it("adopts tenants made before the directory, so their legacy keys keep working", async () => {
    // A tenant and a legacy key made the old way: straight in the ledger, never listed.
    const id = `old_${run()}`;
    const legacy = `tr-${id}-LegacySecretOfThirtyTwoCharsXYZ0`;
    const ledger = ledgerOf(id);
    await ledger.createTenant({ id, name: "Old Co", policy: OPEN });
    expect(await ledger.createKey({ name: "old", policy: OPEN, secret: legacy })).not.toBeNull();
    expect((await chat(legacy, { model: "chat-pool" })).status).toBe(401);
    expect((await adminFetch(`/tenants/${id}`)).status).toBe(404);

    const unknown = `never_${run()}`;
    const adopted = await adminFetch("/directory/adopt", { body: { ids: [id, unknown, "demo"] } });
    expect(await adopted.json()).toEqual({ object: "directory.adoption", results: { [id]: "adopted", [unknown]: "not_found", demo: "listed" } });
    expect((await chat(legacy, { model: "chat-pool" })).status).toBe(200);
    expect(((await (await adminFetch(`/tenants/${id}`)).json()) as { name: string }).name).toBe("Old Co");
    // Looking for the unknown tenant wrote nothing in its ledger.
    expect(await tablesOf(ledgerOf(unknown))).toEqual([]);
  });

  it("refuses a signed key with a wrong MAC, and serves the right one", async () => {
    const { key } = await newTenant();
    const forged = key.slice(0, -1) + (key.endsWith("0") ? "1" : "0");
    const res = await chat(forged, { model: "chat-pool" });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    expect((await chat(key, { model: "chat-pool" })).status).toBe(200);
  });
});

describe("a ledger without a tenant", () => {
  it("writes nothing, whatever it is asked", async () => {
    const stub = env.TENANT_LEDGER.getByName(`ghost_${run()}`);
    expect(await stub.getTenant()).toBeNull();
    expect(await stub.admit({ key: "tr-ghost-x", requestId: "r1", at: Date.now(), model: null, reserve: null })).toEqual({ ok: false, reason: "invalid_key" });
    expect(await stub.listKeys()).toEqual([]);
    expect(await stub.listBudgets(Date.now())).toEqual([]);
    expect(await stub.queryUsage({ limit: 10 } as never)).toEqual({ data: [], nextCursor: null });
    expect(await stub.revokeKey("key_x")).toBeNull();
    expect(await stub.deleteBudget("bud_x")).toBe(false);
    expect(await tablesOf(stub)).toEqual([]);
  });
});
