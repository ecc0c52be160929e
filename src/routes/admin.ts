/**
 * The admin API (`/admin/...`): tenants, their keys and budgets, origins' health, scenarios, the
 * audit log. `ADMIN_TOKEN` may do everything; `ADMIN_READ_TOKEN` (optional) every GET and nothing
 * else. Bodies are zod-validated; errors share the OpenAI shape of the rest of the router. Every
 * change is recorded in the audit log (`admin-audit.ts`).
 *
 *   GET    /admin/tenants                          list tenants       ?limit, after (paging), search, disabled
 *   POST   /admin/tenants                          create a tenant    {id, name?, policy?, limits?, timeZone?, retentionDays?, responseRetentionDays?}
 *   POST   /admin/directory/adopt                  list tenants made before the directory {ids}
 *   GET    /admin/tenants/:tenant                  read it
 *   PATCH  /admin/tenants/:tenant                  change it          {name?, policy?, timeZone?, retentionDays?, responseRetentionDays?, disabled?}
 *   POST   /admin/tenants/:tenant/disable|enable   its keys refused (within one lease) / admitted again {reason?}
 *   DELETE /admin/tenants/:tenant                  delete it and all its data
 *   GET|PUT /admin/tenants/:tenant/limits          tenant rate limits {rpm, tpm, concurrency} (null: unlimited)
 *   POST   /admin/tenants/:tenant/keys             issue a key        {name?, policy?, limits?, expiresAt?} → secret shown once
 *   GET    /admin/tenants/:tenant/keys             list keys (hints, never secrets)
 *   GET    /admin/tenants/:tenant/keys/:keyId      read one
 *   PATCH  /admin/tenants/:tenant/keys/:keyId      change it          {name?, policy?, expiresAt?}
 *   DELETE /admin/tenants/:tenant/keys/:keyId      revoke a key (refused within one lease window)
 *   POST   /admin/tenants/:tenant/keys/:keyId/rotate   a new secret   {graceSeconds?} → secret shown once; the old one until its grace ends
 *   GET|PUT /admin/tenants/:tenant/keys/:keyId/limits   the key's own rate limits
 *   GET    /admin/tenants/:tenant/budgets          budgets with their current period's state
 *   POST   /admin/tenants/:tenant/budgets          add one            {key?, metric, period, limit, softLimit?}
 *   PUT    /admin/tenants/:tenant/budgets/:id      change its limits  {limit, softLimit?}
 *   DELETE /admin/tenants/:tenant/budgets/:id      remove it
 *   POST   /admin/tenants/:tenant/budgets/:id/reset   start its current period afresh
 *   GET    /admin/tenants/:tenant/usage            usage rows: filters, pages, ?format=csv|jsonl
 *   GET    /admin/tenants/:tenant/usage/summary    totals ?group_by=day|model|origin|key
 *   ...    /admin/config/...                       the live config, its versions, diff, rollback (admin-config.ts)
 *   GET    /admin/audit                            the audit log      ?limit, before | after, tenant, action
 *   GET    /admin/whoami                           the caller's token kind and fingerprint
 *   GET    /admin/isolate                          this isolate's counters (ledger calls by kind)
 *   GET    /admin/origins                          every origin's health: circuit, EWMAs, canary stops
 *   GET    /admin/origins/:origin/transitions      its circuit's recent transitions
 *   POST   /admin/scenarios/:scenario/canary-stop  stop a canary by hand   {reason?}
 *   DELETE /admin/scenarios/:scenario/canary-stop  resume a stopped canary (stopped by its criteria or by hand)
 *   GET    /admin/usage/summary                    usage across tenants ?from, to, group_by=tenant|model|origin|day (admin-usage.ts)
 *   GET    /admin/scenarios/:scenario/decisions    its recent routing decisions (sampled), newest first
 *   GET    /admin/scenarios/:scenario/report       MaaS, pool or split: the decision from its traffic ?from, to, format=md (admin-report.ts)
 *   ...    /admin/scenarios/:scenario/migration    its migration's stage, figures, history; stage moves (admin-migration.ts)
 */
import { Hono } from "hono";
import { z } from "zod";
import { scenarioHitRates } from "../affinity/hit-rates";
import { ownEntry } from "../lib/own";
import { servingOrigins } from "../config/origins";
import { isolateOf } from "../isolate";
import { adminAuth } from "./admin-auth";
import { adminConfigRoutes } from "./admin-config";
import { audit, auditRoutes, auditTrail } from "./admin-audit";
import { keyRoutes } from "./admin-keys";
import { migrationRoutes } from "./admin-migration";
import { reportRoutes } from "./admin-report";
import { body, existingLedger, now, shortParam, type AdminContext } from "./admin-request";
import { tenantRoutes } from "./admin-tenants";
import { adminUsageRoutes } from "./admin-usage";
import type { AppEnv } from "../env";
import { BUDGET_METRICS, BUDGET_PERIODS } from "../ledger/types";
import { usageQuerySchema, usageResponse, usageSummaryResponse, usageSummarySchema } from "./usage-query";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { documented } from "../openapi/registry";

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

const canaryStopSchema = z.object({ reason: z.string().min(1).max(200).optional() }).strict();

const decisionsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

documented(
  { method: "get", path: "/admin/tenants/{tenant}/budgets", tag: "Admin: tenants", auth: "admin-or-read", summary: "Budgets with their current period's state", responses: { 200: { description: "`{object: list, data}`: limit, settled, reserved, remaining per budget" } } },
  { method: "post", path: "/admin/tenants/{tenant}/budgets", tag: "Admin: tenants", auth: "admin", summary: "Add a budget (µ$ or tokens, per day, month or in total)", body: createBudgetSchema, responses: { 201: { description: "The budget" } } },
  { method: "put", path: "/admin/tenants/{tenant}/budgets/{budgetId}", tag: "Admin: tenants", auth: "admin", summary: "Change a budget's limits", body: budgetLimitsSchema, responses: { 200: { description: "The budget" } } },
  { method: "delete", path: "/admin/tenants/{tenant}/budgets/{budgetId}", tag: "Admin: tenants", auth: "admin", summary: "Remove a budget", responses: { 200: { description: "`{id, deleted: true}`" } } },
  { method: "post", path: "/admin/tenants/{tenant}/budgets/{budgetId}/reset", tag: "Admin: tenants", auth: "admin", summary: "Start a budget's current period afresh", responses: { 200: { description: "The budget" } } },
  { method: "get", path: "/admin/tenants/{tenant}/usage", tag: "Admin: tenants", auth: "admin-or-read", summary: "Usage rows, filtered and paged, or exported (?format=csv|jsonl)", query: usageQuerySchema, responses: { 200: { description: "`{object: list, data, has_more, next_cursor}`, or CSV / JSON Lines" } } },
  { method: "get", path: "/admin/tenants/{tenant}/usage/summary", tag: "Admin: tenants", auth: "admin-or-read", summary: "Usage totals grouped by day, model, origin, key, user, tag or metadata.<key> (or up to three columns: model,origin,day), with outcomes and cost per accepted outcome", query: usageSummarySchema, responses: { 200: { description: "`{object: list, group_by, data}`" } } },
  { method: "get", path: "/admin/isolate", tag: "Admin: health", auth: "admin-or-read", summary: "This isolate's counters: ledger calls by kind, config checks", responses: { 200: { description: "`{object: isolate, id, ledgerCalls, config}`" } } },
  { method: "get", path: "/admin/origins", tag: "Admin: health", auth: "admin-or-read", summary: "Every origin's health: circuit, TTFT and its stability, errors, prefix cache, canary stops", responses: { 200: { description: "`{object: list, data}`" } } },
  { method: "get", path: "/admin/origins/{origin}/transitions", tag: "Admin: health", auth: "admin-or-read", summary: "An origin's recent circuit transitions", responses: { 200: { description: "`{object: list, data}`" } } },
  { method: "get", path: "/admin/scenarios/{scenario}/decisions", tag: "Admin: health", auth: "admin-or-read", summary: "A scenario's recent routing decisions, newest first", query: decisionsQuery, responses: { 200: { description: "`{object: list, data}`" } } },
  { method: "get", path: "/admin/scenarios/{scenario}/affinity", tag: "Admin: health", auth: "admin-or-read", summary: "A scenario's prefix-cache hit rates per origin, predicted and reported", responses: { 200: { description: "Hit rates" } } },
  { method: "post", path: "/admin/scenarios/{scenario}/canary-stop", tag: "Admin: health", auth: "admin", summary: "Stop a canary by hand, as its stop criteria would", body: canaryStopSchema, responses: { 200: { description: "`{scenario, origin, stopped: true, stop, effectiveBy}`" } } },
  { method: "delete", path: "/admin/scenarios/{scenario}/canary-stop", tag: "Admin: health", auth: "admin", summary: "Resume a stopped canary (stopped by its criteria or by hand)", responses: { 200: { description: "`{scenario, origin, resumed, effectiveBy}`" } } },
);

function budgetNotFound(c: AdminContext): RouterError {
  return new RouterError({ kind: "not_found", what: `Budget '${shortParam(c, "budgetId")}'` });
}

/** The scenario's canary in the active config, or 404. */
function canaryOf(c: AdminContext): { name: string; origin: string } {
  const name = c.req.param("scenario") ?? "";
  const canary = ownEntry(isolateOf(c.env).config.scenarios, name)?.canary;
  if (!canary) throw new RouterError({ kind: "not_found", what: `A canary of scenario '${name.slice(0, 64)}'` });
  return { name, origin: canary.origin };
}

/**
 * A canary stopped or resumed: this isolate reads its origin's snapshot afresh before answering,
 * and forgets a stop it sent itself (or it would keep the canary stopped); other isolates see the
 * change when they next refresh their snapshot (`health.snapshotTtlMs`): the answer's `effectiveBy`.
 */
async function canaryChanged(c: AdminContext, canary: { name: string; origin: string }): Promise<number> {
  const isolate = isolateOf(c.env);
  await isolate.snapshots.refreshNow(canary.origin);
  isolate.canaryStopsSent.delete(`${canary.origin}|${canary.name}`);
  return Date.now() + isolate.config.health.snapshotTtlMs;
}

/**
 * The admin API's routes, without its guard: {@link adminRoutes} is what the Worker serves. The
 * console (`src/console/admin-client.ts`) calls these same routes in-process for a signed-in session,
 * so what it shows is what the API answers.
 */
export const adminApi = new Hono<AppEnv>()
  .route("/", tenantRoutes)
  .route("/", keyRoutes)
  .route("/", auditRoutes)
  .get("/tenants/:tenant/budgets", async (c) => {
    return c.json({ object: "list", data: await (await existingLedger(c)).listBudgets(now(c)) });
  })
  .post("/tenants/:tenant/budgets", async (c) => {
    const init = await body(c, createBudgetSchema);
    const budget = await (await existingLedger(c)).createBudget({ ...init, keyId: init.key ?? null }, now(c));
    if (!budget) throw new RouterError({ kind: "invalid_body", message: `Invalid value for 'key': no key '${init.key}' in this tenant.`, param: "key" });
    await audit(c, { action: "budget.create", target: budget.id, summary: { ...init } });
    return c.json(budget, 201);
  })
  .put("/tenants/:tenant/budgets/:budgetId", async (c) => {
    const limits = await body(c, budgetLimitsSchema);
    const budget = await (await existingLedger(c)).updateBudget(c.req.param("budgetId"), limits, now(c));
    if (!budget) throw budgetNotFound(c);
    await audit(c, { action: "budget.update", target: budget.id, summary: { ...limits } });
    return c.json(budget);
  })
  .delete("/tenants/:tenant/budgets/:budgetId", async (c) => {
    const deleted = await (await existingLedger(c)).deleteBudget(c.req.param("budgetId"));
    if (!deleted) throw budgetNotFound(c);
    await audit(c, { action: "budget.delete", target: c.req.param("budgetId") });
    return c.json({ id: c.req.param("budgetId"), deleted: true });
  })
  .post("/tenants/:tenant/budgets/:budgetId/reset", async (c) => {
    const budget = await (await existingLedger(c)).resetBudget(c.req.param("budgetId"), now(c));
    if (!budget) throw budgetNotFound(c);
    await audit(c, { action: "budget.reset", target: budget.id, summary: { periodKey: budget.periodKey } });
    return c.json(budget);
  })
  .route("/config", adminConfigRoutes)
  .route("/", migrationRoutes)
  .route("/", reportRoutes)
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
    const { limit } = validate(decisionsQuery, c.req.query());
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
  /** Stops a canary by hand, as its criteria would: no traffic until resumed. The first stop stands (its time and reason). */
  .post("/scenarios/:scenario/canary-stop", async (c) => {
    const { reason } = await body(c, canaryStopSchema);
    const canary = canaryOf(c);
    const stop = await c.env.ORIGIN_MONITOR.getByName(canary.origin).stopCanary(canary.name, `stopped by hand${reason ? `: ${reason}` : ""}`, now(c));
    const effective = await canaryChanged(c, canary);
    await audit(c, { action: "scenario.canary.stop", tenant: null, target: canary.name, summary: { origin: canary.origin, reason: stop.reason } });
    return c.json({ scenario: canary.name, origin: canary.origin, stopped: true, stop, effectiveBy: effective });
  })
  .delete("/scenarios/:scenario/canary-stop", async (c) => {
    const canary = canaryOf(c);
    const resumed = await c.env.ORIGIN_MONITOR.getByName(canary.origin).resumeCanary(canary.name);
    const effective = await canaryChanged(c, canary);
    await audit(c, { action: "scenario.canary.resume", tenant: null, target: canary.name, summary: { origin: canary.origin, resumed } });
    return c.json({ scenario: canary.name, origin: canary.origin, resumed, effectiveBy: effective });
  })
  .get("/tenants/:tenant/usage", async (c) => usageResponse(c, await existingLedger(c)))
  .get("/tenants/:tenant/usage/summary", async (c) => usageSummaryResponse(c, await existingLedger(c)))
  .route("/", adminUsageRoutes);

/** The admin API as the Worker serves it: admin tokens only, every change in the audit log. */
export const adminRoutes = new Hono<AppEnv>().use(adminAuth()).use(auditTrail()).route("/", adminApi);
