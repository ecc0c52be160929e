import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminFetch, chat, ledgerOf, newTenant } from "../support/client";
import { DEMO_TENANT_KEY } from "../support/router-config";

describe("admin API", () => {
  it("refuses callers without the admin token", async () => {
    for (const token of ["", "wrong-token", "test-admin-token-but-longer"]) {
      const res = await adminFetch("/tenants", { body: { id: "whoever" }, token });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_admin_token");
    }
  });

  it("creates a tenant once, then 409", async () => {
    const id = `adm_${crypto.randomUUID().slice(0, 8)}`;
    const res = await adminFetch("/tenants", { body: { id, name: "Acme" } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ id, name: "Acme", disabled: false, policy: { allowedModels: null } });
    expect((await adminFetch("/tenants", { body: { id } })).status).toBe(409);
    expect(await (await adminFetch(`/tenants/${id}`)).json()).toMatchObject({ id, name: "Acme" });
    expect((await adminFetch(`/tenants/nosuch_${id}`)).status).toBe(404);
  });

  it("validates bodies with the offending param", async () => {
    const cases: Array<[unknown, string]> = [
      [{ id: "Has-Dash" }, "id"],
      [{ id: "ok", policy: { allowedModels: "all" } }, "policy.allowedModels"],
      [{ id: "ok", surprise: 1 }, ""],
    ];
    for (const [body, param] of cases) {
      const res = await adminFetch("/tenants", { body });
      expect(res.status).toBe(400);
      const error = ((await res.json()) as { error: { param: string | null } }).error;
      if (param) expect(error.param).toBe(param);
    }
  });

  it("shows a key's secret once, lists only hints, and stores only a salted hash", async () => {
    const { tenantId, key, keyId } = await newTenant();
    // Signed (issue #12): 192 random bits, then the MAC under the deployment's signing secret.
    expect(key).toMatch(new RegExp(`^tr-${tenantId}-[A-Za-z0-9_-]{32}-[0-9a-f]{32}$`));
    const list = (await (await adminFetch(`/tenants/${tenantId}/keys`)).json()) as { data: Array<Record<string, unknown>> };
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ id: keyId, name: "test", hint: `tr-${tenantId}-…${key.slice(-4)}`, revokedAt: null });
    expect(JSON.stringify(list)).not.toContain(key.slice(-20));

    const stored = await runInDurableObject(ledgerOf(tenantId), (_, state) =>
      JSON.stringify(state.storage.sql.exec("SELECT * FROM api_keys").toArray(), (_k, v) =>
        v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v,
      ),
    );
    expect(stored).not.toContain(key.slice(-20));
  });

  // A strict key's every request is admitted by the ledger; a leased key's revocation takes up to
  // one lease window (test/lease/).
  it("revokes a strict key: the very next request is refused", async () => {
    const { tenantId, key, keyId } = await newTenant({ allowedModels: null, strict: true });
    expect((await chat(key, { model: "chat-pool" })).status).toBe(200);
    const revoked = await adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: number | null }).revokedAt).toEqual(expect.any(Number));
    const after = await chat(key, { model: "chat-pool" });
    expect(after.status).toBe(401);
    expect((await adminFetch(`/tenants/${tenantId}/keys/key_nosuch`, { method: "DELETE" })).status).toBe(404);
  });

  it("keeps tenants apart: a key only opens its own tenant's ledger", async () => {
    const a = await newTenant();
    const b = await newTenant();
    // b's secret under a's tenant id: hashed with a's salt, it matches nothing.
    const forged = `tr-${a.tenantId}-${b.key.slice(`tr-${b.tenantId}-`.length)}`;
    expect((await chat(forged, { model: "chat-pool" })).status).toBe(401);
    expect((await chat(b.key, { model: "chat-pool" })).status).toBe(200);
  });

  it("seeds the local demo tenant from DEMO_TENANT_KEY", async () => {
    const res = await chat(DEMO_TENANT_KEY, { model: "chat-pool" });
    expect(res.status).toBe(200);
    const keys = (await (await adminFetch("/tenants/demo/keys")).json()) as { data: Array<{ name: string }> };
    expect(keys.data.map((k) => k.name)).toEqual(["demo key"]);
  });
});

describe("TenantLedger", () => {
  it("records a request's usage exactly once", async () => {
    const { tenantId, keyId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const record = {
      requestId: "req_once",
      at: 1,
      keyId,
      endpoint: "chat" as const,
      scenario: "chat-main",
      origin: "alpha",
      model: "alpha-large",
      stream: false,
      promptTokens: 10,
      cachedTokens: 2,
      cacheWriteTokens: 0,
      completionTokens: 5,
      costMicros: 17,
      usageSource: "origin" as const,
      status: 200,
      outcome: "ok",
      latencyMs: 12,
    };
    expect(await ledger.settle(record)).toBe(true);
    expect(await ledger.settle({ ...record, completionTokens: 999 })).toBe(false);
    // A row settled without attribution, feedback or quality gates reads back with none.
    expect(await ledger.usageOf("req_once")).toEqual({ ...record, reservedMicros: 0, user: null, metadata: null, tags: [], feedback: null, gates: null });
  });
});
