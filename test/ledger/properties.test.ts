/**
 * Property-based tests of the ledger's arithmetic, against the real Durable Object: any sequence
 * of admissions, settlements (retried or not), expiries and clock jumps across period boundaries
 * keeps the books straight.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReservationRequest } from "../../src/ledger/types";
import { addBudget, adminFetch, ledgerOf, newTenant } from "../support/client";
import { nextUtc } from "../support/clock";

type Op =
  | { kind: "admit"; prompt: number; cap: number; choices: number; inPrice: number; outPrice: number; hold: number }
  | { kind: "settle"; pick: number; share: number; retry: boolean }
  | { kind: "expire" }
  | { kind: "advance"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("admit" as const), prompt: fc.integer({ min: 0, max: 60 }), cap: fc.integer({ min: 1, max: 40 }), choices: fc.integer({ min: 1, max: 3 }), inPrice: fc.integer({ min: 0, max: 2_000_000 }), outPrice: fc.integer({ min: 0, max: 3_000_000 }), hold: fc.integer({ min: 1_000, max: 7_200_000 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), share: fc.double({ min: 0, max: 1, noNaN: true }), retry: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("expire" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 3 * 86_400_000 }) }) },
);

interface Books {
  budgets: Array<{ id: string; metric: string; period: string; hard_limit: number }>;
  usage: Array<{ budget_id: string; period_key: string; settled: number; reserved: number; peak: number }>;
  reservations: Array<{ charges: string }>;
  logged: number;
}

function books(tenantId: string): Promise<Books> {
  return runInDurableObject(ledgerOf(tenantId), (_, state) => {
    const sql = state.storage.sql;
    return {
      budgets: sql.exec<{ id: string; metric: string; period: string; hard_limit: number }>("SELECT id, metric, period, hard_limit FROM budgets").toArray(),
      usage: sql.exec<{ budget_id: string; period_key: string; settled: number; reserved: number; peak: number }>("SELECT * FROM budget_usage").toArray(),
      reservations: sql.exec<{ charges: string }>("SELECT charges FROM reservations").toArray(),
      logged: sql.exec<{ c: number }>("SELECT COALESCE(SUM(cost_micros), 0) AS c FROM usage").one().c,
    };
  });
}

function checkInvariants(b: Books): void {
  const limitOf = new Map(b.budgets.map((x) => [x.id, x.hard_limit]));
  const held = new Map<string, number>();
  for (const r of b.reservations) {
    for (const c of JSON.parse(r.charges) as Array<{ budgetId: string; periodKey: string; amount: number }>) {
      const k = `${c.budgetId}|${c.periodKey}`;
      held.set(k, (held.get(k) ?? 0) + c.amount);
    }
  }
  for (const u of b.usage) {
    const limit = limitOf.get(u.budget_id)!;
    expect(u.settled).toBeGreaterThanOrEqual(0);
    expect(u.reserved).toBeGreaterThanOrEqual(0);
    expect(u.settled + u.reserved).toBeLessThanOrEqual(limit);
    expect(u.peak).toBeLessThanOrEqual(limit);
    expect(u.reserved).toBe(held.get(`${u.budget_id}|${u.period_key}`) ?? 0);
  }
  // The all-time money budget has seen every charge: it must equal the usage log to the micro-dollar.
  const total = b.budgets.find((x) => x.metric === "cost" && x.period === "total")!;
  const settled = b.usage.filter((u) => u.budget_id === total.id).reduce((s, u) => s + u.settled, 0);
  expect(settled).toBe(b.logged);
}

describe("ledger arithmetic (property-based)", () => {
  it("keeps settled + reserved within every limit, reservations accounted, and the log equal to the ledger", async () => {
    let settledTotal = 0;
    const yearEnd = nextUtc({ month: 11, day: 31, hour: 12 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("UTC", "Asia/Tokyo", "America/New_York", "Asia/Kathmandu"),
        fc.integer({ min: 20, max: 400 }),
        fc.integer({ min: 20, max: 400 }),
        fc.integer({ min: 50, max: 2_000 }),
        fc.array(op, { minLength: 5, maxLength: 25 }),
        async (timeZone, dayLimit, tokenLimit, totalLimit, ops) => {
          const { tenantId, key } = await newTenant();
          await adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { timeZone } });
          await addBudget(tenantId, { metric: "cost", period: "day", limit: dayLimit });
          await addBudget(tenantId, { metric: "tokens", period: "month", limit: tokenLimit });
          await addBudget(tenantId, { metric: "cost", period: "total", limit: totalLimit });
          const ledger = ledgerOf(tenantId);
          // Noon on a Dec 31: the clock soon crosses a month and a year boundary. The next one a
          // day or more ahead, never a fixed year: the ledger's real alarm would otherwise expire
          // reservations of its own accord once the real date passed it (issue #11).
          let clock = yearEnd;
          let n = 0;
          const open: Array<{ id: string; keyId: string; prompt: number; cap: number; prices: ReservationRequest["prices"] }> = [];
          const settled: string[] = [];
          for (const o of ops) {
            if (o.kind === "admit") {
              const prices = { input: o.inPrice, cachedInput: o.inPrice, cacheWrite: o.inPrice, output: o.outPrice };
              const reserve: ReservationRequest = { endpoint: "chat", scenario: "s", stream: false, promptTokensUpper: o.prompt, requestedOutputCap: o.cap, choices: o.choices, defaultOutputCap: 64, minOutputTokens: 1, prices, holdMs: o.hold };
              const id = `r${n++}`;
              const result = await ledger.admit({ key, requestId: id, at: clock, model: "s", reserve });
              if (result.ok) open.push({ id, keyId: result.keyId, prompt: o.prompt, cap: (result.outputCap ?? o.cap) * o.choices, prices });
            } else if (o.kind === "settle" && open.length > 0) {
              const r = open.splice(o.pick % open.length, 1)[0]!;
              // Real usage never exceeds the worst case: fewer tokens, same prices.
              const prompt = Math.floor(r.prompt * o.share);
              const completion = Math.floor(r.cap * o.share);
              const cost = Math.ceil((prompt * r.prices.input + completion * r.prices.output) / 1_000_000);
              const settlement = { requestId: r.id, at: clock, keyId: r.keyId, endpoint: "chat" as const, scenario: "s", origin: "o", model: "m", stream: false, promptTokens: prompt, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: completion, costMicros: cost, usageSource: "origin" as const, status: 200, outcome: "ok", latencyMs: 1 };
              await ledger.settle(settlement);
              settled.push(r.id);
              if (o.retry) expect(await ledger.settle({ ...settlement, costMicros: cost + 1 })).toBe(false);
            } else if (o.kind === "expire") {
              await runDurableObjectAlarm(ledger);
              // Whatever the alarm charged is no longer open; a late settlement of it changes nothing.
              const stillOpen = new Set(await runInDurableObject(ledger, (_, s) => s.storage.sql.exec<{ id: string }>("SELECT request_id AS id FROM reservations").toArray().map((r) => r.id)));
              for (let i = open.length - 1; i >= 0; i--) if (!stillOpen.has(open[i]!.id)) open.splice(i, 1);
            } else if (o.kind === "advance") {
              clock += o.ms;
            }
            checkInvariants(await books(tenantId));
          }
          for (const id of settled) expect(await ledger.usageOf(id)).not.toBeNull();
          settledTotal += settled.length;
        },
      ),
      { numRuns: 25 },
    );
    // The runs did exercise the books, not only refusals.
    expect(settledTotal).toBeGreaterThanOrEqual(10);
  });
});
