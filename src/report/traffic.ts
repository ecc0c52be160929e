/**
 * A scenario's traffic as one tenant's usage log holds it, in a form that adds up across tenants
 * (sums, never rates or percentiles): per origin, and per clock hour. Read by the decision report
 * (`GET /admin/scenarios/{s}/report`), which sums every tenant's. Pure SQL over the usage table.
 */

/** One origin's requests of a scenario. */
export interface OriginTraffic {
  origin: string;
  requests: number;
  /** Answered with status 200. */
  answered: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costMicros: number;
  accepted: number;
  rejected: number;
  gatesPassed: number;
  gatesFailed: number;
  /** Over answered requests: the sum of latencies and of their squares (a mean and a spread add up; percentiles do not). */
  latencySumMs: number;
  latencySquaresMs: number;
}

export interface ScenarioTraffic {
  origins: OriginTraffic[];
  /** Requests by clock hour (epoch ms of the hour's start), every origin's and none's. */
  hours: Array<{ hour: number; requests: number }>;
  /**
   * By cache TTL in seconds: the requests that came at most that long after the tenant's previous
   * request of the scenario (the first of each tenant's window never does). What a cache with that
   * TTL would still hold of a prefix they share; per tenant, since tenants rarely share prompts.
   */
  withinTtl: Record<string, number>;
  /**
   * Lines of Batch API batches (work its senders said was not urgent): how many, what they cost,
   * and per origin (their tokens too: the report prices them again at deferred prices).
   */
  batch: { requests: number; costMicros: number; origins: BatchTraffic[] };
}

/** One origin's Batch API lines of a scenario. */
export interface BatchTraffic {
  origin: string;
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costMicros: number;
}

/** No traffic at all (a usage log that is no tenant's). */
export const NO_TRAFFIC: ScenarioTraffic = { origins: [], hours: [], withinTtl: {}, batch: { requests: 0, costMicros: 0, origins: [] } };

/** The most distinct TTLs one report asks about (one per origin of the scenario). */
export const MAX_TTLS = 16;

const HOUR_MS = 3_600_000;

type Row = Record<string, SqlStorageValue>;

/** The scenario's traffic in [from, to) in this usage log, with its inter-arrival gaps against each of `ttlsSeconds`. */
export function scenarioTraffic(sql: SqlStorage, scenario: string, from: number, to: number, ttlsSeconds: readonly number[] = []): ScenarioTraffic {
  // A batch line's request id is its batch's id (`batch_…`) and its index: its row counts in `b_*` too.
  const rows = sql
    .exec<Row>(
      `WITH u AS (SELECT *, request_id LIKE 'batch\\_%' ESCAPE '\\' AS b FROM usage WHERE scenario = ? AND at >= ? AND at < ?)
       SELECT COALESCE(origin, '') AS origin, COUNT(*) AS requests, SUM(status = 200) AS answered, SUM(prompt_tokens) AS prompt,
         SUM(cached_tokens) AS cached, SUM(completion_tokens) AS completion, SUM(cost_micros) AS cost,
         SUM(feedback = 'accepted') AS accepted, SUM(feedback = 'rejected') AS rejected,
         SUM(gate_passed = 1) AS passed, SUM(gate_passed = 0) AS failed,
         SUM(CASE WHEN status = 200 THEN latency_ms ELSE 0 END) AS lat, SUM(CASE WHEN status = 200 THEN latency_ms * latency_ms ELSE 0 END) AS lat2,
         SUM(b) AS b_n, SUM(b * prompt_tokens) AS b_prompt, SUM(b * cached_tokens) AS b_cached, SUM(b * completion_tokens) AS b_completion,
         SUM(b * cost_micros) AS b_cost
       FROM u GROUP BY COALESCE(origin, '') ORDER BY 1`,
      scenario,
      from,
      to,
    )
    .toArray();
  const n = (v: SqlStorageValue | undefined) => (v as number | null | undefined) ?? 0;
  const origins = rows.map((r) => ({
    origin: r.origin as string,
    requests: n(r.requests),
    answered: n(r.answered),
    promptTokens: n(r.prompt),
    cachedTokens: n(r.cached),
    completionTokens: n(r.completion),
    costMicros: n(r.cost),
    accepted: n(r.accepted),
    rejected: n(r.rejected),
    gatesPassed: n(r.passed),
    gatesFailed: n(r.failed),
    latencySumMs: n(r.lat),
    latencySquaresMs: n(r.lat2),
  }));
  const hours = sql
    .exec<{ hour: number; requests: number }>(`SELECT (at / ${HOUR_MS}) * ${HOUR_MS} AS hour, COUNT(*) AS requests FROM usage WHERE scenario = ? AND at >= ? AND at < ? GROUP BY 1 ORDER BY 1`, scenario, from, to)
    .toArray()
    .map((r) => ({ hour: r.hour, requests: r.requests }));
  const ttls = [...new Set(ttlsSeconds.filter((t) => Number.isInteger(t) && t >= 0))].slice(0, MAX_TTLS);
  const withinTtl: Record<string, number> = {};
  if (ttls.length > 0) {
    const row = sql
      .exec<Row>(
        `SELECT ${ttls.map((_, i) => `SUM(gap <= ?) AS t${i}`).join(", ")}
         FROM (SELECT at - LAG(at) OVER (ORDER BY at) AS gap FROM usage WHERE scenario = ? AND at >= ? AND at < ?)`,
        ...ttls.map((t) => t * 1000),
        scenario,
        from,
        to,
      )
      .one();
    ttls.forEach((t, i) => (withinTtl[String(t)] = (row[`t${i}`] as number | null) ?? 0));
  }
  const batchOrigins = rows
    .filter((r) => n(r.b_n) > 0)
    .map((r) => ({ origin: r.origin as string, requests: n(r.b_n), promptTokens: n(r.b_prompt), cachedTokens: n(r.b_cached), completionTokens: n(r.b_completion), costMicros: n(r.b_cost) }));
  const batch = { requests: batchOrigins.reduce((n, b) => n + b.requests, 0), costMicros: batchOrigins.reduce((n, b) => n + b.costMicros, 0), origins: batchOrigins };
  return { origins, hours, withinTtl, batch };
}

/** Several tenants' traffic added up. */
export function addTraffic(all: readonly ScenarioTraffic[]): ScenarioTraffic {
  const origins = new Map<string, OriginTraffic>();
  const hours = new Map<number, number>();
  const withinTtl: Record<string, number> = {};
  const batch = { requests: 0, costMicros: 0 };
  const batchOrigins = new Map<string, BatchTraffic>();
  for (const t of all) {
    batch.requests += t.batch.requests;
    batch.costMicros += t.batch.costMicros;
    for (const b of t.batch.origins) {
      const sum = batchOrigins.get(b.origin);
      if (!sum) batchOrigins.set(b.origin, { ...b });
      else for (const k of Object.keys(b) as Array<keyof BatchTraffic>) if (k !== "origin") sum[k] += b[k];
    }
    for (const [ttl, n] of Object.entries(t.withinTtl)) withinTtl[ttl] = (withinTtl[ttl] ?? 0) + n;
    for (const o of t.origins) {
      const sum = origins.get(o.origin);
      if (!sum) origins.set(o.origin, { ...o });
      else for (const k of Object.keys(o) as Array<keyof OriginTraffic>) if (k !== "origin") (sum[k] as number) += o[k] as number;
    }
    for (const h of t.hours) hours.set(h.hour, (hours.get(h.hour) ?? 0) + h.requests);
  }
  return {
    origins: [...origins.values()].sort((a, b) => a.origin.localeCompare(b.origin)),
    hours: [...hours.entries()].sort(([a], [b]) => a - b).map(([hour, requests]) => ({ hour, requests })),
    withinTtl,
    batch: { ...batch, origins: [...batchOrigins.values()].sort((a, b) => a.origin.localeCompare(b.origin)) },
  };
}
