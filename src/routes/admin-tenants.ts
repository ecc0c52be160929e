/**
 * Tenants in the admin API: listing (pages by id, search by id or name, by state), creating,
 * reading, changing, disabling and enabling, deleting, and their rate limits. The TenantLedger holds
 * each tenant; the TenantDirectory lists them (and keeps a copy of the name and disabled flag for
 * the list). Every change is recorded in the audit log.
 */
import { Hono } from "hono";
import { z } from "zod";
import { TENANT_ID_PATTERN } from "../auth/api-key";
import { tenantPolicyWarnings } from "../config/policy-warnings";
import type { AppEnv } from "../env";
import { OPEN_POLICY, policySchema, rateLimitsSchema, type Tenant } from "../ledger/types";
import type { TenantPatch } from "../ledger/tenant-ledger";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { timeZoneSchema } from "../time/local-time";
import { audit } from "./admin-audit";
import { body, directoryOf, effectiveBy, existingLedger, ledgerOf, scenarioNames, tenantParam, type AdminContext } from "./admin-request";
import { documented } from "../openapi/registry";

const retentionDays = z.number().int().min(1).max(3650);

const createTenantSchema = z
  .object({
    id: z.string().regex(TENANT_ID_PATTERN, "a tenant id is 1-40 lower-case letters, digits or '_', starting with a letter or digit"),
    name: z.string().min(1).max(200).optional(),
    policy: policySchema.default(OPEN_POLICY),
    limits: rateLimitsSchema.optional(),
    /** Budget periods reset at midnight in this zone. */
    timeZone: timeZoneSchema.optional(),
    retentionDays: retentionDays.optional(),
    /** How long stored Responses API responses are kept (default 30 days). */
    responseRetentionDays: retentionDays.optional(),
  })
  .strict();

const patchTenantSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    policy: policySchema.optional(),
    timeZone: timeZoneSchema.optional(),
    retentionDays: retentionDays.optional(),
    /** How long stored Responses API responses are kept (default 30 days). */
    responseRetentionDays: retentionDays.optional(),
    disabled: z.boolean().optional(),
  })
  .strict();

const listTenantsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The last id of the previous page (`next_after`). */
    after: z.string().max(64).optional(),
    /** A substring of the id or the name, case-insensitive. */
    search: z.string().min(1).max(64).optional(),
    /** Only disabled tenants (`true`) or only enabled ones (`false`). */
    disabled: z.enum(["true", "false"]).optional(),
  })
  .strict();

/** Disabling or enabling says why, for the audit log (optional). */
const reasonSchema = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

const adoptSchema = z.object({ ids: z.array(z.string().regex(TENANT_ID_PATTERN)).min(1).max(1000) }).strict();

/** The tenant, or 404: a listed tenant whose ledger has none was deleted half-way (the delete can be repeated). */
async function tenantOf(c: AdminContext): Promise<{ ledger: ReturnType<typeof ledgerOf>; tenant: Tenant }> {
  const ledger = await existingLedger(c);
  const tenant = await ledger.getTenant();
  if (!tenant) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantParam(c)}'` });
  return { ledger, tenant };
}

/** Changes a tenant in its ledger, then the directory's copy of what the list shows. */
async function changeTenant(c: AdminContext, patch: TenantPatch): Promise<Tenant> {
  const { ledger } = await tenantOf(c);
  const tenant = await ledger.updateTenant(patch);
  if (!tenant) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantParam(c)}'` });
  if (patch.name !== undefined || patch.disabled !== undefined) await directoryOf(c).update(tenant.id, { name: patch.name, disabled: patch.disabled });
  return tenant;
}

/** Disabling holds in every isolate one lease window after it first happened; enabling, at once. */
function disabledAnswer(c: AdminContext, tenant: Tenant) {
  return { ...tenant, effectiveBy: tenant.disabled ? effectiveBy(c, tenant.disabledAt ?? Date.now()) : Date.now() };
}

documented(
  { method: "get", path: "/admin/tenants", tag: "Admin: tenants", auth: "admin-or-read", summary: "List tenants (paged, searchable)", query: listTenantsQuery, responses: { 200: { description: "`{object: list, data, has_more, next_after}`" } } },
  { method: "post", path: "/admin/tenants", tag: "Admin: tenants", auth: "admin", summary: "Create a tenant", body: createTenantSchema, responses: { 201: { description: "The tenant" } } },
  { method: "post", path: "/admin/directory/adopt", tag: "Admin: tenants", auth: "admin", summary: "List tenants made before the directory existed", body: adoptSchema, responses: { 200: { description: "Per id: listed, adopted or not_found" } } },
  { method: "get", path: "/admin/tenants/{tenant}", tag: "Admin: tenants", auth: "admin-or-read", summary: "Read a tenant", responses: { 200: { description: "The tenant" } } },
  { method: "patch", path: "/admin/tenants/{tenant}", tag: "Admin: tenants", auth: "admin", summary: "Change a tenant", body: patchTenantSchema, responses: { 200: { description: "The tenant, `effectiveBy`, and `warnings` for keys its policy leaves out" } } },
  { method: "post", path: "/admin/tenants/{tenant}/disable", tag: "Admin: tenants", auth: "admin", summary: "Disable a tenant: its keys are refused", body: reasonSchema, responses: { 200: { description: "The tenant and `effectiveBy`" } } },
  { method: "post", path: "/admin/tenants/{tenant}/enable", tag: "Admin: tenants", auth: "admin", summary: "Enable a tenant again", body: reasonSchema, responses: { 200: { description: "The tenant" } } },
  { method: "delete", path: "/admin/tenants/{tenant}", tag: "Admin: tenants", auth: "admin", summary: "Delete a tenant and all its data", responses: { 200: { description: "`{object: tenant.deleted, id, deleted, effectiveBy}`" } } },
  { method: "get", path: "/admin/tenants/{tenant}/limits", tag: "Admin: tenants", auth: "admin-or-read", summary: "The tenant's rate limits", responses: { 200: { description: "`{rpm, tpm, concurrency}`", schema: rateLimitsSchema } } },
  { method: "put", path: "/admin/tenants/{tenant}/limits", tag: "Admin: tenants", auth: "admin", summary: "Set the tenant's rate limits", body: rateLimitsSchema, responses: { 200: { description: "The limits" } } },
);

export const tenantRoutes = new Hono<AppEnv>()
  .get("/tenants", async (c) => {
    const query = validate(listTenantsQuery, c.req.query());
    const disabled = query.disabled === undefined ? null : query.disabled === "true";
    const page = await directoryOf(c).list({ after: query.after ?? null, limit: query.limit, search: query.search ?? null, disabled });
    return c.json({ object: "list", data: page.data, has_more: page.nextAfter !== null, next_after: page.nextAfter });
  })
  .post("/tenants", async (c) => {
    const init = await body(c, createTenantSchema);
    const name = init.name ?? init.id;
    // Listed first: a tenant whose ledger exists is always on the list, so its keys are checked.
    if (!(await directoryOf(c).register(init.id, name, Date.now()))) throw new RouterError({ kind: "conflict", message: `Tenant '${init.id}' already exists.` });
    let tenant: Tenant | null;
    try {
      tenant = await ledgerOf(c, init.id).createTenant({ ...init, name });
    } catch (e) {
      await directoryOf(c).remove(init.id);
      throw e;
    }
    // Made before the directory existed: it stays listed (adopted), and is not made twice.
    if (!tenant) throw new RouterError({ kind: "conflict", message: `Tenant '${init.id}' already exists.` });
    await audit(c, { action: "tenant.create", tenant: init.id, summary: { name, policy: tenant.policy, limits: tenant.limits, timeZone: tenant.timeZone, retentionDays: tenant.retentionDays, responseRetentionDays: tenant.responseRetentionDays } });
    return c.json({ ...tenant, warnings: tenantPolicyWarnings(tenant.policy.allowedModels, [], scenarioNames(c)) }, 201);
  })
  /**
   * Upgrading from a router without the directory: lists the tenants whose ledgers exist, so their
   * keys (issued without a MAC) keep working. Reaches the ledgers of the ids given, and only those.
   */
  .post("/directory/adopt", async (c) => {
    const { ids } = await body(c, adoptSchema);
    const directory = directoryOf(c);
    const results: Record<string, "listed" | "adopted" | "not_found"> = {};
    for (const id of new Set(ids)) {
      if (await directory.exists(id)) results[id] = "listed";
      else {
        const tenant = await ledgerOf(c, id).getTenant();
        results[id] = tenant && (await directory.register(id, tenant.name, tenant.createdAt)) ? "adopted" : "not_found";
        if (tenant?.disabled) await directory.update(id, { disabled: true });
      }
    }
    const adopted = Object.keys(results).filter((id) => results[id] === "adopted");
    if (adopted.length > 0) await audit(c, { action: "directory.adopt", tenant: null, summary: { adopted } });
    return c.json({ object: "directory.adoption", results });
  })
  .get("/tenants/:tenant", async (c) => c.json((await tenantOf(c)).tenant))
  .patch("/tenants/:tenant", async (c) => {
    const patch = await body(c, patchTenantSchema);
    const tenant = await changeTenant(c, patch);
    await audit(c, { action: "tenant.update", summary: { ...patch } });
    const warnings = patch.policy ? tenantPolicyWarnings(tenant.policy.allowedModels, await liveKeyModels(c), scenarioNames(c)) : [];
    // A changed policy or flag reaches isolates holding a lease within one window.
    return c.json({ ...tenant, warnings, effectiveBy: patch.disabled === false ? Date.now() : effectiveBy(c, Date.now()) });
  })
  .post("/tenants/:tenant/disable", async (c) => {
    const { reason } = await body(c, reasonSchema);
    const tenant = await changeTenant(c, { disabled: true });
    await audit(c, { action: "tenant.disable", summary: reason === undefined ? {} : { reason } });
    return c.json(disabledAnswer(c, tenant));
  })
  .post("/tenants/:tenant/enable", async (c) => {
    const { reason } = await body(c, reasonSchema);
    const tenant = await changeTenant(c, { disabled: false });
    await audit(c, { action: "tenant.enable", summary: reason === undefined ? {} : { reason } });
    return c.json(disabledAnswer(c, tenant));
  })
  /**
   * Deletes the tenant and all its data: its ledger is emptied (keys, budgets, usage, leases,
   * reservations, prefix index, alarm) and its batch store (files, batches), then it leaves the
   * directory's list. Emptied first, so a
   * delete that fails half-way leaves the tenant listed, and repeating it finishes the job. Its
   * keys are refused from then on (within one lease window); the audit log keeps its rows.
   */
  .delete("/tenants/:tenant", async (c) => {
    const tenantId = tenantParam(c);
    const ledger = await existingLedger(c);
    const tenant = await ledger.getTenant();
    await ledger.deleteTenant();
    await c.env.BATCH_STORE.getByName(tenantId).deleteAll();
    await directoryOf(c).remove(tenantId);
    const at = Date.now();
    await audit(c, { action: "tenant.delete", summary: { name: tenant?.name ?? null } });
    return c.json({ object: "tenant.deleted", id: tenantId, deleted: true, effectiveBy: effectiveBy(c, at) });
  })
  .get("/tenants/:tenant/limits", async (c) => c.json((await tenantOf(c)).tenant.limits))
  .put("/tenants/:tenant/limits", async (c) => {
    const limits = await body(c, rateLimitsSchema);
    const tenant = await (await existingLedger(c)).setTenantLimits(limits);
    if (!tenant) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantParam(c)}'` });
    await audit(c, { action: "tenant.limits", summary: { limits } });
    return c.json(tenant.limits);
  });

/** Each live key's own `allowedModels`: what a narrowed tenant policy may leave outside. */
async function liveKeyModels(c: AdminContext) {
  const keys = await (await existingLedger(c)).listKeys();
  const at = Date.now();
  return keys.filter((k) => k.revokedAt === null && (k.expiresAt === null || k.expiresAt > at)).map((k) => ({ id: k.id, allowedModels: k.policy.allowedModels }));
}
