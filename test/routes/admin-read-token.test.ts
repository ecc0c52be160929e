/**
 * The read-only admin token (`ADMIN_READ_TOKEN`, issue #16): every GET under /admin answers it,
 * every other method is refused with 403 `permission_denied` before its route runs. The routes are
 * enumerated from the app itself, so a write route added later is covered without touching this
 * file; each refusal is shown to have changed nothing.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { addBudget, adminFetch, newTenant } from "../support/client";
import { ADMIN_READ_TOKEN } from "../support/router-config";

/** Every route under /admin with a handler of its own (middleware is registered as `ALL`). */
const ADMIN_ROUTES = [...new Map(createApp().routes.filter((r) => r.path.startsWith("/admin/") && r.method !== "ALL").map((r) => [`${r.method} ${r.path}`, r])).values()];
const WRITES = ADMIN_ROUTES.filter((r) => r.method !== "GET");
const READS = ADMIN_ROUTES.filter((r) => r.method === "GET");

/** The app's route pattern, its parameters filled with things that exist. */
function fill(path: string, ids: Record<string, string>): string {
  return path.replace("/admin", "").replace(/:(\w+)/g, (_, name: string) => {
    if (!(name in ids)) throw new Error(`no value for :${name} in ${path}`);
    return ids[name]!;
  });
}

async function state(tenantId: string) {
  const read = async (path: string) => (await adminFetch(path)).json();
  return {
    tenant: await read(`/tenants/${tenantId}`),
    keys: await read(`/tenants/${tenantId}/keys`),
    budgets: await read(`/tenants/${tenantId}/budgets`),
    audit: await read(`/audit?tenant=${tenantId}&limit=200`),
    canaryAudit: await read("/audit?action=scenario&limit=1"),
  };
}

describe("ADMIN_READ_TOKEN", () => {
  it("enumerates the admin routes: the writes include tenant delete, key rotation and the rest", () => {
    const writes = WRITES.map((r) => `${r.method} ${r.path}`);
    expect(writes).toEqual(
      expect.arrayContaining([
        "POST /admin/tenants",
        "PATCH /admin/tenants/:tenant",
        "DELETE /admin/tenants/:tenant",
        "POST /admin/tenants/:tenant/disable",
        "POST /admin/tenants/:tenant/enable",
        "PUT /admin/tenants/:tenant/limits",
        "POST /admin/tenants/:tenant/keys",
        "PATCH /admin/tenants/:tenant/keys/:keyId",
        "DELETE /admin/tenants/:tenant/keys/:keyId",
        "POST /admin/tenants/:tenant/keys/:keyId/rotate",
        "PUT /admin/tenants/:tenant/keys/:keyId/limits",
        "POST /admin/tenants/:tenant/budgets",
        "PUT /admin/tenants/:tenant/budgets/:budgetId",
        "DELETE /admin/tenants/:tenant/budgets/:budgetId",
        "POST /admin/tenants/:tenant/budgets/:budgetId/reset",
        "POST /admin/directory/adopt",
        "DELETE /admin/scenarios/:scenario/canary-stop",
        "PUT /admin/config",
        "POST /admin/config/rollback",
      ]),
    );
    expect(READS.map((r) => r.path)).toEqual(expect.arrayContaining(["/admin/tenants", "/admin/audit", "/admin/whoami", "/admin/tenants/:tenant/usage"]));
  });

  it("is refused every write with 403 permission_denied, and nothing changes", async () => {
    const { tenantId, keyId } = await newTenant();
    const budget = await addBudget(tenantId, { metric: "cost", period: "day", limit: 1_000_000 });
    const ids = { tenant: tenantId, keyId, budgetId: budget.id, scenario: "chat-canary", origin: "alpha", n: "1" };
    const before = await state(tenantId);
    for (const route of WRITES) {
      const path = fill(route.path, ids);
      // A body each route would accept from the admin token, so only the token stands in the way.
      const res = await adminFetch(path, { method: route.method, body: route.path.endsWith("/adopt") ? { ids: [tenantId] } : {}, token: ADMIN_READ_TOKEN });
      expect(res.status, `${route.method} ${path}`).toBe(403);
      expect(await res.json()).toEqual({
        error: { message: `The read-only admin token may only read (GET); ${route.method} needs the admin token.`, type: "permission_error", param: null, code: "permission_denied" },
      });
    }
    // Unknown routes too: the read token cannot probe for writes.
    expect((await adminFetch("/no/such/route", { method: "POST", body: {}, token: ADMIN_READ_TOKEN })).status).toBe(403);
    expect(await state(tenantId)).toEqual(before);
  });

  it("reads every GET route", async () => {
    const { tenantId, keyId } = await newTenant();
    const budget = await addBudget(tenantId, { metric: "tokens", period: "month", limit: 1_000 });
    const ids = { tenant: tenantId, keyId, budgetId: budget.id, scenario: "chat-canary", origin: "alpha", n: "1" };
    /** Routes whose query has a required field. */
    const queries: Record<string, string> = { "/admin/config/diff": "?from=1" };
    for (const route of READS) {
      // A migration is read of a scenario that has one.
      const path = fill(route.path, route.path.endsWith("/migration") ? { ...ids, scenario: "chat-migrating" } : ids) + (queries[route.path] ?? "");
      const res = await adminFetch(path, { token: ADMIN_READ_TOKEN });
      expect(res.status, `GET ${path}: ${res.status === 200 ? "" : await res.clone().text()}`).toBe(200);
      await res.arrayBuffer();
    }
    const whoami = (await (await adminFetch("/whoami", { token: ADMIN_READ_TOKEN })).json()) as { kind: string; fingerprint: string };
    expect(whoami).toEqual({ object: "admin.token", kind: "read", fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect((await adminFetch("/tenants", { method: "HEAD", token: ADMIN_READ_TOKEN })).status).toBe(200);
    // A wrong token is no read token.
    expect((await adminFetch("/tenants", { token: `${ADMIN_READ_TOKEN}x` })).status).toBe(401);
  });
});
