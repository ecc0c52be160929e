/**
 * The admin API's audit log (issue #16): one row per change an admin token made, kept in the
 * TenantDirectory's SQLite (`audit`, created by its migration 2) and never changed or removed:
 * triggers refuse every UPDATE and DELETE of a row, so the log is append-only by construction, not
 * by convention. A tenant's rows outlive the tenant (its deletion is itself a row).
 *
 * A row says who (the token's kind and a fingerprint that does not reveal it), what (the method,
 * the route's pattern, an action name, the tenant and the object changed, a summary of the change
 * with no secret in it: never a key, never a token) and when (epoch ms, with the request's id).
 * `seq` orders the rows and is the cursor of their pages.
 */

/** Which admin token made a change: its kind, and the first 8 hex digits of a keyed digest of it. */
export interface AuditActor {
  token: "admin" | "read";
  fingerprint: string;
}

/** A change as recorded. `summary` is JSON text: what changed, never a secret. */
export interface AuditRecord {
  at: number;
  actor: AuditActor;
  method: string;
  /** The route's pattern, e.g. `/admin/tenants/:tenant/keys/:keyId/rotate`. */
  route: string;
  /** What was done, dotted: `tenant.disable`, `key.rotate`, `config.publish`. */
  action: string;
  tenant: string | null;
  /** The object changed within the tenant (a key id, a budget id, a scenario), or null. */
  target: string | null;
  summary: string;
  requestId: string;
}

export interface AuditRow extends AuditRecord {
  id: number;
}

export interface AuditQuery {
  limit: number;
  /** Newest first, older than this id (the default order, from the newest). */
  before?: number | null;
  /** Oldest first, newer than this id: for following the log. */
  after?: number | null;
  /** Only this tenant's rows. */
  tenant?: string | null;
  /** Only this action, or the actions under it (`key` matches `key.rotate`). */
  action?: string | null;
}

export interface AuditPage {
  data: AuditRow[];
  /** The id to pass as `before` (or `after`, following) for the next page; null on the last. */
  next: number | null;
}

export const AUDIT_MIGRATION = `
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    token_kind TEXT NOT NULL,
    token_fingerprint TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant TEXT,
    target TEXT,
    summary TEXT NOT NULL,
    request_id TEXT NOT NULL
  );
  CREATE INDEX audit_tenant ON audit (tenant, seq);
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`;

type Row = Record<string, SqlStorageValue>;
interface AuditSqlRow extends Row {
  seq: number;
  at: number;
  token_kind: string;
  token_fingerprint: string;
  method: string;
  route: string;
  action: string;
  tenant: string | null;
  target: string | null;
  summary: string;
  request_id: string;
}

function rowOf(r: AuditSqlRow): AuditRow {
  return {
    id: r.seq,
    at: r.at,
    actor: { token: r.token_kind as AuditActor["token"], fingerprint: r.token_fingerprint },
    method: r.method,
    route: r.route,
    action: r.action,
    tenant: r.tenant,
    target: r.target,
    summary: r.summary,
    requestId: r.request_id,
  };
}

/** Appends a row; returns its id. */
export function appendAudit(sql: SqlStorage, r: AuditRecord): number {
  return sql
    .exec<{ seq: number }>(
      `INSERT INTO audit (at, token_kind, token_fingerprint, method, route, action, tenant, target, summary, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      r.at,
      r.actor.token,
      r.actor.fingerprint,
      r.method,
      r.route,
      r.action,
      r.tenant,
      r.target,
      r.summary,
      r.requestId,
    )
    .one().seq;
}

/** A page of rows: newest first, or oldest first after `after`. */
export function queryAudit(sql: SqlStorage, q: AuditQuery): AuditPage {
  const where: string[] = [];
  const args: SqlStorageValue[] = [];
  const following = q.after !== undefined && q.after !== null;
  if (following) {
    where.push("seq > ?");
    args.push(q.after!);
  } else if (q.before !== undefined && q.before !== null) {
    where.push("seq < ?");
    args.push(q.before);
  }
  if (q.tenant) {
    where.push("tenant = ?");
    args.push(q.tenant);
  }
  if (q.action) {
    // The action itself, or one under it: `key` matches `key.rotate`, not `keys`.
    where.push("(action = ? OR substr(action, 1, length(?) + 1) = ? || '.')");
    args.push(q.action, q.action, q.action);
  }
  const rows = sql
    .exec<AuditSqlRow>(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq ${following ? "ASC" : "DESC"} LIMIT ?`, ...args, q.limit + 1)
    .toArray();
  const page = rows.slice(0, q.limit).map(rowOf);
  return { data: page, next: rows.length > q.limit ? page.at(-1)!.id : null };
}
