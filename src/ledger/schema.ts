/**
 * The TenantLedger's SQLite layout, one database per tenant (one Durable Object each).
 *
 *   meta      key/value: `schema_version`.
 *   tenant    the one row describing this tenant: id, display name, the salt its key hashes use,
 *             its policy (JSON), whether it is disabled.
 *   api_keys  one row per key: public id, name, `lookup` (first 8 bytes of the hash, indexed),
 *             `hash` (SHA-256 of salt ‖ key), a display hint, policy (JSON), revocation time.
 *             The key itself is never stored.
 *   usage     one row per request, keyed by request id (so recording is idempotent): what was
 *             asked, where it was served, the tokens the origin reported (or that were estimated
 *             when it reported none), outcome and latency.
 *
 * `PRAGMA user_version` is not available in Durable Objects, so the version lives in `meta`;
 * each migration runs once, in order, inside the constructor's `blockConcurrencyWhile`.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenant (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    salt TEXT NOT NULL,
    policy TEXT NOT NULL,
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
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX api_keys_lookup ON api_keys (lookup);
  CREATE TABLE usage (
    request_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    scenario TEXT NOT NULL,
    origin TEXT,
    model TEXT,
    stream INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    usage_source TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    latency_ms INTEGER NOT NULL
  );
  CREATE INDEX usage_at ON usage (at);
  `,
];

/** Applies the migrations this database has not seen yet. Call inside `blockConcurrencyWhile`. */
export function migrate(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
  const current = row ? Number(row.value) : 0;
  for (let version = current; version < MIGRATIONS.length; version++) {
    sql.exec(MIGRATIONS[version]!);
    sql.exec(
      "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(version + 1),
    );
  }
}
