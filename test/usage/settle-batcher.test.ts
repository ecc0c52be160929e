import { describe, expect, it, vi } from "vitest";
import type { SettleRequest } from "../../src/ledger/types";
import { SettleBatcher, type SettleItem } from "../../src/usage/settle-batcher";
import { ledgerOf, newTenant, usageOf } from "../support/client";

const item = (requestId: string): SettleItem => ({ request: { requestId } as SettleRequest });

/** A ledger stand-in that records each call's request ids. */
function ledger(fail = false) {
  const calls: string[][] = [];
  return {
    calls,
    settleMany: async (items: SettleItem[]) => {
      calls.push(items.map((i) => i.request.requestId));
      if (fail) throw new Error("ledger unavailable");
      return items.map(() => true);
    },
  };
}

/** A sleep released by hand, so batching is deterministic. */
function manualSleep() {
  const waiting: Array<() => void> = [];
  return { sleep: () => new Promise<void>((r) => waiting.push(r)), release: () => waiting.splice(0).forEach((r) => r()) };
}

describe("SettleBatcher", () => {
  it("sends a tenant's settlements of one window in one call, opened by the first", async () => {
    const clock = manualSleep();
    const batcher = new SettleBatcher(clock.sleep);
    const target = ledger();
    const send = batcher.add("acme", target, item("r1"));
    expect(send).toBeInstanceOf(Promise);
    expect(batcher.add("acme", target, item("r2"))).toBeNull();
    expect(batcher.add("acme", target, item("r3"))).toBeNull();
    const other = batcher.add("globex", target, item("g1"));
    clock.release();
    await Promise.all([send, other]);
    expect(target.calls).toEqual([["r1", "r2", "r3"], ["g1"]]);
    // The next settlement opens a new batch.
    const next = batcher.add("acme", target, item("r4"));
    expect(next).toBeInstanceOf(Promise);
    clock.release();
    await next;
    expect(target.calls.at(-1)).toEqual(["r4"]);
  });

  it("closes a full batch at 64 and opens another", async () => {
    const clock = manualSleep();
    const batcher = new SettleBatcher(clock.sleep);
    const target = ledger();
    const sends = Array.from({ length: 65 }, (_, i) => batcher.add("acme", target, item(`r${i}`))).filter((s) => s !== null);
    expect(sends).toHaveLength(2);
    clock.release();
    await Promise.all(sends);
    expect(target.calls.map((c) => c.length)).toEqual([64, 1]);
  });

  it("never rejects when the ledger fails: the reservations are left to expire, and it says so", async () => {
    const clock = manualSleep();
    const batcher = new SettleBatcher(clock.sleep);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const send = batcher.add("acme", ledger(true), item("r1"));
    clock.release();
    await expect(send).resolves.toBeUndefined();
    expect(error.mock.calls[0]![0]).toBe("settle failed for r1 (the alarm will charge their reservations)");
    error.mockRestore();
  });
});

describe("TenantLedger.settleMany", () => {
  it("settles each item in its own transaction: a bad one fails alone", async () => {
    const { tenantId, keyId } = await newTenant();
    const good: SettleRequest = {
      requestId: `req_${crypto.randomUUID()}`,
      at: Date.now(),
      keyId,
      endpoint: "chat",
      scenario: "chat-pool",
      origin: "pool",
      model: "qwen2.5-7b",
      stream: false,
      promptTokens: 10,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      completionTokens: 5,
      costMicros: 10,
      usageSource: "origin",
      status: 200,
      outcome: "ok",
      latencyMs: 12,
    };
    // NOT NULL violated: its insert throws inside its own transaction.
    const bad = { ...good, requestId: `req_${crypto.randomUUID()}`, keyId: null } as unknown as SettleRequest;
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await ledgerOf(tenantId).settleMany([{ request: bad }, { request: good }])).toEqual([false, true]);
    error.mockRestore();
    expect(await usageOf(tenantId, good.requestId)).toMatchObject({ requestId: good.requestId, costMicros: 10, reservedMicros: 0 });
    expect(await ledgerOf(tenantId).usageOf(bad.requestId)).toBeNull();
  });
});
