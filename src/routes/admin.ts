/**
 * The admin API (`/admin/...`, admin token): tenants and their keys. Bodies are zod-validated;
 * errors share the OpenAI shape of the rest of the router.
 *
 *   GET    /admin/tenants                          list tenants       ?limit, after (paging), search
 *   POST   /admin/tenants                          create a tenant    {id, name?, policy?, limits?, timeZone?, retentionDays?}
 *   POST   /admin/directory/adopt                  list tenants made before the directory {ids}
 *   GET    /admin/tenants/:tenant                  read it
 *   PATCH  /admin/tenants/:tenant                  change it          {name?, policy?, timeZone?, retentionDays?, disabled?}
 *   GET|PUT /admin/tenants/:tenant/limits          tenant rate limits {rpm, tpm, concurrency} (null: unlimited)
 *   POST   /admin/tenants/:tenant/keys             issue a key        {name?, policy?, limits?} → secret shown once
 *   GET    /admin/tenants/:tenant/keys             list keys (hints, never secrets)
 *   DELETE /admin/tenants/:tenant/keys/:keyId      revoke a key (refused from the next request on)
 *   GET|PUT /admin/tenants/:tenant/keys/:keyId/limits   the key's own rate limits
 *   GET    /admin/tenants/:tenant/budgets          budgets with their current period's state
 *   POST   /admin/tenants/:tenant/budgets          add one            {key?, metric, period, limit, softLimit?}
 *   PUT    /admin/tenants/:tenant/budgets/:id      change its limits  {limit, softLimit?}
 *   DELETE /admin/tenants/:tenant/budgets/:id      remove it
 *   POST   /admin/tenants/:tenant/budgets/:id/reset   start its current period afresh
 *   GET    /admin/tenants/:tenant/usage            usage rows: filters, pages, ?format=csv|jsonl
 *   GET    /admin/tenants/:tenant/usage/summary    totals ?group_by=day|model|origin|key
 *   ...    /admin/config/...                       the live config, its versions, diff, rollback (admin-config.ts)
 *   GET    /admin/isolate                          this isolate's counters (ledger calls by kind)
 *   GET    /admin/origins                          every origin's health: circuit, EWMAs, canary stops
 *   GET    /admin/origins/:origin/transitions      its circuit's recent transitions
 *   DELETE /admin/scenarios/:scenario/canary-stop  resume a canary its stop criteria stopped
 *   GET    /admin/scenarios/:scenario/decisions    its recent routing decisions (sampled), newest first
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { scenarioHitRates } from "../affinity/hit-rates";
import { ownEntry } from "../lib/own";
import { servingOrigins } from "../config/origins";
import { generateKey, TENANT_ID_PATTERN } from "../auth/api-key";
import { DIRECTORY_NAME } from "../directory/tenant-directory";
import { isolateOf } from "../isolate";
import { adminAuth } from "./admin-auth";
import { adminConfigRoutes } from "./admin-config";
import type { AppEnv } from "../env";
import { BUDGET_METRICS, BUDGET_PERIODS, OPEN_POLICY, policySchema, rateLimitsSchema } from "../ledger/types";
import { timeZoneSchema } from "../time/local-time";
import { usageResponse, usageSummaryResponse } from "./usage-query";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { readJsonBody } from "../proxy/read-body";

const ADMIN_BODY_LIMIT = 64 * 1024;
const DEFAULT_POLICY = OPEN_POLICY;

const retentionDays = z.number().int().min(1).max(3650);

const createTenantSchema = z
  .object({
    id: z.string().regex(TENANT_ID_PATTERN, "a tenant id is 1-40 lower-case letters, digits or '_', starting with a letter or digit"),
    name: z.string().min(1).max(200).optional(),
    policy: policySchema.default(DEFAULT_POLICY),
    limits: rateLimitsSchema.optional(),
    /** Budget periods reset at midnight in this zone. */
    timeZone: timeZoneSchema.optional(),
    retentionDays: retentionDays.optional(),
  })
  .strict();

const patchTenantSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    policy: policySchema.optional(),
    timeZone: timeZoneSchema.optional(),
    retentionDays: retentionDays.optional(),
    disabled: z.boolean().optional(),
  })
  .strict();

const createKeySchema = z
  .object({
    name: z.string().min(1).max(200).default("key"),
    policy: policySchema.default(DEFAULT_POLICY),
    limits: rateLimitsSchema.optional(),
  })
  .strict();

/** Money budgets count integer micro-dollars (1 USD = 1,000,000); token budgets count prompt + completion tokens. */
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const budgetLimitsSchema = z
  .object({ limit: amount, softLimit: amount.nullable().default(null) })
  .strict()
  .refine((b) => b.softLimit === null || b.softLimit <= b.limit, { message: "softLimit must not exceed limit", path: ["softLimit"] });

const createBudgetSchema = z
  .object({
    /** A key id to limit that key alone; absent: the whole tenant. */
    key: z.string().min(1).max(64).optional(),
    metric: z.enum(BUDGET_METRICS),
    period: z.enum(BUDGET_PERIODS),
    limit: amount,
    softLimit: amount.nullable().default(null),
  })
  .strict()
  .refine((b) => b.softLimit === null || b.softLimit <= b.limit, { message: "softLimit must not exceed limit", path: ["softLimit"] });

async function body<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  const hasBody = c.req.header("content-length") !== "0" && c.req.raw.body !== null;
  const value = hasBody ? (await readJsonBody(c.req.raw, ADMIN_BODY_LIMIT)).value : {};
  return validate(schema, value);
}

function tenantParam(c: Context<AppEnv>): string {
  const id = c.req.param("tenant") ?? "";
  if (!TENANT_ID_PATTERN.test(id)) throw new RouterError({ kind: "not_found", what: `Tenant '${id.slice(0, 64)}'` });
  return id;
}

function ledgerOf(c: Context<AppEnv>, tenantId: string) {
  return c.env.TENANT_LEDGER.getByName(tenantId);
}

/** The router's clock: budget periods and health snapshots are read as of it. */
function now(c: Context<AppEnv>): number {
  return isolateOf(c.env).clock.now();
}

function directoryOf(c: Context<AppEnv>) {
  return c.env.TENANT_DIRECTORY.getByName(DIRECTORY_NAME);
}

/**
 * The tenant's ledger, or 404 when the tenant is not on the directory's list: a tenant id from a
 * URL never reaches a ledger that does not exist, nor creates one (issue #12).
 */
async function existingLedger(c: Context<AppEnv>) {
  const tenantId = tenantParam(c);
  if (!(await directoryOf(c).exists(tenantId))) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantId}'` });
  return ledgerOf(c, tenantId);
}

const listTenantsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The last id of the previous page (`next_after`). */
    after: z.string().max(64).optional(),
    /** A substring of the id or the name, case-insensitive. */
    search: z.string().min(1).max(64).optional(),
  })
  .strict();

const adoptSchema = z.object({ ids: z.array(z.string().regex(TENANT_ID_PATTERN)).min(1).max(1000) }).strict();

export const adminRoutes = new Hono<AppEnv>()
  .use(adminAuth())
  .get("/tenants", async (c) => {
    const query = validate(listTenantsQuery, c.req.query());
    const page = await directoryOf(c).list({ after: query.after ?? null, limit: query.limit, search: query.search ?? null });
    return c.json({ object: "list", data: page.data, has_more: page.nextAfter !== null, next_after: page.nextAfter });
  })
  .post("/tenants", async (c) => {
    const init = await body(c, createTenantSchema);
    const name = init.name ?? init.id;
    // Listed first: a tenant whose ledger exists is always on the list, so its keys are checked.
    if (!(await directoryOf(c).register(init.id, name, Date.now()))) throw new RouterError({ kind: "conflict", message: `Tenant '${init.id}' already exists.` });
    let tenant: Awaited<ReturnType<ReturnType<typeof ledgerOf>["createTenant"]>>;
    try {
      tenant = await ledgerOf(c, init.id).createTenant({ ...init, name });
    } catch (e) {
      await directoryOf(c).remove(init.id);
      throw e;
    }
    // Made before the directory existed: it stays listed (adopted), and is not made twice.
    if (!tenant) throw new RouterError({ kind: "conflict", message: `Tenant '${init.id}' already exists.` });
    return c.json(tenant, 201);
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
      }
    }
    return c.json({ object: "directory.adoption", results });
  })
  .get("/tenants/:tenant", async (c) => {
    const tenantId = tenantParam(c);
    const tenant = await (await existingLedger(c)).getTenant();
    if (!tenant) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantId}'` });
    return c.json(tenant);
  })
  .patch("/tenants/:tenant", async (c) => {
    const patch = await body(c, patchTenantSchema);
    return c.json(await (await existingLedger(c)).updateTenant(patch));
  })
  .get("/tenants/:tenant/limits", async (c) => {
    return c.json((await (await existingLedger(c)).getTenant())!.limits);
  })
  .put("/tenants/:tenant/limits", async (c) => {
    const limits = await body(c, rateLimitsSchema);
    return c.json((await (await existingLedger(c)).setTenantLimits(limits))!.limits);
  })
  .get("/tenants/:tenant/keys/:keyId/limits", async (c) => {
    const key = await (await existingLedger(c)).getKey(c.req.param("keyId"));
    if (!key) throw new RouterError({ kind: "not_found", what: `Key '${c.req.param("keyId").slice(0, 64)}'` });
    return c.json(key.limits);
  })
  .put("/tenants/:tenant/keys/:keyId/limits", async (c) => {
    const limits = await body(c, rateLimitsSchema);
    const key = await (await existingLedger(c)).setKeyLimits(c.req.param("keyId"), limits);
    if (!key) throw new RouterError({ kind: "not_found", what: `Key '${c.req.param("keyId").slice(0, 64)}'` });
    return c.json(key.limits);
  })
  .get("/tenants/:tenant/budgets", async (c) => {
    return c.json({ object: "list", data: await (await existingLedger(c)).listBudgets(now(c)) });
  })
  .post("/tenants/:tenant/budgets", async (c) => {
    const init = await body(c, createBudgetSchema);
    const budget = await (await existingLedger(c)).createBudget({ ...init, keyId: init.key ?? null }, now(c));
    if (!budget) throw new RouterError({ kind: "invalid_body", message: `Invalid value for 'key': no key '${init.key}' in this tenant.`, param: "key" });
    return c.json(budget, 201);
  })
  .put("/tenants/:tenant/budgets/:budgetId", async (c) => {
    const limits = await body(c, budgetLimitsSchema);
    const budget = await (await existingLedger(c)).updateBudget(c.req.param("budgetId"), limits, now(c));
    if (!budget) throw new RouterError({ kind: "not_found", what: `Budget '${c.req.param("budgetId").slice(0, 64)}'` });
    return c.json(budget);
  })
  .delete("/tenants/:tenant/budgets/:budgetId", async (c) => {
    const deleted = await (await existingLedger(c)).deleteBudget(c.req.param("budgetId"));
    if (!deleted) throw new RouterError({ kind: "not_found", what: `Budget '${c.req.param("budgetId").slice(0, 64)}'` });
    return c.json({ id: c.req.param("budgetId"), deleted: true });
  })
  .post("/tenants/:tenant/budgets/:budgetId/reset", async (c) => {
    const budget = await (await existingLedger(c)).resetBudget(c.req.param("budgetId"), now(c));
    if (!budget) throw new RouterError({ kind: "not_found", what: `Budget '${c.req.param("budgetId").slice(0, 64)}'` });
    return c.json(budget);
  })
  .route("/config", adminConfigRoutes)
  /** This isolate's own counters (at the edge, one isolate of many): ledger calls by kind, config checks, the config version it runs. */
  .get("/isolate", (c) => {
    const isolate = isolateOf(c.env);
    const { live } = isolate;
    return c.json({
      object: "isolate",
      id: isolate.id,
      ledgerCalls: { total: isolate.ledgerCalls.total, byKind: Object.fromEntries(isolate.ledgerCalls.byKind) },
      config: { version: live.current.version, storeCalls: live.calls, lastError: live.lastError },
    });
  })
  .get("/origins", async (c) => {
    const at = now(c);
    const names = Object.keys(isolateOf(c.env).config.origins);
    const data = await Promise.all(names.map((name) => c.env.ORIGIN_MONITOR.getByName(name).snapshot(at)));
    return c.json({ object: "list", data });
  })
  .get("/origins/:origin/transitions", async (c) => {
    const origin = c.req.param("origin");
    if (!Object.hasOwn(isolateOf(c.env).config.origins, origin)) throw new RouterError({ kind: "not_found", what: `Origin '${origin.slice(0, 64)}'` });
    return c.json({ object: "list", data: await c.env.ORIGIN_MONITOR.getByName(origin).transitions() });
  })
  .get("/scenarios/:scenario/decisions", async (c) => {
    const name = c.req.param("scenario");
    if (!Object.hasOwn(isolateOf(c.env).config.scenarios, name)) throw new RouterError({ kind: "not_found", what: `Scenario '${name.slice(0, 64)}'` });
    const { limit } = validate(z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict(), c.req.query());
    return c.json({ object: "list", data: await c.env.DECISION_LOG.getByName(name).recent(limit) });
  })
  .get("/scenarios/:scenario/affinity", async (c) => {
    const name = c.req.param("scenario");
    const config = isolateOf(c.env).config;
    if (!Object.hasOwn(config.scenarios, name)) throw new RouterError({ kind: "not_found", what: `Scenario '${name.slice(0, 64)}'` });
    const scenario = config.scenarios[name]!;
    const at = now(c);
    const origins = [...new Set(servingOrigins(scenario))];
    const snapshots = await Promise.all(origins.map((origin) => c.env.ORIGIN_MONITOR.getByName(origin).snapshot(at)));
    const rates = scenarioHitRates(snapshots.map((s, i) => ({ origin: origins[i]!, stats: ownEntry(s.prefixCache, name) })));
    return c.json({ object: "scenario.affinity", scenario: name, ...scenario.affinity, ...rates });
  })
  .delete("/scenarios/:scenario/canary-stop", async (c) => {
    const name = c.req.param("scenario");
    const scenarios = isolateOf(c.env).config.scenarios;
    const canary = ownEntry(scenarios, name)?.canary;
    if (!canary) throw new RouterError({ kind: "not_found", what: `A canary of scenario '${name.slice(0, 64)}'` });
    const resumed = await c.env.ORIGIN_MONITOR.getByName(canary.origin).resumeCanary(name);
    return c.json({ scenario: name, origin: canary.origin, resumed });
  })
  .get("/tenants/:tenant/usage", async (c) => usageResponse(c, await existingLedger(c)))
  .get("/tenants/:tenant/usage/summary", async (c) => usageSummaryResponse(c, await existingLedger(c)))
  .post("/tenants/:tenant/keys", async (c) => {
    const init = await body(c, createKeySchema);
    const ledger = await existingLedger(c);
    // Made here, where the signing secret is: the ledger only ever sees the key to hash it.
    const secret = await generateKey(tenantParam(c), await isolateOf(c.env).keys.signingKey());
    const key = await ledger.createKey({ ...init, secret });
    if (!key) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantParam(c)}'` });
    // The only time the key is ever shown; the ledger keeps a salted hash.
    return c.json({ ...key, key: secret }, 201);
  })
  .get("/tenants/:tenant/keys", async (c) => {
    const keys = await (await existingLedger(c)).listKeys();
    return c.json({ object: "list", data: keys });
  })
  .delete("/tenants/:tenant/keys/:keyId", async (c) => {
    const keyId = c.req.param("keyId");
    const key = await (await existingLedger(c)).revokeKey(keyId);
    if (!key) throw new RouterError({ kind: "not_found", what: `Key '${keyId.slice(0, 64)}'` });
    // Isolates holding a lease on the key admit from it until its window ends (DESIGN §3).
    const { leases } = isolateOf(c.env).config;
    return c.json({ ...key, effectiveBy: key.revokedAt! + (leases.enabled ? leases.leaseMs : 0) });
  });
