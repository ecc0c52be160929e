/**
 * The usage log: one row per request, written exactly once per request id, queried with filters
 * and keyset pagination (newest first), summed by day, model, origin, key, end user, tag or a
 * metadata key. Attribution is stored as JSON (`metadata` an object, `tags` an array) and read
 * with SQLite's JSON functions (https://www.sqlite.org/json1.html).
 */
import type { Feedback, FeedbackResult, UsageGroup, UsageGrouping, UsagePage, UsageQuery, UsageRecord, UsageRow, UsageTotals } from "./types";

type Row = Record<string, SqlStorageValue>;

const MAX_PAGE = 1000;

/** The columns every row binds, in order, then the optional ones (each bound only when it has a value). */
const ALWAYS = [
  "request_id", "at", "day", "key_id", "endpoint", "scenario", "origin", "model", "stream", "prompt_tokens", "cached_tokens",
  "cache_write_tokens", "completion_tokens", "cost_micros", "reserved_micros", "usage_source", "status", "outcome", "latency_ms",
] as const;
const OPTIONAL = [["end_user"], ["metadata"], ["tags"], ["gate_passed", "gates"]] as const;

/**
 * The INSERT of each combination of optional columns present (bit i: `OPTIONAL[i]`), made when
 * first used. An absent column is left to its default (NULL) instead of bound as one: workerd's
 * bind costs far more than SQLite's default, and most rows carry none of them.
 */
const INSERTS = new Map<number, string>();

function insertOf(mask: number): string {
  let sql = INSERTS.get(mask);
  if (sql === undefined) {
    const columns = [...ALWAYS, ...OPTIONAL.filter((_, i) => mask & (1 << i)).flat()];
    sql = `INSERT INTO usage (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ON CONFLICT (request_id) DO NOTHING`;
    INSERTS.set(mask, sql);
  }
  return sql;
}

/** Inserts a record; false when the request id already has one (nothing changes then). */
export function insertUsage(sql: SqlStorage, record: UsageRow, day: string): boolean {
  const args: SqlStorageValue[] = [
    record.requestId,
    record.at,
    day,
    record.keyId,
    record.endpoint,
    record.scenario,
    record.origin,
    record.model,
    record.stream ? 1 : 0,
    record.promptTokens,
    record.cachedTokens,
    record.cacheWriteTokens,
    record.completionTokens,
    record.costMicros,
    record.reservedMicros,
    record.usageSource,
    record.status,
    record.outcome,
    record.latencyMs,
  ];
  let mask = 0;
  if (record.user !== undefined && record.user !== null) (mask |= 1), args.push(record.user);
  if (record.metadata) (mask |= 2), args.push(JSON.stringify(record.metadata));
  if (record.tags && record.tags.length > 0) (mask |= 4), args.push(JSON.stringify(record.tags));
  if (record.gates) (mask |= 8), args.push(record.gates.passed ? 1 : 0, JSON.stringify(record.gates.checks));
  return sql.exec(insertOf(mask), ...args).rowsWritten > 0;
}

function toRecord(row: Row): UsageRecord {
  return {
    requestId: row.request_id as string,
    at: row.at as number,
    keyId: row.key_id as string,
    endpoint: row.endpoint as UsageRecord["endpoint"],
    scenario: row.scenario as string,
    origin: row.origin as string | null,
    model: row.model as string | null,
    stream: row.stream === 1,
    promptTokens: row.prompt_tokens as number,
    cachedTokens: row.cached_tokens as number,
    cacheWriteTokens: row.cache_write_tokens as number,
    completionTokens: row.completion_tokens as number,
    costMicros: row.cost_micros as number,
    reservedMicros: row.reserved_micros as number,
    usageSource: row.usage_source as UsageRecord["usageSource"],
    status: row.status as number,
    outcome: row.outcome as string,
    latencyMs: row.latency_ms as number,
    user: (row.end_user as string | null) ?? null,
    metadata: row.metadata ? (JSON.parse(row.metadata as string) as Record<string, string>) : null,
    tags: row.tags ? (JSON.parse(row.tags as string) as string[]) : [],
    feedback: feedbackOf(row),
    gates: row.gate_passed === null || row.gate_passed === undefined ? null : { passed: row.gate_passed === 1, checks: JSON.parse((row.gates as string | null) ?? "{}") },
  };
}

function feedbackOf(row: Row): Feedback | null {
  if (row.feedback === null || row.feedback === undefined) return null;
  return {
    accepted: row.feedback === "accepted",
    score: (row.feedback_score as number | null) ?? null,
    reason: (row.feedback_reason as string | null) ?? null,
    at: row.feedback_at as number,
  };
}

/**
 * Records the tenant's feedback on one of its requests, replacing any before it (last write wins:
 * a rater may change their mind; the same feedback twice leaves the same row). Refused when there
 * is no such row, when the request got no answer to judge (its status was not 200), and from
 * `windowMs` after the request on. Run inside `transactionSync`.
 */
export function recordFeedback(sql: SqlStorage, requestId: string, feedback: Feedback, windowMs: number): FeedbackResult {
  const row = sql.exec<Row>("SELECT * FROM usage WHERE request_id = ?", requestId).toArray()[0];
  if (!row) return { ok: false, reason: "not_found" };
  const closedAt = (row.at as number) + windowMs;
  if (feedback.at >= closedAt) return { ok: false, reason: "window_closed", closedAt };
  if (row.status !== 200) return { ok: false, reason: "not_answered", status: row.status as number };
  const previous = feedbackOf(row);
  sql.exec(
    "UPDATE usage SET feedback = ?, feedback_score = ?, feedback_reason = ?, feedback_at = ? WHERE request_id = ?",
    feedback.accepted ? "accepted" : "rejected",
    feedback.score,
    feedback.reason,
    feedback.at,
    requestId,
  );
  return { ok: true, record: toRecord({ ...row, feedback: feedback.accepted ? "accepted" : "rejected", feedback_score: feedback.score, feedback_reason: feedback.reason, feedback_at: feedback.at }), previous };
}

export function usageOf(sql: SqlStorage, requestId: string): UsageRecord | null {
  const row = sql.exec<Row>("SELECT * FROM usage WHERE request_id = ?", requestId).toArray()[0];
  return row ? toRecord(row) : null;
}

/** A JSON path naming one key of an object, whatever characters the key holds (`$."k"`). */
function keyPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

/** The WHERE clause of a query's filters (time range, key, scenario, origin, end user, tag, metadata). */
function filters(query: UsageQuery): { where: string[]; args: SqlStorageValue[] } {
  const where: string[] = [];
  const args: SqlStorageValue[] = [];
  if (query.from !== undefined) (where.push("at >= ?"), args.push(query.from));
  if (query.to !== undefined) (where.push("at < ?"), args.push(query.to));
  if (query.keyId !== undefined) (where.push("key_id = ?"), args.push(query.keyId));
  if (query.scenario !== undefined) (where.push("scenario = ?"), args.push(query.scenario));
  if (query.origin !== undefined) (where.push("origin = ?"), args.push(query.origin));
  if (query.user !== undefined) (where.push("end_user = ?"), args.push(query.user));
  if (query.tag !== undefined) (where.push("EXISTS (SELECT 1 FROM json_each(usage.tags) WHERE json_each.value = ?)"), args.push(query.tag));
  for (const [key, value] of Object.entries(query.metadata ?? {})) (where.push("json_extract(metadata, ?) = ?"), args.push(keyPath(key), value));
  return { where, args };
}

function encodeCursor(at: number, requestId: string): string {
  return btoa(`${at}:${requestId}`);
}

function decodeCursor(cursor: string): { at: number; requestId: string } | null {
  try {
    const [at, ...rest] = atob(cursor).split(":");
    const requestId = rest.join(":");
    return /^\d+$/.test(at ?? "") && requestId ? { at: Number(at), requestId } : null;
  } catch {
    return null;
  }
}

/** A page of records, newest first; `null` when the cursor is not one of ours. */
export function queryUsage(sql: SqlStorage, query: UsageQuery): UsagePage | null {
  const limit = Math.min(Math.max(1, query.limit ?? 100), MAX_PAGE);
  const { where, args } = filters(query);
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (!after) return null;
    where.push("(at < ? OR (at = ? AND request_id < ?))");
    args.push(after.at, after.at, after.requestId);
  }
  const rows = sql
    .exec<Row>(
      `SELECT * FROM usage ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, request_id DESC LIMIT ?`,
      ...args,
      limit + 1,
    )
    .toArray();
  const page = rows.slice(0, limit).map(toRecord);
  const last = page.at(-1);
  return { data: page, nextCursor: rows.length > limit && last ? encodeCursor(last.at, last.requestId) : null };
}

const GROUP_COLUMN: Record<Exclude<UsageGrouping, "tag" | `metadata.${string}`>, string> = {
  day: "day",
  model: "scenario",
  origin: "origin",
  key: "key_id",
  user: "end_user",
  all: "''",
};

/** What counts as an error in {@link UsageTotals}: see its `errors`. */
const ERROR_ROW = "(status >= 500 OR outcome IN ('stream_broken', 'stream_timeout'))";

/** What a grouping selects as `grp`, the tables it reads from, and its arguments (before the filters'). */
function grouping(groupBy: UsageGrouping): { select: string; from: string; args: SqlStorageValue[] } {
  // A row with several tags counts once in each of their groups; a row with none, in "".
  if (groupBy === "tag") return { select: "COALESCE(t.value, '')", from: "usage LEFT JOIN json_each(usage.tags) AS t", args: [] };
  if (groupBy.startsWith("metadata.")) return { select: "COALESCE(json_extract(metadata, ?), '')", from: "usage", args: [keyPath(groupBy.slice("metadata.".length))] };
  return { select: `COALESCE(${GROUP_COLUMN[groupBy as keyof typeof GROUP_COLUMN]}, '')`, from: "usage", args: [] };
}

/**
 * Totals over the filtered records, by day (tenant-local), model (scenario), origin, key, end user,
 * tag or a metadata key; `all`: one row (none when nothing matched); or by several columns at once
 * (`["model", "origin", "day"]`: then each total's `by` names its values and `group` joins them with "|").
 */
export function usageTotals(sql: SqlStorage, query: UsageQuery, groupBy: UsageGrouping | readonly UsageGroup[]): UsageTotals[] {
  const { where, args } = filters(query);
  const groups = (Array.isArray(groupBy) ? groupBy : [groupBy]) as UsageGrouping[];
  const parts = groups.map(grouping);
  // A tag grouping joins json_each: it is only ever alone (the route refuses it in a list).
  const from = parts.find((p) => p.from !== "usage")?.from ?? "usage";
  const names = parts.map((_, i) => `g${i}`);
  return sql
    .exec<Row>(
      `SELECT ${parts.map((p, i) => `${p.select} AS ${names[i]}`).join(", ")}, COUNT(*) AS requests, SUM(prompt_tokens) AS prompt, SUM(cached_tokens) AS cached,
         SUM(completion_tokens) AS completion, SUM(cost_micros) AS cost, SUM(CASE WHEN ${ERROR_ROW} THEN 1 ELSE 0 END) AS errors,
         SUM(feedback = 'accepted') AS accepted, SUM(feedback = 'rejected') AS rejected,
         SUM(gate_passed = 1) AS passed, SUM(gate_passed = 0) AS failed
       FROM ${from} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} GROUP BY ${names.join(", ")} ORDER BY ${names.join(", ")}`,
      ...parts.flatMap((p) => p.args),
      ...args,
    )
    .toArray()
    .map((r) => {
      // SUM over no matching row is NULL.
      const n = (v: SqlStorageValue | undefined) => (v as number | null | undefined) ?? 0;
      const accepted = n(r.accepted);
      const rejected = n(r.rejected);
      const values = names.map((name) => r[name] as string);
      return {
        group: values.join("|"),
        ...(Array.isArray(groupBy) ? { by: Object.fromEntries(groups.map((g, i) => [g, values[i]!])) } : {}),
        requests: r.requests as number,
        promptTokens: r.prompt as number,
        cachedTokens: r.cached as number,
        completionTokens: r.completion as number,
        costMicros: r.cost as number,
        errors: r.errors as number,
        accepted,
        rejected,
        unrated: (r.requests as number) - accepted - rejected,
        gatesPassed: n(r.passed),
        gatesFailed: n(r.failed),
        costPerAcceptedMicros: accepted > 0 ? Math.round((r.cost as number) / accepted) : null,
      };
    });
}

/** Deletes records older than `before`; returns how many. */
export function pruneUsage(sql: SqlStorage, before: number): number {
  return sql.exec("DELETE FROM usage WHERE at < ?", before).rowsWritten;
}
