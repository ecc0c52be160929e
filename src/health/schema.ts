/**
 * The OriginMonitor's SQLite layout, one database per origin (one Durable Object each).
 *
 *   meta       key/value: `schema_version`.
 *   monitor    the one row (id = 1) holding the origin's health as JSON (`MonitorState`): options,
 *              circuit breaker with its last 50 transitions, EWMAs, hour-of-day profile, counters.
 *              Rewritten after each batch; small (a few KB), so one row beats a table per EWMA.
 *   isolates   per reporting isolate: its latest in-flight count for this origin and when it sent
 *              it. The in-flight estimate sums rows younger than 30 s; older rows are pruned.
 *   batches    ids of the batches applied in the last hour, so a retried batch is applied once.
 *
 * `PRAGMA user_version` is not available in Durable Objects, so the version lives in `meta`;
 * each migration runs once, in order, inside the constructor's `blockConcurrencyWhile`.
 */
import { migrate as applyMigrations } from "../lib/sql-migrations";

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE monitor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL
  );
  CREATE TABLE isolates (
    id TEXT PRIMARY KEY,
    in_flight INTEGER NOT NULL,
    reported_at INTEGER NOT NULL
  );
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  );
  CREATE INDEX batches_at ON batches (at);
  `,
];

/** Applies the migrations this database has not seen yet. Call inside `blockConcurrencyWhile`. */
export function migrate(sql: SqlStorage): void {
  applyMigrations(sql, MIGRATIONS);
}
