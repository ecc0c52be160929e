/**
 * The usage log's attribution (issue #17, section 3): `user`, `metadata` and tags kept with each
 * row, filtered and grouped by, through a real TenantLedger.
 */
import { describe, expect, it } from "vitest";
import type { SettleRequest } from "../../src/ledger/types";
import { ledgerOf, newTenant } from "../support/client";

const base = { keyId: "key_x", endpoint: "chat" as const, scenario: "chat-pool", origin: "pool", model: "m", stream: false, promptTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 1, usageSource: "origin" as const, status: 200, outcome: "ok", latencyMs: 1 };

async function seeded(): Promise<ReturnType<typeof ledgerOf>> {
  const { tenantId } = await newTenant();
  const ledger = ledgerOf(tenantId);
  const at = Date.now();
  const rows: SettleRequest[] = [
    { ...base, requestId: "r1", at, costMicros: 1, user: "alice", metadata: { team: "search", env: "prod" }, tags: ["batch", "eu"] },
    { ...base, requestId: "r2", at: at + 1, costMicros: 10, user: "bob", metadata: { team: "ads" }, tags: ["eu"] },
    { ...base, requestId: "r3", at: at + 2, costMicros: 100, user: "alice", metadata: null, tags: [] },
    // A row written without attribution at all (an expired reservation's, say).
    { ...base, requestId: "r4", at: at + 3, costMicros: 1000 },
  ];
  for (const r of rows) expect(await ledger.settle(r)).toBe(true);
  return ledger;
}

const ids = (page: { data: Array<{ requestId: string }> } | null) => page!.data.map((r) => r.requestId);

describe("attribution in the usage log", () => {
  it("reads back as written, none as null/[]", async () => {
    const ledger = await seeded();
    expect(await ledger.usageOf("r1")).toMatchObject({ user: "alice", metadata: { team: "search", env: "prod" }, tags: ["batch", "eu"] });
    expect(await ledger.usageOf("r4")).toMatchObject({ user: null, metadata: null, tags: [] });
  });

  it("filters by user, tag and metadata pairs (all must match)", async () => {
    const ledger = await seeded();
    expect(ids(await ledger.queryUsage({ user: "alice" }))).toEqual(["r3", "r1"]);
    expect(ids(await ledger.queryUsage({ tag: "eu" }))).toEqual(["r2", "r1"]);
    expect(ids(await ledger.queryUsage({ metadata: { team: "search" } }))).toEqual(["r1"]);
    expect(ids(await ledger.queryUsage({ metadata: { team: "search", env: "dev" } }))).toEqual([]);
    expect(ids(await ledger.queryUsage({ user: "alice", tag: "batch" }))).toEqual(["r1"]);
  });

  it("groups by user, by tag (a row under each of its tags) and by a metadata key", async () => {
    const ledger = await seeded();
    const cost = (groups: Array<{ group: string; costMicros: number; requests: number }>) => groups.map((g) => [g.group, g.requests, g.costMicros]);
    expect(cost(await ledger.usageTotals({}, "user"))).toEqual([["", 1, 1000], ["alice", 2, 101], ["bob", 1, 10]]);
    expect(cost(await ledger.usageTotals({}, "tag"))).toEqual([["", 2, 1100], ["batch", 1, 1], ["eu", 2, 11]]);
    expect(cost(await ledger.usageTotals({}, "metadata.team"))).toEqual([["", 2, 1100], ["ads", 1, 10], ["search", 1, 1]]);
    expect(cost(await ledger.usageTotals({ tag: "eu" }, "metadata.team"))).toEqual([["ads", 1, 10], ["search", 1, 1]]);
  });

  it("a metadata key with quotes or dots is one key, not a path", async () => {
    const { tenantId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    await ledger.settle({ ...base, requestId: "q", at: Date.now(), costMicros: 5, metadata: { 'a."b': "x", "c.d": "y" } });
    expect(ids(await ledger.queryUsage({ metadata: { 'a."b': "x" } }))).toEqual(["q"]);
    expect(ids(await ledger.queryUsage({ metadata: { "c.d": "y" } }))).toEqual(["q"]);
    expect((await ledger.usageTotals({}, "metadata.c.d")).map((g) => g.group)).toEqual(["y"]);
  });

  it("each combination of optional columns reads back exactly (every field)", async () => {
    const { tenantId } = await newTenant();
    const ledger = ledgerOf(tenantId);
    const at = Date.now();
    const gates = { passed: false, checks: { json: true, schema: false } };
    for (let mask = 0; mask < 16; mask++) {
      const row: SettleRequest = {
        ...base,
        requestId: `m${mask}`,
        at: at + mask,
        costMicros: mask,
        origin: mask % 2 ? null : "pool",
        model: mask % 3 ? null : "m",
        ...(mask & 1 ? { user: "" } : {}),
        ...(mask & 2 ? { metadata: { team: "search" } } : {}),
        ...(mask & 4 ? { tags: ["eu", "batch"] } : {}),
        ...(mask & 8 ? { gates } : {}),
      };
      expect(await ledger.settle(row)).toBe(true);
      expect(await ledger.settle(row)).toBe(false);
      expect(await ledger.usageOf(row.requestId)).toEqual({
        ...row,
        reservedMicros: 0,
        user: mask & 1 ? "" : null,
        metadata: mask & 2 ? { team: "search" } : null,
        tags: mask & 4 ? ["eu", "batch"] : [],
        feedback: null,
        gates: mask & 8 ? gates : null,
      });
    }
  });
});
