/**
 * How a batch runs (src/batch/batch-store.ts), driven through its object's real stub at injected
 * instants (`advance(now)`, what its alarm runs), against the simulated origins and the tenant's real
 * ledger. Every instant is ahead of the real clock (test/support/clock.ts), so no real alarm of the
 * store or the ledger fires during a test: only `advance` and `runDurableObjectAlarm` move time.
 *
 * Off-peak windows, a budget spent mid-batch, the deadline, cancelling, a revoked key, and a line
 * run again after a crash at each point of its run: charged exactly once.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ReservationRequest, UsageRecord } from "../../src/ledger/types";
import { adminFetch, addBudget, budgetsOf, ledgerOf, newTenant } from "../support/client";
import { DAY_MS, nextUtc } from "../support/clock";
import { advanceAll, batchAt, batchOf, chatLine, contentOf, storeOf, uploaded } from "./support";

async function usageRows(tenantId: string): Promise<UsageRecord[]> {
  return (await ledgerOf(tenantId).queryUsage({ limit: 1000 }))!.data;
}

/** Runs SQL in the tenant's store (to put a line where a crash would have left it). */
function storeSql(tenantId: string, query: string, ...bindings: SqlStorageValue[]) {
  return runInDurableObject(storeOf(tenantId), (_, state) => state.storage.sql.exec(query, ...bindings).toArray());
}

/** What admission reserves for a `chat-pool` line capped at 4 output tokens: 4 × 2 µ$ (its input is free). */
const POOL_LINE: ReservationRequest = {
  endpoint: "chat",
  scenario: "chat-pool",
  stream: false,
  promptTokensUpper: 40,
  requestedOutputCap: 4,
  choices: 1,
  defaultOutputCap: 4096,
  minOutputTokens: 16,
  prices: { input: 0, cachedInput: 0, cacheWrite: 0, output: 2_000_000 },
  holdMs: 600_000,
};

const poolLines = (n: number, extra: Record<string, unknown> = { max_tokens: 4 }) => Array.from({ length: n }, (_, i) => chatLine(`line-${i}`, "chat-pool", extra));

describe("off-peak windows", () => {
  it("waits for the cheaper window and runs every line in it, at its price", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const file = await uploaded(key, [chatLine("a", "batch-offpeak"), chatLine("b", "batch-offpeak"), chatLine("c", "batch-offpeak")]);
    const at10 = nextUtc({ hour: 10 });
    const offPeak = nextUtc({ hour: 16, minute: 30 }, at10);
    const batch = await batchAt(tenantId, keyId, file.id, at10);
    expect(batch.status).toBe("validating");

    expect(await advanceAll(tenantId, at10)).toBe(offPeak);
    expect(await batchOf(tenantId, batch.id)).toMatchObject({
      status: "in_progress",
      in_progress_at: Math.floor(at10 / 1000),
      request_counts: { total: 3, completed: 0, failed: 0 },
      wait_reason: expect.stringMatching(/^beta is cheaper from 16:30 UTC \(\d+ vs \d+ µ\$ a request\)$/),
    });
    expect(await usageRows(tenantId)).toEqual([]);
    // Its alarm is set for the window; nothing runs before it.
    expect(await runInDurableObject(storeOf(tenantId), (_, state) => state.storage.getAlarm())).toBe(offPeak);

    expect(await advanceAll(tenantId, offPeak)).toBeNull();
    const done = await batchOf(tenantId, batch.id);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 3, completed: 3, failed: 0 }, completed_at: Math.floor(offPeak / 1000), wait_reason: null });
    const rows = await usageRows(tenantId);
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).toMatchObject({ at: offPeak, origin: "beta", status: 200 });
      // beta's off-peak prices: half of 0.27 and 1.10 USD per million tokens, rounded up.
      expect(row.costMicros).toBe(Math.ceil((row.promptTokens * 135_000 + row.completionTokens * 550_000) / 1_000_000));
    }
    expect((await contentOf(key, done.output_file_id!)).map((l) => [l.custom_id, l.response.body.model])).toEqual([
      ["a", "deepseek-chat"],
      ["b", "deepseek-chat"],
      ["c", "deepseek-chat"],
    ]);
  });

  it("runs at once inside the window", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const file = await uploaded(key, [chatLine("a", "batch-offpeak")]);
    const at = nextUtc({ hour: 20 });
    const batch = await batchAt(tenantId, keyId, file.id, at);
    expect(await advanceAll(tenantId, at)).toBeNull();
    expect(await batchOf(tenantId, batch.id)).toMatchObject({ status: "completed", request_counts: { completed: 1 } });
  });
});

describe("budgets", () => {
  it("a budget spent mid-batch ends the lines left as insufficient_quota, and is never overspent", async () => {
    const { tenantId, key, keyId } = await newTenant();
    // Each line reserves and costs 8 µ$ (4 output tokens at 2 µ$, input free): 12 fit in 100.
    const budget = await addBudget(tenantId, { metric: "cost", period: "total", limit: 100 });
    const file = await uploaded(key, poolLines(20));
    const at = nextUtc({ hour: 3 });
    const batch = await batchAt(tenantId, keyId, file.id, at);
    expect(await advanceAll(tenantId, at)).toBeNull();

    const done = await batchOf(tenantId, batch.id);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 20, completed: 12, failed: 8 } });
    const rows = await usageRows(tenantId);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.costMicros === 8 && r.completionTokens === 4)).toBe(true);
    expect((await budgetsOf(tenantId)).find((b) => b.id === budget.id)).toMatchObject({ settled: 96, reserved: 0, remaining: 4 });

    const output = await contentOf(key, done.output_file_id!);
    const errors = await contentOf(key, done.error_file_id!);
    expect(output.map((l) => l.custom_id)).toEqual(Array.from({ length: 12 }, (_, i) => `line-${i}`));
    expect(errors.map((l) => l.custom_id)).toEqual(Array.from({ length: 8 }, (_, i) => `line-${i + 12}`));
    for (const l of errors) {
      expect(l.response).toMatchObject({ status_code: 429, request_id: `${batch.id}-${l.custom_id.slice(5)}` });
      expect(l.response.body).toEqual({
        error: { message: `You exceeded your current quota: the tenant's total budget of 100 micro-dollars (${budget.id}) cannot cover this request.`, type: "insufficient_quota", param: null, code: "insufficient_quota" },
      });
    }
  });
});

describe("the deadline", () => {
  it("a batch still running at its deadline ends expired, with what finished in its output file", async () => {
    const { tenantId, key, keyId } = await newTenant();
    // Five requests a minute: five lines run, the rest wait for the bucket.
    expect((await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: { rpm: 5, tpm: null, concurrency: null } })).status).toBe(200);
    const file = await uploaded(key, poolLines(10));
    const at = nextUtc({ hour: 3 });
    const batch = await batchAt(tenantId, keyId, file.id, at);
    const next = await advanceAll(tenantId, at);
    expect(next).toBeGreaterThan(at);
    expect(await batchOf(tenantId, batch.id)).toMatchObject({ status: "in_progress", request_counts: { completed: 5, failed: 0 }, wait_reason: "rate limited (requests)" });

    const deadline = at + DAY_MS;
    expect(await advanceAll(tenantId, deadline)).toBeNull();
    const done = await batchOf(tenantId, batch.id);
    expect(done).toMatchObject({ status: "expired", expired_at: Math.floor(deadline / 1000), completed_at: null, request_counts: { total: 10, completed: 5, failed: 5 } });
    expect((await contentOf(key, done.output_file_id!)).map((l) => l.custom_id)).toEqual(["line-0", "line-1", "line-2", "line-3", "line-4"]);
    const errors = await contentOf(key, done.error_file_id!);
    expect(errors.map((l) => [l.custom_id, l.response, l.error])).toEqual(
      ["line-5", "line-6", "line-7", "line-8", "line-9"].map((id) => [id, null, { code: "batch_expired", message: "This request could not be executed before the completion window expired." }]),
    );
    expect(await usageRows(tenantId)).toHaveLength(5);
  });
});

describe("cancelling", () => {
  it("before any line ran: every line ends batch_cancelled, nothing is charged", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const file = await uploaded(key, poolLines(3));
    const at = nextUtc({ hour: 3 });
    const batch = await batchAt(tenantId, keyId, file.id, at);
    const cancelling = await storeOf(tenantId).cancelBatch(batch.id, at);
    expect(cancelling).toMatchObject({ ok: true, value: { status: "cancelling", cancelling_at: Math.floor(at / 1000) } });
    expect(await advanceAll(tenantId, at)).toBeNull();
    const done = await batchOf(tenantId, batch.id);
    expect(done).toMatchObject({ status: "cancelled", cancelled_at: Math.floor(at / 1000), output_file_id: null, request_counts: { total: 3, completed: 0, failed: 3 } });
    expect((await contentOf(key, done.error_file_id!)).map((l) => l.error.code)).toEqual(["batch_cancelled", "batch_cancelled", "batch_cancelled"]);
    expect(await usageRows(tenantId)).toEqual([]);
  });

  it("midway: what ran stays in its output file", async () => {
    const { tenantId, key, keyId } = await newTenant();
    expect((await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: { rpm: 2, tpm: null, concurrency: null } })).status).toBe(200);
    const file = await uploaded(key, poolLines(6));
    const at = nextUtc({ hour: 3 });
    const batch = await batchAt(tenantId, keyId, file.id, at);
    await advanceAll(tenantId, at);
    expect(await storeOf(tenantId).cancelBatch(batch.id, at + 1_000)).toMatchObject({ ok: true, value: { status: "cancelling" } });
    // Cancelling again answers the batch as it is.
    expect(await storeOf(tenantId).cancelBatch(batch.id, at + 2_000)).toMatchObject({ ok: true, value: { status: "cancelling", cancelling_at: Math.floor((at + 1_000) / 1000) } });
    expect(await advanceAll(tenantId, at + 1_000)).toBeNull();
    const done = await batchOf(tenantId, batch.id);
    expect(done).toMatchObject({ status: "cancelled", request_counts: { total: 6, completed: 2, failed: 4 } });
    expect((await contentOf(key, done.output_file_id!)).map((l) => l.custom_id)).toEqual(["line-0", "line-1"]);
    expect(await storeOf(tenantId).cancelBatch(batch.id, at + 3_000)).toMatchObject({ ok: false, failure: { kind: "conflict" } });
  });
});

describe("the key", () => {
  it("a key revoked before its batch ran ends its lines with the 401 it would get", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const file = await uploaded(key, poolLines(3));
    const at = nextUtc({ hour: 3 });
    const batch = await batchAt(tenantId, keyId, file.id, at);
    expect((await adminFetch(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" })).status).toBe(200);
    expect(await advanceAll(tenantId, at)).toBeNull();
    const done = await batchOf(tenantId, batch.id);
    expect(done).toMatchObject({ status: "completed", request_counts: { completed: 0, failed: 3 } });
    // The key can no longer read the files: what they hold, as the store keeps it.
    const lines = (await storeSql(tenantId, "SELECT result FROM batch_lines ORDER BY idx")) as Array<{ result: string }>;
    for (const l of lines) expect(JSON.parse(l.result).response).toMatchObject({ status_code: 401, body: { error: { code: "invalid_api_key" } } });
    expect(await usageRows(tenantId)).toEqual([]);
  });
});

describe("crashes: every line is charged exactly once", () => {
  /** A tenant with a budget and a batch of three capped `chat-pool` lines, created at `at`. */
  async function setUp() {
    const t = await newTenant();
    const budget = await addBudget(t.tenantId, { metric: "cost", period: "total", limit: 1_000 });
    const file = await uploaded(t.key, poolLines(3));
    const at = nextUtc({ hour: 3 });
    const batch = await batchAt(t.tenantId, t.keyId, file.id, at);
    const budgetNow = async () => (await budgetsOf(t.tenantId)).find((b) => b.id === budget.id)!;
    return { ...t, batch, at, budgetNow, rid: (i: number) => `${batch.id}-${i}` };
  }

  it("a line left running with its reservation open runs again on it: no second reservation, one usage row", async () => {
    const { tenantId, keyId, key, batch, at, budgetNow, rid } = await setUp();
    // The crashed run: admitted (8 µ$ held), marked running, nothing written.
    expect(await ledgerOf(tenantId).admitLine({ keyId, requestId: rid(0), at, model: "chat-pool", reserve: POOL_LINE })).toMatchObject({ ok: true, reservedMicros: 8, outputCap: 4 });
    await storeSql(tenantId, "UPDATE batch_lines SET state = 'running', attempts = 1 WHERE idx = 0");
    expect(await budgetNow()).toMatchObject({ settled: 0, reserved: 8 });

    expect(await advanceAll(tenantId, at)).toBeNull();
    const rows = await usageRows(tenantId);
    expect(rows.map((r) => r.requestId).sort()).toEqual([rid(0), rid(1), rid(2)].sort());
    expect(rows.find((r) => r.requestId === rid(0))).toMatchObject({ reservedMicros: 8, costMicros: 8, status: 200 });
    expect(await budgetNow()).toMatchObject({ settled: 24, reserved: 0 });
    const done = await batchOf(tenantId, batch.id);
    expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect((await contentOf(key, done.output_file_id!)).map((l) => l.custom_id)).toEqual(["line-0", "line-1", "line-2"]);
  });

  it("a line settled whose settlement was never confirmed is settled again: the ledger charges it once", async () => {
    const { tenantId, keyId, key, batch, at, budgetNow, rid } = await setUp();
    // The crashed run: admitted, answered, written, settled in the ledger; the store never heard back.
    await ledgerOf(tenantId).admitLine({ keyId, requestId: rid(0), at, model: "chat-pool", reserve: POOL_LINE });
    const settle = { requestId: rid(0), at, keyId, endpoint: "chat" as const, scenario: "chat-pool", origin: "pool", model: "qwen2.5-7b", stream: false, promptTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 3, costMicros: 6, usageSource: "origin" as const, status: 200, outcome: "ok", latencyMs: 5 };
    expect(await ledgerOf(tenantId).settle(settle)).toBe(true);
    const written = JSON.stringify({ id: "batch_req_000000000000000000000000", custom_id: "line-0", response: { status_code: 200, request_id: rid(0), body: { object: "chat.completion" } }, error: null });
    await storeSql(tenantId, "UPDATE batch_lines SET state = 'done', attempts = 1, result = ?, result_kind = 'output', settle = ?, settled = 0 WHERE idx = 0", written, JSON.stringify({ request: settle }));
    await storeSql(tenantId, "UPDATE batches SET completed = 1");

    expect(await advanceAll(tenantId, at)).toBeNull();
    expect(await storeSql(tenantId, "SELECT settled FROM batch_lines ORDER BY idx")).toEqual([{ settled: 1 }, { settled: 1 }, { settled: 1 }]);
    const rows = await usageRows(tenantId);
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.requestId === rid(0))).toMatchObject({ costMicros: 6, completionTokens: 3 });
    expect(await budgetNow()).toMatchObject({ settled: 6 + 8 + 8, reserved: 0 });
    const done = await batchOf(tenantId, batch.id);
    expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect((await contentOf(key, done.output_file_id!))[0]).toEqual(JSON.parse(written));
  });

  it("a line whose reservation the ledger charged at its expiry runs again at no further charge", async () => {
    const { tenantId, keyId, key, batch, at, budgetNow, rid } = await setUp();
    await ledgerOf(tenantId).admitLine({ keyId, requestId: rid(0), at, model: "chat-pool", reserve: POOL_LINE });
    await storeSql(tenantId, "UPDATE batch_lines SET state = 'running', attempts = 1 WHERE idx = 0");
    // The crash outlasted the reservation's hold: the ledger's alarm charged it in full.
    expect(await runDurableObjectAlarm(ledgerOf(tenantId))).toBe(true);
    expect(await ledgerOf(tenantId).usageOf(rid(0))).toMatchObject({ outcome: "expired", costMicros: 8 });

    expect(await advanceAll(tenantId, at)).toBeNull();
    expect(await ledgerOf(tenantId).usageOf(rid(0))).toMatchObject({ outcome: "expired", costMicros: 8 });
    expect(await usageRows(tenantId)).toHaveLength(3);
    expect(await budgetNow()).toMatchObject({ settled: 24, reserved: 0 });
    const done = await batchOf(tenantId, batch.id);
    expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect((await contentOf(key, done.output_file_id!))[0]).toMatchObject({ custom_id: "line-0", response: { status_code: 200, request_id: rid(0) } });
  });

  it("a line that crashed every run fails instead of running again, and what it held is released", async () => {
    const { tenantId, keyId, key, batch, at, budgetNow, rid } = await setUp();
    await ledgerOf(tenantId).admitLine({ keyId, requestId: rid(1), at, model: "chat-pool", reserve: POOL_LINE });
    await storeSql(tenantId, "UPDATE batch_lines SET state = 'running', attempts = 5 WHERE idx = 1");
    expect(await advanceAll(tenantId, at)).toBeNull();
    const done = await batchOf(tenantId, batch.id);
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    expect(await contentOf(key, done.error_file_id!)).toMatchObject([{ custom_id: "line-1", response: { status_code: 500, request_id: rid(1), body: { error: { code: "internal_error" } } } }]);
    expect(await ledgerOf(tenantId).usageOf(rid(1))).toMatchObject({ costMicros: 0, outcome: "batch_stopped_500" });
    expect(await budgetNow()).toMatchObject({ settled: 16, reserved: 0 });
  });

  it("steps asked for at once (an alarm and a retry) run one after the other: each line once", async () => {
    const { tenantId, batch, at, rid } = await setUp();
    await Promise.all([storeOf(tenantId).advance(at), storeOf(tenantId).advance(at), storeOf(tenantId).advance(at)]);
    expect(await advanceAll(tenantId, at)).toBeNull();
    expect((await usageRows(tenantId)).map((r) => r.requestId).sort()).toEqual([rid(0), rid(1), rid(2)].sort());
    expect((await batchOf(tenantId, batch.id)).request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
  });
});
