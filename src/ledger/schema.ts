/**
 * The TenantLedger's SQLite layout, one database per tenant (one Durable Object each).
 *
 *   meta          key/value: `schema_version`, `last_cleanup`.
 *   tenant        the one row describing this tenant: id, display name, the salt its key hashes
 *                 use, policy (JSON), rate limits (JSON), time zone (budget periods reset at its
 *                 midnight), usage retention, disabled flag.
 *   api_keys      one row per key: public id, name, `lookup` (first 8 bytes of the hash, indexed),
 *                 `hash` (SHA-256 of salt ‖ key), a display hint, policy and rate limits (JSON),
 *                 revocation time. The key itself is never stored.
 *   budgets       a limit on money (µ$) or tokens, over a day, a month or all time, for the whole
 *                 tenant (`key_id` NULL) or one key; hard limit, optional soft limit.
 *   budget_usage  per budget and period (`2026-11-23`, `2026-11`, `total`): what was settled and
 *                 what open reservations hold, and the peak of their sum (the invariant's witness).
 *                 Invariant: settled + reserved ≤ hard limit, always; the one exception is
 *                 an origin reporting more than the worst case it was admitted for: the truth
 *                 is recorded (the log must match what was used) and the next admission refused.
 *   reservations  one row per admitted, not yet settled request: its worst-case cost and tokens,
 *                 the budget rows it holds (`charges`, JSON), when it expires (the alarm charges it
 *                 at its reserved amount then), and what its usage row needs if it expires.
 *   usage         one row per request, keyed by request id (recording is idempotent): what was
 *                 asked, where it was served, tokens (reported, estimated, or reserved when it
 *                 expired), cost, outcome, latency, and the tenant-local day for summaries.
 *   affinity      (v2) the prefix index: a prefix's chain hash (53 bits), an origin that served it,
 *                 when it last did (see src/affinity/prefix-index.ts); bounded, oldest evicted.
 *   affinity_stale (v2) per origin: entries seen at or before this time are stale (the origin
 *                 reported fewer cached tokens than the index predicted).
 *   leases        (v3) one row per open lease (DESIGN §3): the key it was granted for, the isolate
 *                 holding it, until when it admits (`admit_until`) and when an unreported lease is
 *                 charged in full (`charge_at`, the alarm); what each budget row still holds for it
 *                 (`charges`, JSON, as a reservation's), the requests and tokens it took from the
 *                 rate buckets and how many of them its reported requests used, and its concurrency
 *                 slots. Budget rows count what leases hold in `reserved`: settled + reserved (that
 *                 is, + leased) ≤ hard limit.
 *   (v4, the admin API of issue #16) `tenant.disabled_at`: when it was last disabled (the answer's
 *                 `effectiveBy`). `api_keys.expires_at`: the key is refused from then on, and no lease
 *                 on it admits past it. Rotation keeps the key (its id, policy, limits, budgets and
 *                 usage) and replaces its secret: `rotated_at`, and the secret it replaced in
 *                 `previous_lookup` / `previous_hash` / `previous_hint`, accepted until
 *                 `previous_expires_at` (the grace). One previous secret at most.
 *   responses     (v5, issue #17) the tenant's stored Responses API responses: the response id, the
 *                 id of the one it continues (`previous_response_id`, a link walked back to rebuild
 *                 a conversation), when it was created and when it expires (the tenant's
 *                 `response_retention_days` later; expired rows are never read and the alarm
 *                 deletes them), and `body`: the JSON of what was stored (the response object and
 *                 the turn's input items, see src/openai/responses/history.ts).
 *   tenant        (v5) gains `response_retention_days` (default 30).
 *   usage         (v5) gains the request's attribution: `end_user` (OpenAI's `user`), `metadata`
 *                 (JSON object of string pairs, at most 16) and `tags` (JSON array from the
 *                 `x-router-tags` header, at most 16); NULL when the request carried none.
 *   usage         (v6, issue #19) gains the request's outcome: `feedback` ('accepted', 'rejected'; NULL:
 *                 unrated), `feedback_score` (0..1), `feedback_reason`, `feedback_at` (the last
 *                 feedback's time: a later one replaces it), and the quality gates' verdict:
 *                 `gate_passed` (1, 0; NULL when no gate applied) and `gates` (JSON: each check's result).
 *
 * Rate-limit buckets are kept in memory only (see rate-limits.ts).
 *
 * `PRAGMA user_version` is not available in Durable Objects, so the version lives in `meta`;
 * each migration runs once, in order, inside the constructor's `blockConcurrencyWhile`.
 */
import { migrate as applyMigrations } from "../lib/sql-migrations";

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenant (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    salt TEXT NOT NULL,
    policy TEXT NOT NULL,
    limits TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    retention_days INTEGER NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lookup TEXT NOT NULL,
    hash BLOB NOT NULL,
    hint TEXT NOT NULL,
    policy TEXT NOT NULL,
    limits TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX api_keys_lookup ON api_keys (lookup);
  CREATE TABLE budgets (
    id TEXT PRIMARY KEY,
    key_id TEXT,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    hard_limit INTEGER NOT NULL,
    soft_limit INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE budget_usage (
    budget_id TEXT NOT NULL,
    period_key TEXT NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER NOT NULL DEFAULT 0,
    peak INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_id, period_key)
  );
  CREATE TABLE reservations (
    request_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    charges TEXT NOT NULL,
    facts TEXT NOT NULL
  );
  CREATE INDEX reservations_expiry ON reservations (expires_at);
  CREATE INDEX reservations_key ON reservations (key_id);
  CREATE TABLE usage (
    request_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    day TEXT NOT NULL,
    key_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    scenario TEXT NOT NULL,
    origin TEXT,
    model TEXT,
    stream INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    reserved_micros INTEGER NOT NULL,
    usage_source TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    latency_ms INTEGER NOT NULL
  );
  CREATE INDEX usage_at ON usage (at, request_id);
  CREATE INDEX usage_key_at ON usage (key_id, at);
  `,
  `
  CREATE TABLE affinity (
    hash INTEGER NOT NULL,
    origin TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (hash, origin)
  ) WITHOUT ROWID;
  CREATE TABLE affinity_stale (
    origin TEXT PRIMARY KEY,
    stale_before INTEGER NOT NULL
  );
  `,
  `
  CREATE TABLE leases (
    lease_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    admit_until INTEGER NOT NULL,
    charge_at INTEGER NOT NULL,
    charges TEXT NOT NULL,
    requests INTEGER,
    rate_tokens INTEGER,
    used_requests INTEGER NOT NULL DEFAULT 0,
    used_tokens INTEGER NOT NULL DEFAULT 0,
    slots INTEGER
  );
  CREATE INDEX leases_charge ON leases (charge_at);
  `,
  `
  ALTER TABLE tenant ADD COLUMN disabled_at INTEGER;
  ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
  ALTER TABLE api_keys ADD COLUMN rotated_at INTEGER;
  ALTER TABLE api_keys ADD COLUMN previous_lookup TEXT;
  ALTER TABLE api_keys ADD COLUMN previous_hash BLOB;
  ALTER TABLE api_keys ADD COLUMN previous_hint TEXT;
  ALTER TABLE api_keys ADD COLUMN previous_expires_at INTEGER;
  CREATE INDEX api_keys_previous_lookup ON api_keys (previous_lookup);
  `,
  `
  CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    previous_response_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX responses_expiry ON responses (expires_at);
  ALTER TABLE tenant ADD COLUMN response_retention_days INTEGER NOT NULL DEFAULT 30;
  ALTER TABLE usage ADD COLUMN end_user TEXT;
  ALTER TABLE usage ADD COLUMN metadata TEXT;
  ALTER TABLE usage ADD COLUMN tags TEXT;
  `,
  `
  ALTER TABLE usage ADD COLUMN feedback TEXT;
  ALTER TABLE usage ADD COLUMN feedback_score REAL;
  ALTER TABLE usage ADD COLUMN feedback_reason TEXT;
  ALTER TABLE usage ADD COLUMN feedback_at INTEGER;
  ALTER TABLE usage ADD COLUMN gate_passed INTEGER;
  ALTER TABLE usage ADD COLUMN gates TEXT;
  `,
];

/** Applies the migrations this database has not seen yet. Call inside `blockConcurrencyWhile`. */
export function migrate(sql: SqlStorage): void {
  applyMigrations(sql, MIGRATIONS);
}
