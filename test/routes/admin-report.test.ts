/**
 * The decision report (issue #19 §3), pinned on a seeded trace: two tenants' usage rows of
 * `chat-decided` over four hours (MaaS in three, the pool in the fourth), with feedback, written
 * straight into their ledgers. Every figure is checked against the arithmetic of the trace and the
 * config (REPORT_POOL_ECONOMICS, REPORT_DECISION); then the Markdown, the refusals, and an honest
 * "insufficient-data" on a window with too few requests.
 */
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { nextUtc } from "../support/clock";
import { adminFetch, errorOf, jsonOf, ledgerOf, newTenant } from "../support/client";
import type { DecisionReport } from "../../src/report/decision";

const HOUR = 3_600_000;

interface Seed {
  origin: string;
  hour: number;
  n: number;
  cost: number;
  prompt: number;
  cached: number;
  completion: number;
  latency: number;
  accepted: number;
  rejected: number;
}

async function seed(tenantId: string, t0: number, rows: Seed[], scenario = "chat-decided", idPrefix = `req_seed_${tenantId}_`): Promise<void> {
  await runInDurableObject(ledgerOf(tenantId), (_, state) => {
    let i = 0;
    for (const r of rows) {
      for (let k = 0; k < r.n; k++, i++) {
        const feedback = k < r.accepted ? "accepted" : k < r.accepted + r.rejected ? "rejected" : null;
        state.storage.sql.exec(
          `INSERT INTO usage (request_id, at, day, key_id, endpoint, scenario, origin, model, stream, prompt_tokens, cached_tokens, cache_write_tokens,
             completion_tokens, cost_micros, reserved_micros, usage_source, status, outcome, latency_ms, feedback, feedback_at)
           VALUES (?, ?, ?, 'key_seed', 'chat', ?, ?, 'm', 0, ?, ?, 0, ?, ?, ?, 'origin', 200, 'ok', ?, ?, ?)`,
          `${idPrefix}${i}`,
          t0 + r.hour * HOUR + k * 1000,
          new Date(t0).toISOString().slice(0, 10),
          scenario,
          r.origin,
          r.prompt,
          r.cached,
          r.completion,
          r.cost,
          r.cost,
          r.latency,
          feedback,
          feedback ? t0 : null,
        );
      }
    }
  });
}

const maas = (hour: number, n: number, accepted: number, rejected: number): Seed => ({ origin: "rep-maas", hour, n, cost: 1000, prompt: 500, cached: 100, completion: 250, latency: 400, accepted, rejected });

describe("GET /admin/scenarios/{scenario}/report", () => {
  it("fills the decision from a seeded trace, every figure with its source and its arithmetic", async () => {
    const t0 = nextUtc({ hour: 0 });
    const a = await newTenant();
    const b = await newTenant();
    // Tenant A: MaaS in hours 0-2 (10, 20, 10 requests; 30 accepted, 10 rejected). Tenant B: the pool in hour 3 (20; 16 accepted, 4 rejected).
    await seed(a.tenantId, t0, [maas(0, 10, 10, 0), maas(1, 20, 15, 5), maas(2, 10, 5, 5)]);
    await seed(b.tenantId, t0, [{ origin: "rep-pool", hour: 3, n: 20, cost: 300, prompt: 500, cached: 250, completion: 250, latency: 600, accepted: 16, rejected: 4 }]);
    const window = `from=${t0}&to=${t0 + 4 * HOUR}`;

    const r = await jsonOf<DecisionReport>(adminFetch(`/scenarios/chat-decided/report?${window}`));
    expect(r.object).toBe("scenario.report");
    expect(r.window).toEqual({ from: t0, to: t0 + 4 * HOUR, hours: 4 });
    expect(r.tenants.truncated).toBe(false);
    expect(r.dataBoundary).toEqual({
      origins: [
        { origin: "rep-maas", kind: "maas", region: "eu-west" },
        { origin: "rep-pool", kind: "self-hosted", region: null },
      ],
      source: "configured",
    });
    // 60 requests over 4 hours: 15 an hour, the peak 20; a month (730 h) of it is 10,950.
    expect(r.demand).toEqual({
      requests: { value: 60, source: "measured" },
      meanPerHour: { value: 15, source: "measured" },
      peakPerHour: { value: 20, source: "measured" },
      peakToMean: { value: 1.33, source: "measured" },
      hourOfDay: { value: [10, 20, 10, 20, ...Array(20).fill(0)], source: "measured" },
      monthlyRequests: { value: 10_950, source: "estimated" },
    });
    expect(r.origins.map(({ health: _, cache: __, ...o }) => o)).toEqual([
      // 40 requests at 1,000 µ$: $1 per 1,000 requests; 40,000 µ$ over 30 accepted = 1,333 µ$; 100 of 500 prompt tokens cached.
      { origin: "rep-maas", kind: "maas", region: "eu-west", requests: 40, errorRate: 0, costMicros: 40_000, costPer1kRequestsMicros: 1_000_000, accepted: 30, rejected: 10, unrated: 0, acceptanceRate: 0.75, gatePassRate: null, costPerAcceptedMicros: 1_333, cacheHitRate: 0.2, latencyMs: { mean: 400, cv: 0 }, source: "measured" },
      { origin: "rep-pool", kind: "self-hosted", region: null, requests: 20, errorRate: 0, costMicros: 6_000, costPer1kRequestsMicros: 300_000, accepted: 16, rejected: 4, unrated: 0, acceptanceRate: 0.8, gatePassRate: null, costPerAcceptedMicros: 375, cacheHitRate: 0.5, latencyMs: { mean: 600, cv: 0 }, source: "measured" },
    ]);
    // The cache, re-estimated per origin. Within each hour requests come 1 s apart, between hours
    // an hour apart: 56 of the 60 come within both TTLs (300 s, 600 s) of their tenant's previous one.
    // A warm cache reused 0.2 / (56/60) of a prompt on rep-maas and 0.5 / (56/60) = 0.5357 on rep-pool: the
    // repeated prefix is 268 of 500 tokens. rep-maas reuses nothing under 1,024 tokens; rep-pool reuses
    // 256 (16-token steps): 256/500 × 56/60 = 0.4779.
    expect(r.expectedCache).toEqual({
      promptTokensPerRequest: { value: 500, source: "measured" },
      repeatedPrefixShare: { value: 0.5357, source: "estimated" },
      repeatedPrefixFrom: "rep-pool",
      origins: [
        {
          origin: "rep-maas",
          ttlSeconds: { value: 300, source: "configured" },
          minTokens: { value: 1024, source: "configured" },
          stepTokens: { value: 128, source: "configured" },
          cachedInputPriceRatio: { value: 0.5, source: "configured" },
          arrivalsWithinTtl: { value: 0.9333, source: "measured" },
          measuredHitRate: { value: 0.2, source: "measured" },
          expectedHitRate: { value: 0, source: "estimated" },
        },
        {
          origin: "rep-pool",
          ttlSeconds: { value: 600, source: "configured" },
          minTokens: { value: 16, source: "configured" },
          stepTokens: { value: 16, source: "configured" },
          cachedInputPriceRatio: { value: 1, source: "configured" },
          arrivalsWithinTtl: { value: 0.9333, source: "measured" },
          measuredHitRate: { value: 0.5, source: "measured" },
          expectedHitRate: { value: 0.4779, source: "estimated" },
        },
      ],
    });
    // One unit covers the peak: 20 × 1.3 (reserve) × 1.2 (staging) = 31.2 requests an hour of 100.
    expect(r.pool).toEqual({
      origin: "rep-pool",
      fixedUsdPerHour: { value: 2, source: "configured" },
      requestsPerHour: { value: 100, source: "configured" },
      utilisationAtMean: { value: 0.15, source: "estimated" },
      unitsForPeak: { value: 1, source: "estimated" },
      costPerRequestMicros: { value: 300, source: "measured" },
    });
    // MaaS: 1,000 µ$ × 10,950. Self-hosted: $2 × 730 h + $100 overhead + 300 µ$ × 10,950. Hybrid: one unit takes every hour (≤ 83.3 a unit after staging): share 1.
    // Break-even: ($1,460 × 1.2 + $100) / (1,000 − 300) µ$ = 2,645,714.3 → 2,645,715 requests a month.
    expect(r.options).toEqual({
      maas: { value: 10_950_000, source: "estimated" },
      selfHosted: { value: 1_563_285_000, source: "estimated" },
      hybrid: { value: { share: 1, monthlyMicros: 1_563_285_000 }, source: "estimated" },
      breakEvenRequestsPerMonth: { value: 2_645_715, source: "estimated" },
      // rep-maas has no off-peak window nor flex tier, and nothing is deferrable.
      deferred: { value: null, source: "estimated" },
      settings: { value: { overheadUsdPerMonth: 100, peakReserve: 0.3, stagingShare: 0.2, minRequests: 10, minRated: 4, acceptanceTolerance: 0.05, deferrableShare: 0 }, source: "configured" },
    });
    // Per accepted outcome: MaaS 10,950,000 / 0.75; self-hosted 1,563,285,000 / 0.8; hybrid / 0.75.
    expect(r.recommendation).toEqual({
      choice: "maas",
      poolShare: 0,
      deferredShare: null,
      reasons: [
        "cheapest per accepted outcome: maas 14600000 µ$/month, self-hosted 1954106250 µ$/month, hybrid 2084380000 µ$/month",
        "break-even at 2645715 requests a month (one unit with its staging share and the overhead), demand is 10950",
      ],
    });

    // The same report as Markdown, by query or by Accept.
    const md = await adminFetch(`/scenarios/chat-decided/report?${window}&format=md`);
    expect(md.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    const text = await md.text();
    expect(text).toContain("# Decision report: chat-decided");
    expect(text).toContain("**maas**");
    expect(text).toContain("| rep-maas | maas | 40 | 0.0 % | $1.00 | 30 | 10 | 0 | 75.0 % | n/a | $0.00 | 20.0 % |");
    expect(text).toContain("- self-hosted: $1563.29 _(estimated)_");
    const byAccept = await SELF.fetch(`http://router.test/admin/scenarios/chat-decided/report?${window}`, { headers: { authorization: "Bearer test-admin-token", accept: "text/markdown" } });
    expect(await byAccept.text()).toBe(text);
  });

  it("recommends batch/deferred for the work that is not urgent, at the cheapest deferred price", async () => {
    const t0 = nextUtc({ hour: 0 }) + 60 * 86_400_000;
    const a = await newTenant();
    const beta = (hour: number, n: number): Seed => ({ origin: "beta", hour, n, cost: 1000, prompt: 500, cached: 0, completion: 250, latency: 400, accepted: 0, rejected: 0 });
    // 30 interactive requests in hour 0, 10 Batch API lines in hour 1.
    await seed(a.tenantId, t0, [beta(0, 30)], "chat-deferrable");
    await seed(a.tenantId, t0, [beta(1, 10)], "chat-deferrable", "batch_report-");
    const r = await jsonOf<DecisionReport>(adminFetch(`/scenarios/chat-deferrable/report?from=${t0}&to=${t0 + 2 * HOUR}`));
    // 20 requests an hour: 14,600 a month at 1,000 µ$; a quarter deferred (measured, above the configured 10 %) at half price.
    expect(r.options.maas).toEqual({ value: 14_600_000, source: "estimated" });
    expect(r.options.deferred).toEqual({
      value: { share: 0.25, shareSource: "measured", priceRatio: 0.5, via: "beta off-peak window 16:30-00:30", monthlyMicros: 12_775_000 },
      source: "estimated",
    });
    expect(r.recommendation).toEqual({
      choice: "batch-deferred",
      poolShare: null,
      deferredShare: 0.25,
      reasons: [
        "no self-hosted origin of this scenario declares its economics (fixedUsdPerHour, requestsPerHour): the pool cannot be priced",
        "25 % of the work is not urgent (Batch API lines): deferred at 50 % of the price (beta off-peak window 16:30-00:30), the rest interactive on MaaS",
      ],
    });
    const md = await (await adminFetch(`/scenarios/chat-deferrable/report?from=${t0}&to=${t0 + 2 * HOUR}&format=md`)).text();
    expect(md).toContain("**batch-deferred** (deferred share 25.0 %)");
    expect(md).toContain("- batch/deferred: $12.78, 25.0 % deferred _(measured)_ at 50.0 % of the price (beta off-peak window 16:30-00:30) _(estimated)_");

    // Fewer Batch API lines than the operator's 10 %: the configured share is used, and said so.
    const later = t0 + 10 * HOUR;
    await seed(a.tenantId, later, [beta(0, 38)], "chat-deferrable", "req_later_");
    await seed(a.tenantId, later, [beta(0, 2)], "chat-deferrable", "batch_later-");
    const configured = await jsonOf<DecisionReport>(adminFetch(`/scenarios/chat-deferrable/report?from=${later}&to=${later + HOUR}`));
    // 40 an hour: 29,200 a month at 1,000 µ$, 10 % of it at half price.
    expect(configured.options.deferred.value).toEqual({ share: 0.1, shareSource: "configured", priceRatio: 0.5, via: "beta off-peak window 16:30-00:30", monthlyMicros: 27_740_000 });
    expect(configured.recommendation.reasons.at(-1)).toBe("10 % of the work is not urgent (decision.deferrableShare): deferred at 50 % of the price (beta off-peak window 16:30-00:30), the rest interactive on MaaS");
  });

  it("says when the data is insufficient, and refuses unknown scenarios and bad windows", async () => {
    const t0 = nextUtc({ hour: 0 }) + 30 * 86_400_000;
    const a = await newTenant();
    await seed(a.tenantId, t0, [maas(0, 3, 1, 0)]);
    const r = await jsonOf<DecisionReport>(adminFetch(`/scenarios/chat-decided/report?from=${t0}&to=${t0 + HOUR}`));
    expect(r.recommendation).toEqual({ choice: "insufficient-data", poolShare: null, deferredShare: null, reasons: ["3 requests in the window, 10 needed (decision.minRequests)"] });
    expect(r.demand.requests.value).toBe(3);

    expect(await errorOf(adminFetch("/scenarios/nope/report"))).toMatchObject({ status: 404 });
    expect(await errorOf(adminFetch(`/scenarios/chat-decided/report?from=${t0}&to=${t0}`))).toMatchObject({ status: 400, param: "from" });
    expect(await errorOf(adminFetch("/scenarios/chat-decided/report?format=pdf"))).toMatchObject({ status: 400, param: "format" });
    expect(await errorOf(adminFetch("/scenarios/chat-decided/report?window=1"))).toMatchObject({ status: 400 });
    // Read-only operators may read it; tenants' keys may not.
    expect((await adminFetch(`/scenarios/chat-decided/report?from=${t0}&to=${t0 + HOUR}`, { token: "test-admin-read-token" })).status).toBe(200);
    expect((await adminFetch("/scenarios/chat-decided/report", { token: a.key })).status).toBe(401);
  });
});
