/**
 * The promise of issue #3: under a burst of concurrent requests a budget is never overspent, and
 * the usage log matches the ledger to the micro-dollar.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addBudget, api, budgetsOf, ledgerOf, newTenant, settledAll } from "../support/client";

/** chat-pool: input free, 2 µ$ per output token; max_tokens 8 yields exactly 8 tokens (the simulator's minimum). */
const COST = 16;
const K = 6;

function request(key: string, i: number, extra: Record<string, unknown> = {}) {
  const body = { model: "chat-pool", messages: [{ role: "user", content: `burst ${i}` }], max_tokens: 8, ...extra };
  return api("/chat/completions", key, body);
}

async function peakAndLog(tenantId: string) {
  return runInDurableObject(ledgerOf(tenantId), (_, state) => {
    const sql = state.storage.sql;
    return {
      peak: sql.exec<{ peak: number }>("SELECT MAX(peak) AS peak FROM budget_usage").one().peak,
      logged: sql.exec<{ cost: number }>("SELECT COALESCE(SUM(cost_micros), 0) AS cost FROM usage").one().cost,
      rows: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM usage").one().n,
    };
  });
}

describe("a budget under concurrency", () => {
  it(`admits exactly ${K} of ${4 * K} concurrent requests that each cost the whole share (streamed and not)`, async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: K * COST });
    const responses = await Promise.all(Array.from({ length: 4 * K }, (_, i) => request(key, i, { stream: i % 2 === 0 })));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(K);
    expect(refused).toHaveLength(3 * K);
    for (const [i, r] of responses.entries()) {
      if (r.status === 429) expect(JSON.parse(bodies[i]!).error.code).toBe("insufficient_quota");
    }
    await settledAll(tenantId);
    const [budget] = await budgetsOf(tenantId);
    expect(budget).toMatchObject({ settled: K * COST, reserved: 0, remaining: 0 });
    const { peak, logged, rows } = await peakAndLog(tenantId);
    expect(peak).toBeLessThanOrEqual(K * COST);
    expect(logged).toBe(K * COST);
    expect(rows).toBe(K); // refused requests never reached an origin: nothing to log
  });

  it("never overspends while requests fail at the origin or break mid-stream, and the log matches the ledger", async () => {
    const { tenantId, key } = await newTenant();
    const limit = K * COST;
    await addBudget(tenantId, { metric: "cost", period: "day", limit });
    const faults = [
      {},
      { stream: true },
      { sim: { pool: { status: 500 } } },
      { stream: true, sim: { pool: { cutAfterChunks: 3 } } },
      { stream: true, sim: { pool: { omitUsage: true } } },
    ];
    // Wave 0: three streams that break mid-way, alone, so all are admitted whatever the order of
    // arrival later. Then three waves of the whole mix under contention; budget freed by failures
    // is reused by later requests.
    const delivered = new Map<string, number>(); // cut streams: request id → content events the client got
    const cutOnly = { stream: true, sim: { pool: { cutAfterChunks: 3 } } };
    for (let wave = 0; wave < 4; wave++) {
      const mix = (i: number) => (wave === 0 ? cutOnly : faults[i % faults.length]!);
      const responses = await Promise.all(Array.from({ length: wave === 0 ? 3 : 3 * K }, (_, i) => request(key, wave * 100 + i, mix(i))));
      const bodies = await Promise.all(responses.map((r) => r.text()));
      responses.forEach((r, i) => {
        expect([200, 429, 502], `status of request ${i} (${JSON.stringify(mix(i))}): ${bodies[i]!.slice(0, 200)}`).toContain(r.status);
        if (r.status === 200 && bodies[i]!.includes("upstream_stream_broken")) {
          delivered.set(r.headers.get("x-request-id")!, bodies[i]!.split("\n\n").filter((e) => /"content":"[^"]/.test(e)).length);
        }
      });
      await settledAll(tenantId);
    }
    const [budget] = await budgetsOf(tenantId);
    const { peak, logged } = await peakAndLog(tenantId);
    expect(budget!.reserved).toBe(0);
    expect(budget!.settled).toBeLessThanOrEqual(limit);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(logged).toBe(budget!.settled);
    // Cut streams were charged for what they delivered (2 µ$ a token), not for the whole share.
    expect(delivered.size).toBeGreaterThan(0);
    const cut = await runInDurableObject(ledgerOf(tenantId), (_, state) =>
      state.storage.sql.exec<{ id: string; cost: number; outcome: string }>("SELECT request_id AS id, cost_micros AS cost, outcome FROM usage WHERE outcome = 'stream_broken'").toArray(),
    );
    expect(cut.map((r) => r.id).sort()).toEqual([...delivered.keys()].sort());
    for (const row of cut) expect(row.cost, row.id).toBe(2 * delivered.get(row.id)!);
  });
});
