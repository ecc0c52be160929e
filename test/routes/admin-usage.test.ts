/**
 * The admin API the console reads and acts through: usage summed across tenants
 * (`GET /admin/usage/summary`) with its errors count, and a canary stopped and resumed by hand
 * (`POST|DELETE /admin/scenarios/:scenario/canary-stop`).
 */
import { describe, expect, it } from "vitest";
import type { UsageTotals } from "../../src/ledger/types";
import { adminFetch, chat, errorOf, newTenant, settledAll } from "../support/client";
import { ADMIN_READ_TOKEN } from "../support/router-config";

type Totals = UsageTotals;
/** The counts that add up across tenants (a ratio does not). */
type Count = "requests" | "promptTokens" | "cachedTokens" | "completionTokens" | "costMicros" | "errors" | "accepted" | "rejected" | "unrated" | "gatesPassed" | "gatesFailed";

interface Summary {
  object: "list";
  group_by: string;
  from: number | null;
  to: number | null;
  tenants: number;
  truncated: boolean;
  total: Totals;
  data: Totals[];
}

const summary = async (query: string, token?: string) => (await adminFetch(`/usage/summary${query}`, { token })).json() as Promise<Summary>;

/** A tenant's own totals over the window, in one row (its summary by day, summed). */
async function ownTotals(tenantId: string, from: number, to: number): Promise<Omit<Totals, "group">> {
  const rows = ((await (await adminFetch(`/tenants/${tenantId}/usage/summary?from=${from}&to=${to}`)).json()) as { data: Totals[] }).data;
  const sum: Record<Count, number> = { requests: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, costMicros: 0, errors: 0, accepted: 0, rejected: 0, unrated: 0, gatesPassed: 0, gatesFailed: 0 };
  for (const r of rows) for (const k of Object.keys(sum) as Count[]) sum[k] += r[k];
  // Nothing was rated here: no cost per accepted outcome.
  return { ...sum, costPerAcceptedMicros: null };
}

const sumOf = (rows: Totals[], field: Count) => rows.reduce((n, r) => n + r[field], 0);

describe("GET /admin/usage/summary", () => {
  it("sums every tenant's own usage, by tenant, and counts the requests an origin failed as errors", async () => {
    const from = Date.now();
    const a = await newTenant();
    const b = await newTenant();
    for (let i = 0; i < 2; i++) expect((await chat(a.key, { model: "chat-pool", messages: [{ role: "user", content: `hello ${i}` }] })).status).toBe(200);
    // The pool's only candidate answers 503: the client gets a 5xx, and the request counts as an error.
    const failed = await chat(a.key, { model: "chat-pool", sim: { pool: { status: 503 } } });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect((await chat(b.key, { model: "chat-alpha-only" })).status).toBe(200);
    await settledAll(a.tenantId);
    await settledAll(b.tenantId);
    const to = Date.now() + 1;

    const byTenant = await summary(`?from=${from}&to=${to}&group_by=tenant`);
    expect(byTenant).toMatchObject({ object: "list", group_by: "tenant", from, to, truncated: false });
    const rowA = byTenant.data.find((r) => r.group === a.tenantId)!;
    const rowB = byTenant.data.find((r) => r.group === b.tenantId)!;
    expect(rowA).toEqual({ group: a.tenantId, ...(await ownTotals(a.tenantId, from, to)) });
    expect(rowB).toEqual({ group: b.tenantId, ...(await ownTotals(b.tenantId, from, to)) });
    expect([rowA.requests, rowA.errors, rowB.requests, rowB.errors]).toEqual([3, 1, 1, 0]);
    expect(rowB.costMicros).toBeGreaterThan(0);
    // Rows in group order; the total is the sum of the rows.
    expect(byTenant.data.map((r) => r.group)).toEqual([...byTenant.data.map((r) => r.group)].sort());
    for (const field of ["requests", "promptTokens", "cachedTokens", "completionTokens", "costMicros", "errors"] as const) {
      expect(byTenant.total[field], field).toBe(sumOf(byTenant.data, field));
    }
  });

  it("groups the same totals by model, origin and day", async () => {
    const from = Date.now();
    const t = await newTenant();
    expect((await chat(t.key, { model: "chat-pool" })).status).toBe(200);
    expect((await chat(t.key, { model: "chat-alpha-only" })).status).toBe(200);
    await settledAll(t.tenantId);
    const to = Date.now() + 1;
    const byTenant = await summary(`?from=${from}&to=${to}&group_by=tenant`);
    for (const group of ["model", "origin", "day"]) {
      const s = await summary(`?from=${from}&to=${to}&group_by=${group}`);
      expect(s.group_by).toBe(group);
      expect(s.total, group).toEqual(byTenant.total);
      expect(s.total.requests, group).toBe(sumOf(s.data, "requests"));
    }
    const byModel = await summary(`?from=${from}&to=${to}&group_by=model`);
    expect(byModel.data.map((r) => r.group)).toEqual(expect.arrayContaining(["chat-alpha-only", "chat-pool"]));
    const byOrigin = await summary(`?from=${from}&to=${to}&group_by=origin`);
    expect(byOrigin.data.map((r) => r.group)).toEqual(expect.arrayContaining(["alpha", "pool"]));
  });

  it("answers the read token; refuses a tenant key, and bad queries with OpenAI-shaped 400s", async () => {
    expect((await adminFetch("/usage/summary", { token: ADMIN_READ_TOKEN })).status).toBe(200);
    const { key } = await newTenant();
    expect((await errorOf(adminFetch("/usage/summary", { token: key }))).status).toBe(401);
    for (const query of ["?group_by=colour", "?from=yesterday", "?to=2026-13-45", "?limit=3"]) {
      const e = await errorOf(adminFetch(`/usage/summary${query}`));
      expect(e.status, query).toBe(400);
      expect(e.code, query).not.toBeNull();
    }
  });
});

describe("POST and DELETE /admin/scenarios/:scenario/canary-stop", () => {
  it("stops a canary by hand (it then gets no traffic, and says why), and resumes it; both audited", async () => {
    const { key } = await newTenant();
    // share 1: a running canary serves first.
    expect((await chat(key, { model: "chat-canary" })).headers.get("x-router-origin")).toBe("canaried");

    const stop = await adminFetch("/scenarios/chat-canary/canary-stop", { body: { reason: "bad answers" } });
    expect(stop.status).toBe(200);
    const stopped = (await stop.json()) as { stop: { reason: string; at: number }; effectiveBy: number };
    expect(stopped).toEqual({ scenario: "chat-canary", origin: "canaried", stopped: true, stop: { reason: "stopped by hand: bad answers", at: stopped.stop.at }, effectiveBy: stopped.effectiveBy });
    const origins = (await (await adminFetch("/origins")).json()) as { data: Array<{ origin: string; canaryStops: Record<string, { reason: string }> }> };
    expect(origins.data.find((o) => o.origin === "canaried")!.canaryStops["chat-canary"]!.reason).toBe("stopped by hand: bad answers");
    for (let i = 0; i < 3; i++) expect((await chat(key, { model: "chat-canary" })).headers.get("x-router-origin")).toBe("pool");
    // A second stop keeps the first one's time and reason.
    const again = (await (await adminFetch("/scenarios/chat-canary/canary-stop", { body: {} })).json()) as { stop: { reason: string; at: number } };
    expect(again.stop).toEqual(stopped.stop);

    const resumed = await adminFetch("/scenarios/chat-canary/canary-stop", { method: "DELETE" });
    expect(((await resumed.json()) as { resumed: boolean }).resumed).toBe(true);
    expect((await chat(key, { model: "chat-canary" })).headers.get("x-router-origin")).toBe("canaried");
    const audit = ((await (await adminFetch("/audit?action=scenario&limit=3")).json()) as { data: Array<{ action: string; target: string }> }).data;
    expect(audit.map((r) => [r.action, r.target])).toEqual([
      ["scenario.canary.resume", "chat-canary"],
      ["scenario.canary.stop", "chat-canary"],
      ["scenario.canary.stop", "chat-canary"],
    ]);
  });

  it("refuses a scenario without a canary (404), and a bad body (400), stopping nothing", async () => {
    expect((await errorOf(adminFetch("/scenarios/chat-pool/canary-stop", { body: {} }))).status).toBe(404);
    expect((await errorOf(adminFetch("/scenarios/no-such/canary-stop", { body: {} }))).status).toBe(404);
    for (const body of [{ reason: "" }, { reason: "x".repeat(201) }, { reason: 5 }, { why: "x" }]) {
      expect((await errorOf(adminFetch("/scenarios/chat-canary/canary-stop", { body }))).status, JSON.stringify(body)).toBe(400);
    }
    const origins = (await (await adminFetch("/origins")).json()) as { data: Array<{ origin: string; canaryStops: Record<string, unknown> }> };
    expect(origins.data.find((o) => o.origin === "canaried")!.canaryStops).toEqual({});
  });
});
