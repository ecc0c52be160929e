/**
 * Schema migrations for a Durable Object's SQLite database. `PRAGMA user_version` is not available
 * in Durable Objects, so the version lives in a `meta` table; each migration runs once, in order.
 * Call inside the constructor's `blockConcurrencyWhile`.
 *
 * @example
 * migrate(ctx.storage.sql, ["CREATE TABLE t (id TEXT PRIMARY KEY)"]);
 */
export function migrate(sql: SqlStorage, migrations: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
  const current = row ? Number(row.value) : 0;
  for (let version = current; version < migrations.length; version++) {
    sql.exec(migrations[version]!);
    sql.exec(
      "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(version + 1),
    );
  }
}
