/**
 * What the benchmark asks of the router's admin API: tenants with limits it never hits and one
 * debug key each (so every request can carry `x-router-explain: 1`), the budgeted tenant's daily
 * budget, and afterwards the router's own accounting: usage rows and budget states.
 */
import { LOCAL_ADMIN_TOKEN } from "../../lib/demo";

/**
 * A usage row as the admin API exports it (the fields read here; `UsageRecord` in
 * src/ledger/types.ts, not imported: that module's imports need the Workers runtime's types).
 */
export interface UsageRow {
  requestId: string;
  at: number;
  origin: string | null;
  promptTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  completionTokens: number;
  costMicros: number;
  reservedMicros: number;
  usageSource: string;
  status: number;
  outcome: string;
  latencyMs: number;
}

/** A budget with its current period's state (`BudgetStatus` in src/ledger/types.ts). */
export interface BudgetState {
  id: string;
  limit: number;
  softLimit: number | null;
  periodKey: string;
  resetsAt: number | null;
  settled: number;
  reserved: number;
  remaining: number;
  softLimitReached: boolean;
}

const HEADERS = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json" };

async function call<T>(routerUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${routerUrl}/admin${path}`, { method, headers: HEADERS, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`router admin API: ${method} ${path} answered ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export interface Provisioned {
  /** Tenant id → API key (debug policy). */
  keys: Map<string, string>;
  /** The budget's id, when one was made. */
  budgetId: string | null;
}

export interface BudgetSpec {
  tenant: string;
  limitMicros: number;
  softLimitMicros: number;
}

/** Creates the tenants, their keys and the daily budget. */
export async function provision(routerUrl: string, tenants: readonly string[], budget: BudgetSpec | null): Promise<Provisioned> {
  const keys = new Map<string, string>();
  await Promise.all(
    tenants.map(async (id) => {
      await call(routerUrl, "POST", "/tenants", { id, timeZone: "UTC" });
      await call(routerUrl, "PUT", `/tenants/${id}/limits`, { rpm: 10_000_000, tpm: 10_000_000_000, concurrency: 100_000 });
      const key = await call<{ key: string }>(routerUrl, "POST", `/tenants/${id}/keys`, { name: "bench", policy: { debug: true } });
      keys.set(id, key.key);
    }),
  );
  let budgetId: string | null = null;
  if (budget) {
    const made = await call<{ id: string }>(routerUrl, "POST", `/tenants/${budget.tenant}/budgets`, {
      metric: "cost",
      period: "day",
      limit: budget.limitMicros,
      softLimit: budget.softLimitMicros,
    });
    budgetId = made.id;
  }
  return { keys, budgetId };
}

/** Every usage row of a tenant, as the router logged them (JSON Lines export). */
export async function usageRows(routerUrl: string, tenant: string): Promise<UsageRow[]> {
  const res = await fetch(`${routerUrl}/admin/tenants/${tenant}/usage?format=jsonl`, { headers: HEADERS });
  const text = await res.text();
  if (!res.ok) throw new Error(`usage export of ${tenant}: ${res.status} ${text.slice(0, 300)}`);
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as UsageRow);
}

/** The tenant's budgets in the router's current period. */
export async function budgets(routerUrl: string, tenant: string): Promise<BudgetState[]> {
  return (await call<{ data: BudgetState[] }>(routerUrl, "GET", `/tenants/${tenant}/budgets`)).data;
}
