/**
 * Reading the usage log over HTTP, for operators (admin API) and for tenants themselves
 * (`/v1/usage`): query parameters validated by zod, pages as JSON, or the whole selection exported
 * as CSV or JSON Lines; one request's record by its id.
 *
 * Filters: `from`, `to`, `key`, `model`, `origin`, `user`, `tag`, and `metadata.<key>=<value>`
 * (up to 16, all must match). Totals group by `day`, `model`, `origin`, `key`, `user`, `tag` (a
 * request counts once under each of its tags) or `metadata.<key>`, or by up to three of `day`,
 * `model`, `origin`, `key`, `user` at once (`group_by=model,origin,day`). Each total counts its
 * requests' outcomes (accepted, rejected, unrated, quality gates passed and failed) and the cost
 * per accepted outcome.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import type { TenantLedger } from "../ledger/tenant-ledger";
import { USAGE_GROUPS, type UsageGroup, type UsageQuery, type UsageRecord } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { usdOf } from "../openai/cost";

/** Epoch milliseconds, or an ISO 8601 date/time (a query parameter). */
export const instantParam = z.string().transform((value, ctx) => {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: "expected epoch milliseconds or an ISO 8601 date" });
    return z.NEVER;
  }
  return ms;
});

export const usageQuerySchema = z
  .object({
    from: instantParam.optional(),
    to: instantParam.optional(),
    key: z.string().max(64).optional(),
    model: z.string().max(64).optional(),
    origin: z.string().max(64).optional(),
    user: z.string().max(256).optional(),
    tag: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().max(512).optional(),
    format: z.enum(["json", "csv", "jsonl"]).default("json"),
  })
  .strict();

const METADATA_PREFIX = "metadata.";

/** Groupings that can be combined (`group_by=model,origin,day`): one value per row each. */
const COMBINABLE = ["day", "model", "origin", "key", "user"] as const;

const groupBySchema = z.union(
  [
    z.enum(USAGE_GROUPS),
    z.string().regex(/^metadata\..{1,64}$/, "day, model, origin, key, user, tag or metadata.<key>"),
    z
      .string()
      .regex(/^[a-z]+(,[a-z]+){1,2}$/)
      .transform((v) => v.split(","))
      .pipe(z.array(z.enum(COMBINABLE)).refine((groups) => new Set(groups).size === groups.length)),
  ],
  { error: () => "must be day, model, origin, key, user, tag or metadata.<key>, or up to three of day, model, origin, key, user joined by commas" },
);

export const usageSummarySchema = usageQuerySchema.omit({ limit: true, cursor: true, format: true }).extend({ group_by: groupBySchema.default("day") });

/** The query's `metadata.<key>` filters, apart from its other parameters (which the strict schemas check). */
function splitMetadata(params: Record<string, string>): { metadata: Record<string, string> | undefined; rest: Record<string, string> } {
  const rest: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of Object.entries(params)) {
    if (!name.startsWith(METADATA_PREFIX)) {
      rest[name] = value;
      continue;
    }
    const key = name.slice(METADATA_PREFIX.length);
    if (key.length === 0 || key.length > 64 || value.length > 512 || ++count > 16) {
      throw new RouterError({ kind: "invalid_body", message: `Invalid value for '${name.slice(0, 80)}': metadata filters are up to 16 'metadata.<key>=<value>', keys up to 64 characters, values up to 512.`, param: name.slice(0, 80) });
    }
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { metadata: count > 0 ? metadata : undefined, rest };
}

/** Most rows one export returns; past it, narrow the time range. */
const EXPORT_LIMIT = 100_000;

type Ledger = DurableObjectStub<TenantLedger>;

function toQuery(q: { from?: number; to?: number; key?: string; model?: string; origin?: string; user?: string; tag?: string }, metadata: Record<string, string> | undefined): UsageQuery {
  return { from: q.from, to: q.to, keyId: q.key, scenario: q.model, origin: q.origin, user: q.user, tag: q.tag, metadata };
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
  "user",
  "metadata",
  "tags",
  "feedback",
  "gates",
];

/** A record's cell as CSV shows it: feedback as `accepted` or `rejected` (its score and reason are in the JSON exports), gates as `passed` or `failed`. */
function cellOf(record: UsageRecord, column: keyof UsageRecord): unknown {
  if (column === "feedback") return record.feedback === null ? null : record.feedback.accepted ? "accepted" : "rejected";
  if (column === "gates") return record.gates === null ? null : record.gates.passed ? "passed" : "failed";
  return record[column];
}

/**
 * A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or CR first: a
 * client's `user`, an origin's model name) gets a leading `'`, which spreadsheets show as text
 * (OWASP's advice on CSV injection). Numbers are never text here, so a negative one stays a number.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  // Attribution: metadata as its JSON object, tags as a JSON array (empty: no cell).
  let text =
    value === null || value === undefined || (Array.isArray(value) && value.length === 0) ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
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
        .map((r) => (format === "csv" ? COLUMNS.map((c) => csvCell(cellOf(r, c))).join(",") : JSON.stringify(r)))
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
  const { metadata, rest } = splitMetadata(c.req.query());
  const q = validate(usageQuerySchema, rest);
  const query = toQuery(q, metadata);
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
  const { metadata, rest } = splitMetadata(c.req.query());
  const q = validate(usageSummarySchema, rest);
  const totals = await ledger.usageTotals(toQuery(q, metadata), q.group_by as UsageGroup | UsageGroup[]);
  return c.json({ object: "list", group_by: Array.isArray(q.group_by) ? q.group_by.join(",") : q.group_by, data: totals });
}

/** One request's record (`GET /v1/usage/{request_id}`), or the 404 of an id the ledger has no row for. */
export async function usageRecordResponse(c: Context<AppEnv>, ledger: Ledger): Promise<Response> {
  const id = c.req.param("request_id") ?? "";
  const record = /^req_[0-9a-f]{32}$/.test(id) ? await ledger.usageOf(id) : null;
  if (!record) throw new RouterError({ kind: "not_found", what: `Usage record of request '${id.slice(0, 128)}'` });
  return c.json({ object: "usage_record", ...record, costUsd: usdOf(record.costMicros) });
}
