import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { periodEnd } from "../../src/time/period";
import { localTime } from "../../src/time/local-time";
import { addBudget, adminFetch, budgetsOf, chat, ledgerOf, newTenant, settledAll } from "../support/client";

const HELLO = [{ role: "user", content: "Hello there" }];

describe("the ledger's memory mirrors on the request path", () => {
  // Regression guard for the verified-key cache: a key admitted once skips hashing, so revoking
  // or re-limiting it must empty that cache or the old row would keep admitting. Strict tenants:
  // the ledger admits each of their requests itself (no lease), so its mirrors are what is tested.
  it("refuses a revoked key on its next request while the tenant's other keys stay verified", async () => {
    const { tenantId, key } = await newTenant({ allowedModels: null, strict: true });
    const created = await adminFetch(`/tenants/${tenantId}/keys`, { method: "POST", body: { name: "second" } });
    expect(created.status).toBe(201);
    const second = (await created.json()) as { id: string; key: string };
    for (let i = 0; i < 2; i++) {
      expect((await chat(key, { model: "chat-pool", messages: HELLO })).status).toBe(200);
      expect((await chat(second.key, { model: "chat-pool", messages: HELLO })).status).toBe(200);
    }
    expect((await adminFetch(`/tenants/${tenantId}/keys/${second.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await chat(second.key, { model: "chat-pool", messages: HELLO })).status).toBe(401);
    expect((await chat(second.key, { model: "chat-pool", messages: HELLO })).status).toBe(401);
    expect((await chat(key, { model: "chat-pool", messages: HELLO })).status).toBe(200);
  });

  it("applies a key's new limits on its next request after it was verified", async () => {
    const { tenantId, key, keyId } = await newTenant({ allowedModels: null, strict: true });
    expect((await chat(key, { model: "chat-pool", messages: HELLO })).status).toBe(200);
    const put = await adminFetch(`/tenants/${tenantId}/keys/${keyId}/limits`, { method: "PUT", body: { rpm: 1, tpm: null, concurrency: null } });
    expect(put.status).toBe(200);
    expect((await chat(key, { model: "chat-pool", messages: HELLO })).status).toBe(200);
    expect((await chat(key, { model: "chat-pool", messages: HELLO })).status).toBe(429);
  });

  it("settles by removing the reservation row in the same statement, and a retry changes nothing", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "tokens", period: "day", limit: 1_000_000 });
    const res = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(res.status).toBe(200);
    await settledAll(tenantId);
    const open = await runInDurableObject(ledgerOf(tenantId), (_, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM reservations").one().n);
    expect(open).toBe(0);
    const [budget] = await budgetsOf(tenantId);
    expect(budget!.reserved).toBe(0);
    expect(budget!.settled).toBeGreaterThan(0);
  });

  it("reports a budget's resetsAt exactly as periodEnd computes it", async () => {
    const { tenantId } = await newTenant();
    await adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { timeZone: "America/New_York" } });
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 10 });
    await addBudget(tenantId, { metric: "cost", period: "month", limit: 10 });
    await addBudget(tenantId, { metric: "cost", period: "total", limit: 10 });
    // The 23-hour day: DST starts in New York on 2026-03-08.
    const at = Date.UTC(2026, 2, 8, 12);
    const states = await ledgerOf(tenantId).listBudgets(at);
    expect(states.map((s) => s.resetsAt)).toEqual([
      periodEnd("day", at, "America/New_York"),
      periodEnd("month", at, "America/New_York"),
      null,
    ]);
  });
});

describe("localTime's per-second memo", () => {
  it("answers the same within a second, and each zone its own, however calls interleave", () => {
    const at = Date.UTC(2026, 10, 23, 12, 34, 56);
    const paris = localTime(at, "Europe/Paris");
    expect(localTime(at + 999, "Europe/Paris")).toEqual(paris);
    expect(localTime(at, "Asia/Kathmandu")).toEqual({ year: 2026, month: 11, day: 23, weekday: "mon", minuteOfDay: 18 * 60 + 19 });
    expect(localTime(at, "Europe/Paris")).toEqual({ year: 2026, month: 11, day: 23, weekday: "mon", minuteOfDay: 13 * 60 + 34 });
    // One second on, across midnight UTC: the memo must not answer for the previous second.
    const midnight = Date.UTC(2026, 10, 24);
    expect(localTime(midnight - 1, "UTC").day).toBe(23);
    expect(localTime(midnight, "UTC").day).toBe(24);
    expect(() => localTime(Number.NaN, "UTC")).toThrow(RangeError);
  });
});
