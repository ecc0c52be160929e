/**
 * The audit log (issue #16): every change an admin token makes is a row (who: the token's kind and
 * fingerprint; what: method, route, action, tenant, target, a summary with no secret; when), read
 * at GET /admin/audit newest first or following from an id, by tenant or action. Refused requests
 * leave no row, rows cannot be changed or removed, and a write route that records nothing itself
 * still leaves one.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { importSigningKey } from "../../src/auth/api-key";
import { tokenFingerprint } from "../../src/auth/admin-token";
import { DIRECTORY_NAME } from "../../src/directory/tenant-directory";
import type { AppEnv } from "../../src/env";
import { adminAuth } from "../../src/routes/admin-auth";
import { auditTrail } from "../../src/routes/admin-audit";
import { adminFetch, newTenant } from "../support/client";
import { ADMIN_READ_TOKEN, ADMIN_TOKEN } from "../support/router-config";

interface Entry {
  object: string;
  id: number;
  at: number;
  actor: { token: string; fingerprint: string };
  method: string;
  route: string;
  action: string;
  tenant: string | null;
  target: string | null;
  summary: Record<string, unknown>;
  requestId: string;
}
interface AuditPage {
  data: Entry[];
  has_more: boolean;
  next_before?: number | null;
  next_after?: number | null;
}

const directory = () => env.TENANT_DIRECTORY.getByName(DIRECTORY_NAME);

async function fingerprintOf(token: string): Promise<string> {
  return tokenFingerprint(await importSigningKey(await directory().signingSecret()), token);
}

async function auditOf(query: string): Promise<AuditPage> {
  const res = await adminFetch(`/audit?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as AuditPage;
}

/** Sends an admin request; returns its JSON body and request id. */
async function change(path: string, init: { method?: string; body?: unknown }): Promise<{ body: Record<string, unknown>; requestId: string; status: number }> {
  const res = await adminFetch(path, init);
  return { body: (await res.json()) as Record<string, unknown>, requestId: res.headers.get("x-request-id")!, status: res.status };
}

describe("the audit log", () => {
  it("records each change: who, what (no secret in it), when, in order", async () => {
    const id = `aud_${crypto.randomUUID().slice(0, 8)}`;
    const started = Date.now();
    const steps: Array<{ action: string; method: string; route: string }> = [];
    const secrets: string[] = [];
    const requestIds: string[] = [];
    const run = async (action: string, route: string, path: string, init: { method?: string; body?: unknown }) => {
      const r = await change(path, init);
      expect(r.status, `${action}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
      requestIds.push(r.requestId);
      steps.push({ action, method: init.method ?? (init.body === undefined ? "GET" : "POST"), route });
      return r.body;
    };
    await run("tenant.create", "/admin/tenants", "/tenants", { body: { id, name: "Audited", policy: { allowedModels: ["chat-pool"] } } });
    const key = await run("key.create", "/admin/tenants/:tenant/keys", `/tenants/${id}/keys`, { body: { name: "ci" } });
    const keyId = key.id as string;
    secrets.push(key.key as string);
    await run("key.update", "/admin/tenants/:tenant/keys/:keyId", `/tenants/${id}/keys/${keyId}`, { method: "PATCH", body: { name: "ci-2" } });
    const rotated = await run("key.rotate", "/admin/tenants/:tenant/keys/:keyId/rotate", `/tenants/${id}/keys/${keyId}/rotate`, { body: { graceSeconds: 60 } });
    secrets.push(rotated.key as string);
    await run("key.limits", "/admin/tenants/:tenant/keys/:keyId/limits", `/tenants/${id}/keys/${keyId}/limits`, { method: "PUT", body: { rpm: 10 } });
    const budget = await run("budget.create", "/admin/tenants/:tenant/budgets", `/tenants/${id}/budgets`, { body: { metric: "cost", period: "day", limit: 1000 } });
    const budgetId = budget.id as string;
    await run("budget.update", "/admin/tenants/:tenant/budgets/:budgetId", `/tenants/${id}/budgets/${budgetId}`, { method: "PUT", body: { limit: 2000 } });
    await run("budget.reset", "/admin/tenants/:tenant/budgets/:budgetId/reset", `/tenants/${id}/budgets/${budgetId}/reset`, { method: "POST" });
    await run("budget.delete", "/admin/tenants/:tenant/budgets/:budgetId", `/tenants/${id}/budgets/${budgetId}`, { method: "DELETE" });
    await run("tenant.limits", "/admin/tenants/:tenant/limits", `/tenants/${id}/limits`, { method: "PUT", body: { rpm: 100 } });
    await run("tenant.update", "/admin/tenants/:tenant", `/tenants/${id}`, { method: "PATCH", body: { name: "Audited Co" } });
    await run("tenant.disable", "/admin/tenants/:tenant/disable", `/tenants/${id}/disable`, { body: { reason: "suspected leak" } });
    await run("tenant.enable", "/admin/tenants/:tenant/enable", `/tenants/${id}/enable`, { method: "POST" });
    await run("key.revoke", "/admin/tenants/:tenant/keys/:keyId", `/tenants/${id}/keys/${keyId}`, { method: "DELETE" });
    await run("tenant.delete", "/admin/tenants/:tenant", `/tenants/${id}`, { method: "DELETE" });
    // Refused requests change nothing and leave no row.
    expect((await change(`/tenants/${id}`, { method: "DELETE" })).status).toBe(404);
    expect((await change("/tenants", { body: { id: "Not-Valid" } })).status).toBe(400);

    const page = await auditOf(`tenant=${id}&limit=200`);
    const fingerprint = await fingerprintOf(ADMIN_TOKEN);
    expect(page.has_more).toBe(false);
    expect(page.data.map((e) => e.action)).toEqual(steps.map((s) => s.action).reverse());
    const oldestFirst = [...page.data].reverse();
    for (const [i, e] of oldestFirst.entries()) {
      expect(e, steps[i]!.action).toMatchObject({ object: "audit.entry", actor: { token: "admin", fingerprint }, method: steps[i]!.method, route: steps[i]!.route, tenant: id, requestId: requestIds[i] });
      expect(e.at).toBeGreaterThanOrEqual(started);
      expect(e.at).toBeLessThanOrEqual(Date.now());
      if (i > 0) expect(e.id).toBeGreaterThan(oldestFirst[i - 1]!.id);
    }
    const byAction = Object.fromEntries(page.data.map((e) => [e.action, e]));
    expect(byAction["key.create"]).toMatchObject({ target: keyId, summary: { name: "ci", hint: `tr-${id}-…${secrets[0]!.slice(-4)}`, expiresAt: null } });
    expect(byAction["key.rotate"]).toMatchObject({ target: keyId, summary: { graceSeconds: 60, hint: `tr-${id}-…${secrets[1]!.slice(-4)}`, previous: { hint: `tr-${id}-…${secrets[0]!.slice(-4)}` } } });
    expect(byAction["tenant.disable"]!.summary).toEqual({ reason: "suspected leak" });
    expect(byAction["tenant.update"]!.summary).toEqual({ name: "Audited Co" });
    expect(byAction["budget.update"]).toMatchObject({ target: budgetId, summary: { limit: 2000, softLimit: null } });
    expect(byAction["tenant.delete"]!.summary).toEqual({ name: "Audited Co" });
    // Never a key, never a token.
    const text = JSON.stringify(page);
    for (const secret of [...secrets.map((s) => s.slice(`tr-${id}-`.length)), ADMIN_TOKEN, ADMIN_READ_TOKEN]) expect(text).not.toContain(secret);
  });

  it("pages newest first, follows oldest first from an id, and filters by tenant and action", async () => {
    const { tenantId, keyId } = await newTenant();
    for (let i = 0; i < 3; i++) expect((await adminFetch(`/tenants/${tenantId}/keys/${keyId}/limits`, { method: "PUT", body: { rpm: 10 + i } })).status).toBe(200);
    // newTenant made the tenant and a key: five rows in all.
    const first = await auditOf(`tenant=${tenantId}&limit=2`);
    expect(first.data.map((e) => [e.action, e.summary])).toEqual([
      ["key.limits", { limits: { rpm: 12, tpm: null, concurrency: null } }],
      ["key.limits", { limits: { rpm: 11, tpm: null, concurrency: null } }],
    ]);
    expect(first).toMatchObject({ has_more: true, next_before: first.data[1]!.id });
    const rest = await auditOf(`tenant=${tenantId}&limit=5&before=${first.next_before}`);
    expect(rest.data.map((e) => e.action)).toEqual(["key.limits", "key.create", "tenant.create"]);
    expect(rest).toMatchObject({ has_more: false, next_before: null });

    const oldest = await auditOf(`tenant=${tenantId}&after=0&limit=2`);
    expect(oldest.data.map((e) => e.action)).toEqual(["tenant.create", "key.create"]);
    expect(oldest).toMatchObject({ has_more: true, next_after: oldest.data[1]!.id });
    const following = await auditOf(`tenant=${tenantId}&after=${oldest.next_after}`);
    expect(following.data.map((e) => e.action)).toEqual(["key.limits", "key.limits", "key.limits"]);

    expect((await auditOf(`tenant=${tenantId}&action=key`)).data.map((e) => e.action)).toEqual(["key.limits", "key.limits", "key.limits", "key.create"]);
    expect((await auditOf(`tenant=${tenantId}&action=key.create`)).data.map((e) => e.target)).toEqual([keyId]);
    expect((await auditOf(`tenant=${tenantId}&action=ke`)).data).toEqual([]);
    expect((await auditOf("tenant=nobody_here_at_all")).data).toEqual([]);
  });

  it("refuses bad queries with 400 and the parameter's name", async () => {
    const cases: Array<[string, string]> = [
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["before=0", "before"],
      ["before=x", "before"],
      ["after=-1", "after"],
      ["before=5&after=2", "after"],
      ["tenant=Not-A-Tenant", "tenant"],
      ["action=%00drop", "action"],
    ];
    for (const [query, param] of cases) {
      const res = await adminFetch(`/audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param, query).toBe(param);
    }
    expect((await adminFetch("/audit?surprise=1")).status).toBe(400);
  });

  it("tells each token its fingerprint, as the log shows it", async () => {
    for (const [token, kind] of [[ADMIN_TOKEN, "admin"], [ADMIN_READ_TOKEN, "read"]] as const) {
      const res = await adminFetch("/whoami", { token });
      expect(await res.json()).toEqual({ object: "admin.token", kind, fingerprint: await fingerprintOf(token) });
    }
    expect(await fingerprintOf(ADMIN_TOKEN)).not.toBe(await fingerprintOf(ADMIN_READ_TOKEN));
  });

  it("cannot be changed or emptied: UPDATE and DELETE of a row are refused by the database", async () => {
    await newTenant();
    const outcome = await runInDurableObject(directory(), (_, state) => {
      const sql = state.storage.sql;
      const tries = ["UPDATE audit SET action = 'nothing'", "DELETE FROM audit"].map((statement) => {
        try {
          sql.exec(statement);
          return "done";
        } catch (e) {
          return String(e).includes("append-only") ? "refused" : String(e);
        }
      });
      return { tries, rows: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit").one().n };
    });
    expect(outcome.tries).toEqual(["refused", "refused"]);
    expect(outcome.rows).toBeGreaterThan(0);
  });

  // A route added later that forgets to call audit() is still recorded, by method and route.
  it("records a successful write that did not record itself, and no refused one", async () => {
    const app = new Hono<AppEnv>()
      .use(async (c, next) => {
        c.set("requestId", "req_safety_net");
        await next();
      })
      .use(adminAuth())
      .use(auditTrail())
      .post("/admin/unrecorded/:tenant", (c) => c.json({ ok: true }))
      .put("/admin/failing/:tenant", (c) => c.json({ ok: false }, 409));
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const tenant = `net_${crypto.randomUUID().slice(0, 8)}`;
    expect((await app.request(`/admin/unrecorded/${tenant}`, { method: "POST", headers }, env)).status).toBe(200);
    expect((await app.request(`/admin/failing/${tenant}`, { method: "PUT", headers }, env)).status).toBe(409);
    const rows = (await auditOf(`tenant=${tenant}`)).data;
    expect(rows.map((e) => ({ action: e.action, method: e.method, route: e.route, requestId: e.requestId, summary: e.summary }))).toEqual([
      { action: "POST /admin/unrecorded/:tenant", method: "POST", route: "/admin/unrecorded/:tenant", requestId: "req_safety_net", summary: {} },
    ]);
  });
});
