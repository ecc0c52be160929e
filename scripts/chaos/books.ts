/**
 * The crash test's view of the ledger, through the admin API only (what an operator sees): the
 * tenant and its budget, the budget's state sampled while the router lives and dies, and the
 * usage log exported at the end.
 */

export interface BudgetState {
  id: string;
  limit: number;
  settled: number;
  reserved: number;
}

/** A usage row, as far as the checks read it. */
export interface UsageRow {
  requestId: string;
  costMicros: number;
  status: number;
  outcome: string;
}

/** The admin API of one router, with its token. */
export function adminClient(url: string, token: string) {
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${url}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  }
  async function json<T>(method: string, path: string, body?: unknown, expected = 200): Promise<T> {
    const res = await call(method, path, body);
    if (res.status !== expected) throw new Error(`${method} /admin${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
  return {
    /** A tenant without rate limits (the budget is what is under test), a key, and a total cost budget. */
    async setUp(tenantId: string, limitMicros: number): Promise<{ key: string; budgetId: string }> {
      await json("POST", "/tenants", { id: tenantId, limits: { rpm: null, tpm: null, concurrency: null } }, 201);
      const { key } = await json<{ key: string }>("POST", `/tenants/${tenantId}/keys`, { name: "chaos" }, 201);
      const budget = await json<{ id: string }>("POST", `/tenants/${tenantId}/budgets`, { metric: "cost", period: "total", limit: limitMicros }, 201);
      return { key, budgetId: budget.id };
    },
    async budget(tenantId: string, budgetId: string): Promise<BudgetState> {
      const { data } = await json<{ data: BudgetState[] }>("GET", `/tenants/${tenantId}/budgets`);
      const budget = data.find((b) => b.id === budgetId);
      if (!budget) throw new Error(`budget ${budgetId} is gone`);
      return budget;
    },
    /** Every usage row of the tenant (JSON Lines export). */
    async usage(tenantId: string): Promise<UsageRow[]> {
      const res = await call("GET", `/tenants/${tenantId}/usage?format=jsonl`);
      if (res.status !== 200) throw new Error(`usage export: ${res.status} ${await res.text()}`);
      return (await res.text())
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as UsageRow);
    },
  };
}

export type AdminClient = ReturnType<typeof adminClient>;

/** Samples of settled + reserved taken while the load runs; a sample the dead router cannot answer is skipped. */
export interface BudgetWatch {
  /** The highest settled + reserved seen, and how many samples were read. */
  peak(): { used: number; samples: number };
  stop(): Promise<void>;
}

export function watchBudget(admin: AdminClient, tenantId: string, budgetId: string, everyMs = 200): BudgetWatch {
  let used = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const b = await admin.budget(tenantId, budgetId);
        used = Math.max(used, b.settled + b.reserved);
        samples++;
      } catch {
        // The router is down (killed on purpose) or restarting.
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    peak: () => ({ used, samples }),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
