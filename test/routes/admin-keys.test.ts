/**
 * Keys in the admin API (issue #16): reading and changing one, expiry (`expiresAt`: refused with
 * 401 `invalid_api_key` from then on, leased or not), rotation (a new secret for the same key, the
 * old one accepted until its grace ends), and the warnings an `allowedModels` outside the tenant's
 * earns. Instants the ledger judges are passed to it as `at`, so no test waits for a real deadline
 * but the end-to-end ones, which wait a few hundred milliseconds.
 */
import { describe, expect, it } from "vitest";
import { adminFetch, api, chat, errorOf, jsonOf as json, ledgerCallsOf, ledgerOf, newTenant, until, usageOf } from "../support/client";
import { LEASE_MS } from "../support/router-config";

interface KeyView {
  id: string;
  name: string;
  hint: string;
  key?: string;
  policy: { allowedModels: string[] | null };
  createdAt: number;
  revokedAt: number | null;
  expiresAt: number | null;
  rotatedAt: number | null;
  previous: { hint: string; expiresAt: number; effectiveBy?: number } | null;
  warnings?: Array<{ code: string; models: string[]; param: string; message: string; keyId?: string }>;
  effectiveBy?: number;
}

/** What the tenant's ledger says of a key presented at `at` (authentication only, nothing reserved). */
async function verdict(tenantId: string, key: string, at: number): Promise<string> {
  const result = await ledgerOf(tenantId).admit({ key, requestId: `v_${crypto.randomUUID()}`, at, model: null, reserve: null });
  return result.ok ? `ok:${result.keyId}` : result.reason;
}

const HOUR = 3_600_000;

describe("a key's expiry", () => {
  it("is taken on creation (epoch ms or ISO 8601), shown, changed and cleared by PATCH", async () => {
    const { tenantId } = await newTenant();
    const at = Date.now() + 5 * HOUR;
    const created = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { name: "ci", expiresAt: at } }));
    expect(created).toMatchObject({ name: "ci", expiresAt: at, rotatedAt: null, previous: null, warnings: [] });
    const iso = new Date(at + HOUR).toISOString();
    const second = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { expiresAt: iso.replace("Z", "+00:00") } }));
    expect(second.expiresAt).toBe(at + HOUR);

    const read = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${created.id}`));
    expect(read).toEqual({ ...created, key: undefined, warnings: undefined });
    const patched = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${created.id}`, { method: "PATCH", body: { name: "ci-2", expiresAt: at + 2 * HOUR } }));
    expect(patched).toMatchObject({ id: created.id, name: "ci-2", expiresAt: at + 2 * HOUR, warnings: [], effectiveBy: expect.any(Number) });
    const cleared = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${created.id}`, { method: "PATCH", body: { expiresAt: null } }));
    expect(cleared.expiresAt).toBeNull();
    expect((await json<{ data: KeyView[] }>(adminFetch(`/tenants/${tenantId}/keys`))).data.find((k) => k.id === created.id)).toMatchObject({ name: "ci-2", expiresAt: null });
  });

  it("refuses expiries in the past, too far ahead, or not instants, with 400 on expiresAt", async () => {
    const { tenantId, keyId } = await newTenant();
    for (const expiresAt of [Date.now() - 1, 0, -5, Date.now() + 11 * 365 * 24 * HOUR, "tomorrow", "2030-01-01", 1.5, true]) {
      for (const [method, path] of [["POST", `/tenants/${tenantId}/keys`], ["PATCH", `/tenants/${tenantId}/keys/${keyId}`]] as const) {
        expect(await errorOf(adminFetch(path, { method, body: { expiresAt } })), `${method} ${String(expiresAt)}`).toEqual({ status: 400, code: "invalid_value", param: "expiresAt" });
      }
    }
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/key_nosuch`, { method: "PATCH", body: { name: "x" } }))).toEqual({ status: 404, code: "not_found", param: null });
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/key_nosuch`))).toEqual({ status: 404, code: "not_found", param: null });
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "PATCH", body: { secret: "x" } }))).toMatchObject({ status: 400, code: "invalid_value" });
  });

  it("is judged at the request's own time: live until the instant before, refused from it on", async () => {
    const { tenantId } = await newTenant();
    const expiresAt = Date.now() + 3 * HOUR;
    const { key, id } = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { expiresAt } }));
    expect(await verdict(tenantId, key!, expiresAt - 1)).toBe(`ok:${id}`);
    expect(await verdict(tenantId, key!, expiresAt)).toBe("invalid_key");
    // A lease asked for just before ends at the expiry, not a window later.
    const want = { holder: "t", requests: 4, perRequest: { costMicros: 1, tokens: 1 }, slots: 4, leaseMs: 60_000, holdMs: 60_000 };
    const lease = await ledgerOf(tenantId).acquireLease({ key: key!, at: expiresAt - 10, want });
    expect(lease).toMatchObject({ ok: true, lease: { admitUntil: expiresAt } });
    expect(await ledgerOf(tenantId).acquireLease({ key: key!, at: expiresAt, want })).toEqual({ ok: false, reason: "invalid_key" });
  });

  // Leases admit for LEASE_MS without asking the ledger: without the cap at the expiry, requests
  // in the last window before it would still be admitted after it.
  it("refuses an expired key with 401 invalid_api_key at once, though its requests were leased", async () => {
    const { tenantId } = await newTenant();
    const expiresAt = Date.now() + 3 * LEASE_MS;
    const { key } = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { expiresAt } }));
    const calls = () => ledgerCallsOf("admit");
    const admitsBefore = await calls();
    const outcomes: Array<{ startedAt: number; status: number }> = [];
    while (Date.now() < expiresAt + LEASE_MS) {
      const startedAt = Date.now();
      const res = await chat(key!, { model: "chat-pool" });
      outcomes.push({ startedAt, status: res.status });
      if (res.status !== 200) expect(await errorOf(res)).toEqual({ status: 401, code: "invalid_api_key", param: null });
      else await res.arrayBuffer();
    }
    const before = outcomes.filter((o) => o.startedAt < expiresAt - 50);
    const after = outcomes.filter((o) => o.startedAt >= expiresAt);
    expect(before.length).toBeGreaterThan(2);
    expect(after.length).toBeGreaterThan(0);
    expect(before.every((o) => o.status === 200)).toBe(true);
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
    // Most were admitted from a lease, not by the ledger.
    expect((await calls()) - admitsBefore).toBeLessThan(outcomes.length);
  });
});

describe("POST /admin/tenants/:tenant/keys/:keyId/rotate", () => {
  it("gives the same key a new secret; the old one is accepted until its grace ends (a day by default)", async () => {
    const { tenantId, key: old, keyId } = await newTenant();
    const served = await chat(old, { model: "chat-pool" });
    expect(served.status).toBe(200);
    const before = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}`));

    const rotated = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { method: "POST" }));
    expect(rotated.key).toMatch(new RegExp(`^tr-${tenantId}-[A-Za-z0-9_-]{32}-[0-9a-f]{32}$`));
    expect(rotated.key).not.toBe(old);
    const graceEnds = rotated.rotatedAt! + 86_400_000;
    expect(rotated).toMatchObject({ id: keyId, name: before.name, policy: before.policy, createdAt: before.createdAt, hint: `tr-${tenantId}-…${rotated.key!.slice(-4)}` });
    expect(rotated.previous).toEqual({ hint: before.hint, expiresAt: graceEnds, effectiveBy: graceEnds });
    // The listing shows the old secret's hint while its grace lasts; never a secret.
    const listed = await json<{ data: KeyView[] }>(adminFetch(`/tenants/${tenantId}/keys`));
    expect(listed.data).toEqual([{ ...rotated, key: undefined, previous: { hint: before.hint, expiresAt: graceEnds } }].map((k) => JSON.parse(JSON.stringify(k))));
    expect(JSON.stringify(listed)).not.toContain(rotated.key!.slice(-20));

    // Both secrets work now, as the same key; the old one until the grace's last instant.
    for (const k of [old, rotated.key!]) {
      const res = await chat(k, { model: "chat-pool" });
      expect(res.status).toBe(200);
      expect((await usageOf(tenantId, res.headers.get("x-request-id")!)).keyId).toBe(keyId);
    }
    expect(await verdict(tenantId, old, graceEnds - 1)).toBe(`ok:${keyId}`);
    expect(await verdict(tenantId, old, graceEnds)).toBe("invalid_key");
    expect(await verdict(tenantId, rotated.key!, graceEnds)).toBe(`ok:${keyId}`);
  });

  it("with graceSeconds 0 refuses the old secret within one lease window; rotating again forgets the secret in grace", async () => {
    const { tenantId, key: first, keyId } = await newTenant();
    expect((await chat(first, { model: "chat-pool" })).status).toBe(200);
    const now = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { body: { graceSeconds: 0 } }));
    expect(now.previous).toEqual({ hint: expect.any(String), expiresAt: now.rotatedAt, effectiveBy: now.rotatedAt! + LEASE_MS });
    expect((await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}`))).previous).toBeNull();
    await until(now.previous!.effectiveBy!);
    expect(await errorOf(chat(first, { model: "chat-pool" }))).toEqual({ status: 401, code: "invalid_api_key", param: null });
    expect((await chat(now.key!, { model: "chat-pool" })).status).toBe(200);

    const second = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { body: { graceSeconds: 3600 } }));
    const third = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { body: { graceSeconds: 3600 } }));
    const at = third.rotatedAt!;
    expect(await verdict(tenantId, now.key!, at)).toBe("invalid_key");
    expect(await verdict(tenantId, second.key!, at)).toBe(`ok:${keyId}`);
    expect(await verdict(tenantId, third.key!, at)).toBe(`ok:${keyId}`);
    // Revoking the key refuses every secret it has.
    expect((await adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" })).status).toBe(200);
    for (const k of [second.key!, third.key!]) expect(await verdict(tenantId, k, at)).toBe("invalid_key");
  });

  it("keeps the old secret no longer than the key's own expiry", async () => {
    const { tenantId } = await newTenant();
    const expiresAt = Date.now() + 2 * HOUR;
    const { id, key: old } = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { expiresAt } }));
    const rotated = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${id}/rotate`, { method: "POST" }));
    expect(rotated).toMatchObject({ expiresAt, previous: { expiresAt, effectiveBy: expiresAt } });
    expect(await verdict(tenantId, old!, expiresAt - 1)).toBe(`ok:${id}`);
    for (const k of [old!, rotated.key!]) expect(await verdict(tenantId, k, expiresAt)).toBe("invalid_key");
  });

  it("answers bad grace with 400, unknown keys with 404, revoked or expired keys with 409", async () => {
    const { tenantId, keyId } = await newTenant();
    for (const graceSeconds of [-1, 30 * 86_400 + 1, 1.5, "60", null]) {
      expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { body: { graceSeconds } })), String(graceSeconds)).toEqual({ status: 400, code: "invalid_value", param: "graceSeconds" });
    }
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { body: { grace: 5 } }))).toMatchObject({ status: 400, code: "invalid_value" });
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/key_nosuch/rotate`, { method: "POST" }))).toEqual({ status: 404, code: "not_found", param: null });

    const soon = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { expiresAt: Date.now() + 200 } }));
    await until(soon.expiresAt!);
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/${soon.id}/rotate`, { method: "POST" }))).toEqual({ status: 409, code: "conflict", param: null });
    expect((await adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" })).status).toBe(200);
    expect(await errorOf(adminFetch(`/tenants/${tenantId}/keys/${keyId}/rotate`, { method: "POST" }))).toEqual({ status: 409, code: "conflict", param: null });
    // Nothing changed: the revoked key has no new secret.
    expect((await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${keyId}`))).rotatedAt).toBeNull();
  });
});

describe("warnings for allowedModels", () => {
  it("names a key's models its tenant does not allow, scenarios the config lacks, and a key left with none", async () => {
    const { tenantId } = await newTenant({ allowedModels: ["chat-main", "chat-pool"] });
    const key = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys`, { body: { policy: { allowedModels: ["chat-main", "chat-cool", "gpt-9"] } } }));
    expect(key.warnings).toEqual([
      { code: "model_not_allowed_by_tenant", param: "policy.allowedModels", models: ["chat-cool", "gpt-9"], message: "The tenant's policy does not allow 'chat-cool', 'gpt-9': this key's requests for them are refused." },
      { code: "unknown_scenario", param: "policy.allowedModels", models: ["gpt-9"], message: "Not a scenario of the routing config: 'gpt-9'. Requests for them are refused until the config has them." },
    ]);
    // Stored as given: the warning is advice, and admission refuses what it says.
    expect(key.policy.allowedModels).toEqual(["chat-main", "chat-cool", "gpt-9"]);
    expect(await errorOf(chat(key.key!, { model: "chat-cool" }))).toMatchObject({ status: 404, code: "model_not_found" });

    const none = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${key.id}`, { method: "PATCH", body: { policy: { allowedModels: ["chat-cool"] } } }));
    expect(none.warnings!.map((w) => [w.code, w.models])).toEqual([
      ["model_not_allowed_by_tenant", ["chat-cool"]],
      ["no_model_allowed", []],
    ]);
    const fine = await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${key.id}`, { method: "PATCH", body: { policy: { allowedModels: ["chat-pool"] } } }));
    expect(fine.warnings).toEqual([]);
    // A patch without a policy has nothing to warn about.
    expect((await json<KeyView>(adminFetch(`/tenants/${tenantId}/keys/${key.id}`, { method: "PATCH", body: { name: "renamed" } }))).warnings).toEqual([]);
  });

  it("names scenarios a tenant's policy lacks, and the keys a narrowed tenant policy leaves outside", async () => {
    const id = `warn_${crypto.randomUUID().slice(0, 8)}`;
    const created = await json<{ warnings: Array<{ code: string; models: string[] }> }>(adminFetch("/tenants", { body: { id, policy: { allowedModels: ["chat-main", "nope"] } } }));
    expect(created.warnings.map((w) => [w.code, w.models])).toEqual([["unknown_scenario", ["nope"]]]);
    const wide = await json<KeyView>(adminFetch(`/tenants/${id}/keys`, { body: { policy: { allowedModels: ["chat-main"] } } }));
    await adminFetch(`/tenants/${id}/keys`, { body: { name: "open" } });
    const narrowed = await json<{ warnings: Array<{ code: string; models: string[]; keyId?: string }> }>(adminFetch(`/tenants/${id}`, { method: "PATCH", body: { policy: { allowedModels: ["chat-pool"] } } }));
    expect(narrowed.warnings).toEqual([
      { code: "key_models_outside_tenant", param: "policy.allowedModels", models: ["chat-main"], keyId: wide.id, message: `Key '${wide.id}' names 'chat-main', which the tenant's policy does not allow: its requests for them are refused.` },
    ]);
    expect(await errorOf(api("/models/chat-main", wide.key!))).toMatchObject({ status: 404 });
  });
});
