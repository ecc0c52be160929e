/**
 * Reading the usage log over HTTP, for operators (admin API) and for tenants themselves
 * (`/v1/usage`): query parameters validated by zod, pages as JSON, or the whole selection exported
 * as CSV or JSON Lines.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import type { TenantLedger } from "../ledger/tenant-ledger";
import { USAGE_GROUPS, type UsageQuery, type UsageRecord } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";

/** Epoch milliseconds, or an ISO 8601 date/time. */
const instant = z.string().transform((value, ctx) => {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: "expected epoch milliseconds or an ISO 8601 date" });
    return z.NEVER;
  }
  return ms;
});

export const usageQuerySchema = z
  .object({
    from: instant.optional(),
    to: instant.optional(),
    key: z.string().max(64).optional(),
    model: z.string().max(64).optional(),
    origin: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().max(512).optional(),
    format: z.enum(["json", "csv", "jsonl"]).default("json"),
  })
  .strict();

export const usageSummarySchema = usageQuerySchema.omit({ limit: true, cursor: true, format: true }).extend({ group_by: z.enum(USAGE_GROUPS).default("day") });

/** Most rows one export returns; past it, narrow the time range. */
const EXPORT_LIMIT = 100_000;

type Ledger = DurableObjectStub<TenantLedger>;

function toQuery(q: { from?: number; to?: number; key?: string; model?: string; origin?: string }): UsageQuery {
  return { from: q.from, to: q.to, keyId: q.key, scenario: q.model, origin: q.origin };
}

const COLUMNS: Array<keyof UsageRecord> = [
  "requestId",
  "at",
  "keyId",
  "endpoint",
  "scenario",
  "origin",
  "model",
  "stream",
  "promptTokens",
  "cachedTokens",
  "cacheWriteTokens",
  "completionTokens",
  "costMicros",
  "reservedMicros",
  "usageSource",
  "status",
  "outcome",
  "latencyMs",
];

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Streams every matching row, page by page, as CSV or JSON Lines. */
function exportRows(ledger: Ledger, query: UsageQuery, format: "csv" | "jsonl"): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: string | undefined;
  let sent = 0;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started && format === "csv") controller.enqueue(encoder.encode(`${COLUMNS.join(",")}\n`));
      started = true;
      const page = await ledger.queryUsage({ ...query, limit: 1000, cursor });
      const rows = page?.data ?? [];
      const text = rows
        .map((r) => (format === "csv" ? COLUMNS.map((c) => csvCell(r[c])).join(",") : JSON.stringify(r)))
        .map((line) => `${line}\n`)
        .join("");
      if (text) controller.enqueue(encoder.encode(text));
      sent += rows.length;
      cursor = page?.nextCursor ?? undefined;
      if (!cursor || sent >= EXPORT_LIMIT) controller.close();
    },
  });
}

/** Answers a usage listing or export for `ledger`; `keyId` pins the query to one key. */
export async function usageResponse(c: Context<AppEnv>, ledger: Ledger): Promise<Response> {
  const q = validate(usageQuerySchema, c.req.query());
  const query = toQuery(q);
  if (q.format !== "json") {
    const type = q.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
    return new Response(exportRows(ledger, query, q.format), {
      headers: { "content-type": type, "content-disposition": `attachment; filename="usage.${q.format}"` },
    });
  }
  const page = await ledger.queryUsage({ ...query, limit: q.limit, cursor: q.cursor });
  if (!page) throw new RouterError({ kind: "invalid_body", message: "Invalid value for 'cursor': not a cursor from a previous page.", param: "cursor" });
  return c.json({ object: "list", data: page.data, has_more: page.nextCursor !== null, next_cursor: page.nextCursor });
}

/** Answers usage totals grouped by day, model, origin or key. */
export async function usageSummaryResponse(c: Context<AppEnv>, ledger: Ledger): Promise<Response> {
  const q = validate(usageSummarySchema, c.req.query());
  const totals = await ledger.usageTotals(toQuery(q), q.group_by);
  return c.json({ object: "list", group_by: q.group_by, data: totals });
}
