/**
 * TenantDirectory: one Durable Object per deployment (named {@link DIRECTORY_NAME}) that knows which
 * tenants exist, and keeps the deployment's key-signing secret (DESIGN §2).
 *
 * Why it exists (issue #12, item 1): a tenant's ledger is addressed by the tenant id a key names,
 * so any made-up key used to reach, and create, a ledger of its own. Now:
 * - keys the router issues carry a MAC under the signing secret (`auth/api-key.ts`), checked in the
 *   Worker before any object is reached: a forged key costs one HMAC and nothing else;
 * - keys from before (no MAC), and admin calls naming a tenant, are checked against this list
 *   first; only tenants on it ever have their ledger reached.
 *
 * It is read once per isolate for the secret, and otherwise only off the hot path (admin calls,
 * legacy keys, cached per isolate). Layout, in SQLite:
 *
 *   meta      key/value: `schema_version`; `key_signing_secret` (32 random bytes, hex), made on
 *             first use and never shown.
 *   tenants   one row per tenant: id, display name, when it was created, and (v2) whether it is
 *             disabled: a copy of the ledger's flag, kept for listing (the ledger's is the one
 *             admission reads; the admin API writes the ledger first, then this copy), and the
 *             name case-folded for search (SQLite's `lower()` folds ASCII only).
 *   audit     (v2) the admin API's append-only audit log (see audit-log.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { randomHex, tenantOfKey } from "../auth/api-key";
import { migrate } from "../lib/sql-migrations";
import { appendAudit, AUDIT_MIGRATION, queryAudit, type AuditPage, type AuditQuery, type AuditRecord } from "./audit-log";

/** The one directory of a deployment. */
export const DIRECTORY_NAME = "directory";

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  `
  ALTER TABLE tenants ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tenants ADD COLUMN name_folded TEXT;
  ${AUDIT_MIGRATION}
  `,
];

export interface DirectoryEntry {
  id: string;
  name: string;
  createdAt: number;
  disabled: boolean;
}

export interface DirectoryPage {
  data: DirectoryEntry[];
  /** The id to pass as `after` for the next page, or null on the last one. */
  nextAfter: string | null;
}

/** What the directory reads from the env: the local demo's key, whose tenant it lists. */
interface DirectoryEnv {
  DEMO_TENANT_KEY?: string;
}

type Row = Record<string, SqlStorageValue>;
interface TenantRow extends Row {
  id: string;
  name: string;
  created_at: number;
  disabled: number;
}

/** How names and searches are compared: Unicode case-folded, composed alike ("É" finds "é"). */
function fold(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

function entryOf(row: TenantRow): DirectoryEntry {
  return { id: row.id, name: row.name, createdAt: row.created_at, disabled: row.disabled === 1 };
}

export class TenantDirectory extends DurableObject<DirectoryEnv> {
  private readonly sql: SqlStorage;
  /** Every tenant id, in memory: `exists` is asked by legacy keys and every admin call. */
  private readonly ids = new Set<string>();

  constructor(ctx: DurableObjectState, env: DirectoryEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      for (const row of this.sql.exec<{ id: string }>("SELECT id FROM tenants")) this.ids.add(row.id);
      // Tenants listed before names were folded (migration 2) are folded once, here.
      for (const row of this.sql.exec<{ id: string; name: string }>("SELECT id, name FROM tenants WHERE name_folded IS NULL").toArray()) {
        this.sql.exec("UPDATE tenants SET name_folded = ? WHERE id = ?", fold(row.name), row.id);
      }
      // Local runs seed the demo tenant in its ledger on first use; it is listed here from the start.
      const demo = env.DEMO_TENANT_KEY ? tenantOfKey(env.DEMO_TENANT_KEY) : null;
      if (demo && !this.ids.has(demo)) this.insert(demo, "Demo tenant", Date.now());
    });
  }

  private insert(id: string, name: string, at: number): void {
    this.sql.exec("INSERT INTO tenants (id, name, name_folded, created_at) VALUES (?, ?, ?, ?)", id, name, fold(name), at);
    this.ids.add(id);
  }

  /** The deployment's key-signing secret (hex), made on first use. Isolates cache it; it never leaves the router. */
  async signingSecret(): Promise<string> {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'key_signing_secret'").toArray()[0];
    if (row) return row.value;
    const secret = randomHex(32);
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('key_signing_secret', ?)", secret);
    return secret;
  }

  async exists(id: string): Promise<boolean> {
    return this.ids.has(id);
  }

  /** Lists a tenant; false when it is listed already. */
  async register(id: string, name: string, at: number): Promise<boolean> {
    if (this.ids.has(id)) return false;
    this.insert(id, name, at);
    return true;
  }

  /** Takes a tenant off the list; false when it was not on it. */
  async remove(id: string): Promise<boolean> {
    if (!this.ids.delete(id)) return false;
    this.sql.exec("DELETE FROM tenants WHERE id = ?", id);
    return true;
  }

  /** Changes what the list shows of a tenant (the ledger holds the truth); false when it is not listed. */
  async update(id: string, change: { name?: string; disabled?: boolean }): Promise<boolean> {
    if (!this.ids.has(id)) return false;
    if (change.name !== undefined) this.sql.exec("UPDATE tenants SET name = ?, name_folded = ? WHERE id = ?", change.name, fold(change.name), id);
    if (change.disabled !== undefined) this.sql.exec("UPDATE tenants SET disabled = ? WHERE id = ?", change.disabled ? 1 : 0, id);
    return true;
  }

  /**
   * Tenants in id order, after `after`, those whose id or name contain `search` (case-insensitive),
   * disabled or not. Paging by id is stable: tenants made or deleted meanwhile never shift a page.
   */
  async list(query: { after?: string | null; limit: number; search?: string | null; disabled?: boolean | null }): Promise<DirectoryPage> {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (query.after) {
      where.push("id > ?");
      args.push(query.after);
    }
    if (query.disabled !== undefined && query.disabled !== null) {
      where.push("disabled = ?");
      args.push(query.disabled ? 1 : 0);
    }
    if (query.search) {
      // instr(): a substring match with no LIKE wildcards to escape. Ids are lower-case already.
      const folded = fold(query.search);
      where.push("(instr(id, ?) > 0 OR instr(name_folded, ?) > 0)");
      args.push(folded, folded);
    }
    const rows = this.sql
      .exec<TenantRow>(`SELECT id, name, created_at, disabled FROM tenants ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT ?`, ...args, query.limit + 1)
      .toArray();
    const page = rows.slice(0, query.limit).map(entryOf);
    return { data: page, nextAfter: rows.length > query.limit ? page.at(-1)!.id : null };
  }

  /** Appends a row to the audit log (see audit-log.ts); returns its id. */
  async appendAudit(record: AuditRecord): Promise<number> {
    return appendAudit(this.sql, record);
  }

  async listAudit(query: AuditQuery): Promise<AuditPage> {
    return queryAudit(this.sql, query);
  }
}
