/**
 * Usage across every tenant (`GET /admin/usage/summary`): the totals of the tenants' own usage
 * summaries (`/admin/tenants/:tenant/usage/summary`, the same ledger query), summed over the
 * directory's tenants, and grouped by tenant, model (scenario), origin or day. What the console's
 * overview reads; a dashboard can too.
 *
 * It asks every listed tenant's ledger once, in parallel ({@link FAN_OUT} at a time), never the
 * ledger of a tenant the directory does not list. Past {@link MAX_TENANTS} tenants it sums the
 * first ones by id and says so (`truncated`): a deployment that large wants its usage in Analytics
 * Engine (DESIGN §8), not summed on request.
 *
 *   GET /admin/usage/summary?from&to&group_by=tenant|model|origin|day   {total, data, tenants, truncated}
 *
 * `day` is each tenant's own day (its time zone), as in its own summary.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import type { UsageGrouping, UsageTotals } from "../ledger/types";
import { validate } from "../openai/requests";
import { documented } from "../openapi/registry";
import { directoryOf, ledgerOf } from "./admin-request";
import { instantParam } from "./usage-query";

/** Tenants summed at most; past it the answer is `truncated`. */
export const MAX_TENANTS = 2_000;
/** Ledgers asked at once. */
const FAN_OUT = 32;
/** The directory's page size when listing every tenant. */
const LIST_PAGE = 500;

export const CROSS_TENANT_GROUPS = ["tenant", "model", "origin", "day"] as const;
type CrossTenantGroup = (typeof CROSS_TENANT_GROUPS)[number];

const summaryQuery = z
  .object({
    from: instantParam.optional(),
    to: instantParam.optional(),
    group_by: z.enum(CROSS_TENANT_GROUPS).default("tenant"),
  })
  .strict();

/** What each tenant's ledger is asked to group by: one row per tenant when grouping by tenant. */
const LEDGER_GROUPING: Record<CrossTenantGroup, UsageGrouping> = { tenant: "all", model: "model", origin: "origin", day: "day" };

/** No usage at all. */
export function zeroTotals(group: string): UsageTotals {
  return {
    group,
    requests: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    costMicros: 0,
    errors: 0,
    accepted: 0,
    rejected: 0,
    unrated: 0,
    gatesPassed: 0,
    gatesFailed: 0,
    costPerAcceptedMicros: null,
  };
}

/** Adds `b`'s counts to `a` (in place) and returns it. */
function addInto(a: UsageTotals, b: UsageTotals): UsageTotals {
  a.requests += b.requests;
  a.promptTokens += b.promptTokens;
  a.cachedTokens += b.cachedTokens;
  a.completionTokens += b.completionTokens;
  a.costMicros += b.costMicros;
  a.errors += b.errors;
  a.accepted += b.accepted;
  a.rejected += b.rejected;
  a.unrated += b.unrated;
  a.gatesPassed += b.gatesPassed;
  a.gatesFailed += b.gatesFailed;
  // A ratio is never summed: it is the summed cost over the summed acceptances.
  a.costPerAcceptedMicros = a.accepted > 0 ? Math.round(a.costMicros / a.accepted) : null;
  return a;
}

/** Every listed tenant id, in id order, up to `max`; whether there were more. */
async function tenantIds(directory: ReturnType<typeof directoryOf>, max: number): Promise<{ ids: string[]; truncated: boolean }> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await directory.list({ after, limit: Math.min(LIST_PAGE, max - ids.length) });
    ids.push(...page.data.map((t) => t.id));
    if (page.nextAfter === null) return { ids, truncated: false };
    if (ids.length >= max) return { ids, truncated: true };
    after = page.nextAfter;
  }
}

/** `work` over `items`, at most `limit` at once, results in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

documented({
  method: "get",
  path: "/admin/usage/summary",
  tag: "Admin: tenants",
  auth: "admin-or-read",
  summary: "Usage summed across every tenant, grouped by tenant, model, origin or day",
  query: summaryQuery,
  responses: { 200: { description: "`{object: list, group_by, from, to, tenants, truncated, total, data}`" } },
});

export const adminUsageRoutes = new Hono<AppEnv>().get("/usage/summary", async (c) => {
  const q = validate(summaryQuery, c.req.query());
  const { ids, truncated } = await tenantIds(directoryOf(c), MAX_TENANTS);
  const query = { from: q.from, to: q.to };
  const perTenant = await mapLimited(ids, FAN_OUT, (id) => ledgerOf(c, id).usageTotals(query, LEDGER_GROUPING[q.group_by]));
  const groups = new Map<string, UsageTotals>();
  const total = zeroTotals("");
  perTenant.forEach((rows, i) => {
    for (const row of rows) {
      const group = q.group_by === "tenant" ? ids[i]! : row.group;
      addInto(groups.get(group) ?? groups.set(group, zeroTotals(group)).get(group)!, row);
      addInto(total, row);
    }
  });
  const data = [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return c.json({ object: "list", group_by: q.group_by, from: q.from ?? null, to: q.to ?? null, tenants: ids.length, truncated, total, data });
});
