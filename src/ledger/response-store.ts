/**
 * A tenant's stored Responses API responses (the `responses` table, see schema.ts): written once a
 * response is over, read by id, walked back through `previous_response_id` to rebuild a
 * conversation, deleted on request, swept once expired. Bodies are opaque JSON text here: the
 * Worker writes and reads them (src/openai/responses/history.ts), this object only keeps them.
 */

/** One response to store. */
export interface ResponseRow {
  id: string;
  previousResponseId: string | null;
  /** Epoch ms, by the router's clock. */
  createdAt: number;
  /** The JSON of what is stored. */
  body: string;
}

/**
 * Bounds of a rebuilt conversation: links walked, and characters handed back in one RPC (a Durable
 * Object's RPC message is limited to 32 MiB; a character is at most 3 bytes of UTF-8 here).
 */
export const MAX_CHAIN_LINKS = 1_000;
export const MAX_CHAIN_CHARS = 8 * 1024 * 1024;

/** A conversation rebuilt from its newest response back: the bodies oldest first, or why not. */
export type ResponseChain =
  | { ok: true; bodies: string[] }
  /** A link names a response that does not exist (or has expired, or was deleted). */
  | { ok: false; reason: "not_found"; id: string }
  | { ok: false; reason: "too_long" };

/** Stores a response until `expiresAt`; storing an id again replaces it. */
export function insertResponse(sql: SqlStorage, row: ResponseRow, expiresAt: number): void {
  sql.exec(
    `INSERT INTO responses (id, previous_response_id, created_at, expires_at, body) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET previous_response_id = excluded.previous_response_id, created_at = excluded.created_at,
       expires_at = excluded.expires_at, body = excluded.body`,
    row.id,
    row.previousResponseId,
    row.createdAt,
    expiresAt,
    row.body,
  );
}

/** A stored response's row, unless it has expired by `at`. */
function liveRow(sql: SqlStorage, id: string, at: number): { previous_response_id: string | null; body: string } | null {
  return sql.exec<{ previous_response_id: string | null; body: string }>("SELECT previous_response_id, body FROM responses WHERE id = ? AND expires_at > ?", id, at).toArray()[0] ?? null;
}

/** A stored response's body, or null. */
export function responseBody(sql: SqlStorage, id: string, at: number): string | null {
  return liveRow(sql, id, at)?.body ?? null;
}

/** The conversation `id` ends: its body and those it continues, oldest first (bounded, see above). */
export function responseChain(sql: SqlStorage, id: string, at: number): ResponseChain {
  const bodies: string[] = [];
  let chars = 0;
  const seen = new Set<string>();
  for (let next: string | null = id; next !== null; ) {
    // A cycle cannot be stored through the API (an id is made before its response exists), but a
    // walk must end whatever the table holds.
    if (bodies.length >= MAX_CHAIN_LINKS || seen.has(next)) return { ok: false, reason: "too_long" };
    seen.add(next);
    const row = liveRow(sql, next, at);
    if (!row) return { ok: false, reason: "not_found", id: next };
    chars += row.body.length;
    if (chars > MAX_CHAIN_CHARS) return { ok: false, reason: "too_long" };
    bodies.push(row.body);
    next = row.previous_response_id;
  }
  return { ok: true, bodies: bodies.reverse() };
}

/** Deletes a stored response; false when there was none (or it had expired). */
export function deleteResponse(sql: SqlStorage, id: string, at: number): boolean {
  return sql.exec("DELETE FROM responses WHERE id = ? AND expires_at > ?", id, at).rowsWritten > 0;
}

/** Deletes the responses expired by `now`; returns how many. */
export function pruneResponses(sql: SqlStorage, now: number): number {
  return sql.exec("DELETE FROM responses WHERE expires_at <= ?", now).rowsWritten;
}

/** When the next stored response expires, or null. */
export function nextResponseExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM responses").one().t;
}
