/**
 * Issue #19's "done when" for the Batch API: a batch of 1,000 lines runs only inside its window,
 * within budget, with every line accounted for, including when an origin fails midway. Driven at
 * injected instants through the store's real stub (see run.test.ts), against the simulated origins.
 */
import { describe, expect, it } from "vitest";
import { addBudget, budgetsOf, ledgerOf, newTenant } from "../support/client";
import { nextUtc } from "../support/clock";
import { advanceAll, batchAt, batchOf, chatLine, contentOf, uploaded } from "./support";


describe("a batch of 1,000 lines", () => {
  it("runs only in its off-peak window, within budget, every line accounted for while beta fails midway", { timeout: 180_000 }, async () => {
    const { tenantId, key, keyId } = await newTenant();
    // About 15,000 µ$ would run every line: the budget runs out near the end.
    const budget = await addBudget(tenantId, { metric: "cost", period: "total", limit: 14_000 });
    // beta fails lines 300-499 (alpha serves them, at its higher price); lines 600-609 fail everywhere.
    const lines = Array.from({ length: 1000 }, (_, i) =>
      chatLine(`r${i}`, "batch-offpeak", {
        max_tokens: 16,
        ...(i >= 300 && i < 500 ? { sim: { beta: { status: 503 } } } : {}),
        ...(i >= 600 && i < 610 ? { sim: { "*": { status: 500 } } } : {}),
      }),
    );
    const file = await uploaded(key, lines);
    const at10 = nextUtc({ hour: 10 });
    const offPeak = nextUtc({ hour: 16, minute: 30 }, at10);
    const batch = await batchAt(tenantId, keyId, file.id, at10);

    expect(await advanceAll(tenantId, at10)).toBe(offPeak);
    expect((await ledgerOf(tenantId).queryUsage({ limit: 10 }))!.data).toEqual([]);

    expect(await advanceAll(tenantId, offPeak)).toBeNull();

    const done = await batchOf(tenantId, batch.id);
    expect(done.status).toBe("completed");
    const output = await contentOf(key, done.output_file_id!);
    const errors = await contentOf(key, done.error_file_id!);
    // Every line once, in one file or the other.
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(lines.map((_, i) => `r${i}`).sort());
    expect(done.request_counts).toEqual({ total: 1000, completed: output.length, failed: errors.length });

    const rows = (await ledgerOf(tenantId).queryUsage({ limit: 1000 }))!.data;
    // Only in the window: every line that ran was admitted at its start.
    expect(rows.every((r) => r.at === offPeak)).toBe(true);
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    const idx = (l: Record<string, any>) => Number(l.custom_id.slice(1));
    for (const l of output) {
      const row = byId.get(`${batch.id}-${idx(l)}`)!;
      // beta, except where it failed: then alpha.
      expect(row.origin).toBe(idx(l) >= 300 && idx(l) < 500 ? "alpha" : "beta");
      expect(row.completionTokens).toBe(l.response.body.usage.completion_tokens);
    }
    const codes = new Map<string, number>();
    for (const l of errors) codes.set(l.response.body.error.code, (codes.get(l.response.body.error.code) ?? 0) + 1);
    // The ten lines no origin served, and the lines the spent budget left.
    expect(codes.get("upstream_error")).toBe(10);
    expect(codes.get("insufficient_quota")).toBeGreaterThan(0);
    expect([...codes.keys()].sort()).toEqual(["insufficient_quota", "upstream_error"]);
    // One usage row per line that ran (refused lines reserved nothing); never overspent.
    expect(rows).toHaveLength(output.length + 10);
    const spent = rows.reduce((s, r) => s + r.costMicros, 0);
    const status = (await budgetsOf(tenantId)).find((b) => b.id === budget.id)!;
    expect(status).toMatchObject({ settled: spent, reserved: 0 });
    expect(spent).toBeLessThanOrEqual(14_000);
  });
});
