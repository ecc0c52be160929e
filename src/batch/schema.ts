/**
 * The BatchStore's SQLite layout, one database per tenant (one Durable Object each, named by the
 * tenant id of an authenticated key). Nothing exists until the tenant's first upload.
 *
 *   meta          key/value: `schema_version`.
 *   files         one row per file the tenant can see: an uploaded input file (`purpose` batch) or
 *                 a batch's output or error file (`batch_output`, with `batch_id` and `kind`). Its
 *                 size in bytes, line count, name, creation time; `seq` orders listings (newest
 *                 first). Deleting a file removes its row
 *                 (and an input file's lines); a batch keeps running on its own copy of the lines.
 *   file_lines    an input file's requests: its position, `custom_id`, `url`, `model`, and the line
 *                 as uploaded. `GET /v1/files/{id}/content` returns them one per line.
 *   batches       one row per batch: the key that created it (by id: its secret is never held),
 *                 endpoint, input file, metadata, status and OpenAI's timestamps, the deadline
 *                 (`expires_at`), counts of lines done, their usage sums, the output and error files
 *                 once finalized, when it may run next (`next_at`) and why it waits (`wait_reason`).
 *                 `seq` orders listings (newest first) and the order batches run in (oldest first).
 *   batch_lines   a batch's copy of its input lines, each with its state: `pending`, `running` (its
 *                 run began; a crash leaves it so, and it runs again under the same request id),
 *                 `done` (its output or error line is written, `result` and `result_kind`). A line
 *                 that reached the ledger also keeps what settles it (`settle`, JSON) until the
 *                 ledger confirmed it (`settled` = 1): settlement is idempotent by request id, so
 *                 it is retried until it lands and charged exactly once.
 *
 * Times are epoch milliseconds here; the API shows OpenAI's seconds.
 */
import { migrate as applyMigrations } from "../lib/sql-migrations";

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE files (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    filename TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    batch_id TEXT,
    kind TEXT
  );
  CREATE TABLE file_lines (
    file_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    url TEXT NOT NULL,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (file_id, idx)
  );
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    completion_window TEXT NOT NULL,
    metadata TEXT,
    model TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    in_progress_at INTEGER,
    finalizing_at INTEGER,
    completed_at INTEGER,
    expired_at INTEGER,
    cancelling_at INTEGER,
    cancelled_at INTEGER,
    total INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    output_file_id TEXT,
    error_file_id TEXT,
    next_at INTEGER NOT NULL,
    wait_reason TEXT
  );
  CREATE TABLE batch_lines (
    batch_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    result_kind TEXT,
    settle TEXT,
    settled INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (batch_id, idx)
  );
  CREATE INDEX batch_lines_state ON batch_lines (batch_id, state, idx);
  CREATE INDEX batch_lines_unsettled ON batch_lines (batch_id, settled);
  `,
];

/** Creates or migrates the schema (inside `blockConcurrencyWhile`, or a first write). */
export function migrate(sql: SqlStorage): void {
  applyMigrations(sql, MIGRATIONS);
}

/** The next row's place in a listing (rows are never renumbered: deletions leave gaps). */
export function nextSeq(sql: SqlStorage, table: "files" | "batches"): number {
  return sql.exec<{ n: number }>(`SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM ${table}`).one().n;
}
