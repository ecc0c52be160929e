import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ReservationRequest } from "../../src/ledger/types";
import { estimatePromptTokensUpperBound } from "../../src/pricing/estimate";
import { addBudget, adminFetch, budgetsOf, chat, ledgerOf, newTenant, originSaw, settledAll, usageOf } from "../support/client";
import { dateAtOffset, nextUtc } from "../support/clock";

const HELLO = [{ role: "user", content: "Hello there" }];

describe("budgets through the Worker", () => {
  it("reserves the worst case, then settles the real cost exactly once", async () => {
    const { tenantId, key } = await newTenant();
    const budget = await addBudget(tenantId, { metric: "cost", period: "day", limit: 1_000_000 });
    // chat-main: alpha (1 µ$ in, 2 µ$ out per token) then beta; worst case at alpha's prices.
    const res = await chat(key, { model: "chat-main", messages: HELLO, max_tokens: 8 });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    const usage = await usageOf(tenantId, requestId);
    // "alpha-large<|user|>Hello there" = 30 bytes → 8 prompt tokens; 8 completion tokens.
    expect(usage).toMatchObject({ promptTokens: 8, completionTokens: 8, costMicros: 8 * 1 + 8 * 2, usageSource: "origin" });
    const upper = estimatePromptTokensUpperBound({ model: "chat-main", messages: HELLO, max_tokens: 8 });
    expect(usage.reservedMicros).toBe(upper * 1 + 8 * 2);
    await settledAll(tenantId);
    const [state] = await budgetsOf(tenantId);
    expect(state).toMatchObject({ id: budget.id, settled: 24, reserved: 0, remaining: 1_000_000 - 24 });
    // A settlement retried changes nothing.
    expect(await ledgerOf(tenantId).settle({ ...usage, costMicros: 999_999 })).toBe(false);
    expect((await budgetsOf(tenantId))[0]!.settled).toBe(24);
  });

  it("lowers the output cap to what the budget affords, says so, and sends it in the provider's field", async () => {
    const { tenantId, key } = await newTenant();
    // chat-pool: input free, 2 µ$ per output token. 40 µ$ left → 20 tokens.
    await addBudget(tenantId, { metric: "cost", period: "month", limit: 40 });
    const res = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 500 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-max-tokens")).toBe("20");
    const [seen] = await originSaw(res.headers.get("x-request-id")!);
    // The pool is vLLM, which takes max_completion_tokens (max_tokens is deprecated there).
    expect(seen!.body).toMatchObject({ max_completion_tokens: 20 });
    expect((seen!.body as Record<string, unknown>).max_tokens).toBeUndefined();
  });

  it("lowers max_completion_tokens when that is the field the client used, and imposes a cap when it set none", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "total", limit: 1_000 });
    const lowered = await chat(key, { model: "chat-pool", messages: HELLO, max_completion_tokens: 5_000 });
    const [seen] = await originSaw(lowered.headers.get("x-request-id")!);
    expect(seen!.body).toMatchObject({ max_completion_tokens: 500 });
    expect((seen!.body as Record<string, unknown>).max_tokens).toBeUndefined();
    await settledAll(tenantId);
    const left = (await budgetsOf(tenantId))[0]!.remaining;
    const uncapped = await chat(key, { model: "chat-pool", messages: HELLO });
    // No cap from the client: the scenario's default (4096) would not fit; what is left does.
    expect(uncapped.headers.get("x-router-max-tokens")).toBe(String(Math.floor(left / 2)));
  });

  it("counts every choice of n against the budget: the cap is per choice", async () => {
    const { tenantId, key } = await newTenant();
    // 80 µ$ at 2 µ$ a token = 40 output tokens in all: 20 for each of two choices.
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 80 });
    const res = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 500, n: 2 });
    expect(res.headers.get("x-router-max-tokens")).toBe("20");
    const usage = await usageOf(tenantId, res.headers.get("x-request-id")!);
    expect(usage.reservedMicros).toBe(80);
  });

  it("leaves the request alone when no budget applies", async () => {
    const { key } = await newTenant();
    const res = await chat(key, { model: "chat-pool", messages: HELLO });
    expect(res.headers.get("x-router-max-tokens")).toBeNull();
    const [seen] = await originSaw(res.headers.get("x-request-id")!);
    expect((seen!.body as Record<string, unknown>).max_tokens).toBeUndefined();
  });

  it("refuses with OpenAI's insufficient_quota when not even a minimal answer fits", async () => {
    const { tenantId, key } = await newTenant();
    // chat-pool's minimum useful answer is 16 tokens = 32 µ$.
    const budget = await addBudget(tenantId, { metric: "cost", period: "day", limit: 31 });
    const sent = Date.now();
    const res = await chat(key, { model: "chat-pool", messages: HELLO });
    const answered = Date.now();
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error.type).toBe("insufficient_quota");
    expect(body.error.code).toBe("insufficient_quota");
    expect(body.error.message).toContain(budget.id);
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("1000");
    // A daily budget is spendable again at the tenant's next midnight (UTC here): seconds until
    // then, seen from when the request was sent or answered (a UTC midnight may fall in between).
    const untilMidnight = (at: number) => (nextUtc({ hour: 0 }, at + 1) - at) / 1000;
    const retryAfter = Number(res.headers.get("retry-after"));
    expect([sent, answered].some((at) => Math.abs(retryAfter - untilMidnight(at)) < 5), `retry-after ${retryAfter}`).toBe(true);
    expect(await originSaw(res.headers.get("x-request-id")!)).toEqual([]);
    // A client that asks for fewer tokens than the minimum is served if those fit.
    const small = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(small.status).toBe(200);
  });

  it("warns past the soft limit", async () => {
    const { tenantId, key } = await newTenant();
    const budget = await addBudget(tenantId, { metric: "cost", period: "day", limit: 1_000, softLimit: 10 });
    const res = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-budget-warning")).toBe(`${budget.id}; metric=cost; period=day; used=2%`);
  });

  it("counts tokens for a token budget, and a key's budget binds only that key", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const other = (await (await adminFetch(`/tenants/${tenantId}/keys`, { body: { name: "other" } })).json()) as { key: string };
    const upper = estimatePromptTokensUpperBound({ model: "chat-pool", messages: HELLO });
    await addBudget(tenantId, { key: keyId, metric: "tokens", period: "day", limit: upper + 20 });
    const capped = await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 100 });
    expect(capped.headers.get("x-router-max-tokens")).toBe("20");
    const free = await chat(other.key, { model: "chat-pool", messages: HELLO, max_tokens: 100 });
    expect(free.headers.get("x-router-max-tokens")).toBeNull();
  });

  it("rejects bad budget bodies with the param", async () => {
    const { tenantId } = await newTenant();
    const cases: Array<[unknown, string]> = [
      [{ metric: "dollars", period: "day", limit: 5 }, "metric"],
      [{ metric: "cost", period: "week", limit: 5 }, "period"],
      [{ metric: "cost", period: "day", limit: 1.5 }, "limit"],
      [{ metric: "cost", period: "day", limit: 5, softLimit: 6 }, "softLimit"],
      [{ metric: "cost", period: "day", limit: 5, key: "key_nosuch" }, "key"],
    ];
    for (const [body, param] of cases) {
      const res = await adminFetch(`/tenants/${tenantId}/budgets`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });

  it("changes, resets and deletes a budget", async () => {
    const { tenantId, key } = await newTenant();
    const budget = await addBudget(tenantId, { metric: "cost", period: "day", limit: 1_000 });
    await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8 });
    await settledAll(tenantId);
    expect((await budgetsOf(tenantId))[0]!.settled).toBe(16);
    const changed = await adminFetch(`/tenants/${tenantId}/budgets/${budget.id}`, { method: "PUT", body: { limit: 2_000, softLimit: 1_500 } });
    expect(await changed.json()).toMatchObject({ limit: 2_000, softLimit: 1_500, settled: 16 });
    const reset = await adminFetch(`/tenants/${tenantId}/budgets/${budget.id}/reset`, { method: "POST" });
    expect(await reset.json()).toMatchObject({ settled: 0, remaining: 2_000 });
    expect((await adminFetch(`/tenants/${tenantId}/budgets/${budget.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await budgetsOf(tenantId)).toEqual([]);
    expect((await adminFetch(`/tenants/${tenantId}/budgets/${budget.id}`, { method: "DELETE" })).status).toBe(404);
  });
});

/** A reservation request as the Worker would send it, for chat-pool's prices. */
function reservation(overrides: Partial<ReservationRequest> = {}): ReservationRequest {
  return {
    endpoint: "chat",
    scenario: "chat-pool",
    stream: false,
    promptTokensUpper: 10,
    requestedOutputCap: 8,
    choices: 1,
    defaultOutputCap: 4096,
    minOutputTokens: 16,
    prices: { input: 0, cachedInput: 0, cacheWrite: 0, output: 2_000_000 },
    holdMs: 60_000,
    ...overrides,
  };
}

describe("the ledger's periods and expiry (clock injected)", () => {
  it("rolls a daily budget over at the tenant's midnight, not UTC's", async () => {
    const { tenantId, key } = await newTenant();
    expect((await adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { timeZone: "Asia/Tokyo" } })).status).toBe(200);
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 16 });
    const ledger = ledgerOf(tenantId);
    // 23:59 in Tokyo (UTC+9, no DST) is 14:59 UTC; one minute later a new Tokyo day begins.
    //
    // The instants lie ahead of the real clock. The ledger's alarm runs on the real clock and
    // charges, in full, every reservation whose `at + holdMs` it has passed. That is right: in
    // production `at` is the request's own admission time on the same clock, and `holdMs` outlasts
    // the request's total timeout, so a reservation still open past its expiry belongs to an
    // isolate that died before settling, and its worst case is all the ledger knows. It does mean a
    // test that injects an instant real time has passed meets that alarm at once: this test did,
    // with a fixed 2026-11-23, from that date on (issue #11).
    const beforeMidnight = nextUtc({ hour: 14, minute: 59 });
    const [today, tomorrow] = [dateAtOffset(beforeMidnight, 9), dateAtOffset(beforeMidnight + 60_000, 9)];
    expect(tomorrow).not.toBe(today);
    const first = await ledger.admit({ key, requestId: "r1", at: beforeMidnight, model: "chat-pool", reserve: reservation() });
    expect(first.ok).toBe(true);
    const again = await ledger.admit({ key, requestId: "r2", at: beforeMidnight + 30_000, model: "chat-pool", reserve: reservation() });
    expect(again).toMatchObject({ ok: false, reason: "insufficient_quota" });
    const nextDay = await ledger.admit({ key, requestId: "r3", at: beforeMidnight + 60_000, model: "chat-pool", reserve: reservation() });
    expect(nextDay.ok).toBe(true);
    const rows = await runInDurableObject(ledger, (_, state) =>
      state.storage.sql.exec("SELECT period_key, settled, reserved FROM budget_usage ORDER BY period_key").toArray(),
    );
    expect(rows).toEqual([
      { period_key: today, settled: 0, reserved: 16 },
      { period_key: tomorrow, settled: 0, reserved: 16 },
    ]);
    // Settling r1 after midnight charges the day it was admitted in.
    const base = { keyId: first.ok ? first.keyId : "", endpoint: "chat" as const, scenario: "chat-pool", origin: "pool", model: "m", stream: false };
    const usage = { promptTokens: 5, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 8, usageSource: "origin" as const, status: 200, outcome: "ok", latencyMs: 5 };
    expect(await ledger.settle({ ...base, ...usage, requestId: "r1", at: beforeMidnight, costMicros: 16 })).toBe(true);
    const after = await runInDurableObject(ledger, (_, state) =>
      state.storage.sql.exec("SELECT period_key, settled, reserved FROM budget_usage ORDER BY period_key").toArray(),
    );
    expect(after).toEqual([
      { period_key: today, settled: 16, reserved: 0 },
      { period_key: tomorrow, settled: 0, reserved: 16 },
    ]);
  });

  it("charges a reservation nobody settled at its reserved amount, when its alarm fires", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "total", limit: 1_000 });
    const ledger = ledgerOf(tenantId);
    const at = Date.now();
    const admitted = await ledger.admit({ key, requestId: "lost", at, model: "chat-pool", reserve: reservation({ stream: true }) });
    expect(admitted).toMatchObject({ ok: true, reservedMicros: 16 });
    // The alarm set for the reservation's expiry, run now instead of waiting a minute.
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    const row = await ledger.usageOf("lost");
    expect(row).toMatchObject({
      requestId: "lost",
      costMicros: 16,
      reservedMicros: 16,
      usageSource: "reserved",
      outcome: "expired",
      stream: true,
      promptTokens: 10,
      completionTokens: 8,
      latencyMs: 60_000,
    });
    expect((await budgetsOf(tenantId))[0]).toMatchObject({ settled: 16, reserved: 0 });
    // The isolate that comes back late cannot charge it twice.
    expect(await ledger.settle({ ...row!, costMicros: 2 })).toBe(false);
    expect((await budgetsOf(tenantId))[0]).toMatchObject({ settled: 16, reserved: 0 });
  });

  it("re-arms the alarm for reservations not yet due", async () => {
    const { tenantId, key } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const now = Date.now();
    await ledger.admit({ key, requestId: "due", at: now, model: "chat-pool", reserve: reservation() });
    await ledger.admit({ key, requestId: "later", at: now, model: "chat-pool", reserve: reservation({ holdMs: 3_600_000 }) });
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    expect(await ledger.usageOf("due")).toMatchObject({ outcome: "expired" });
    expect(await ledger.usageOf("later")).toBeNull();
    const alarm = await runInDurableObject(ledger, (_, state) => state.storage.getAlarm());
    expect(alarm).toBe(now + 3_600_000);
  });
});
