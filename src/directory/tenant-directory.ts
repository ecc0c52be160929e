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
 *   tenants   one row per tenant: id, display name, when it was created.
 */
import { DurableObject } from "cloudflare:workers";
import { randomHex, tenantOfKey } from "../auth/api-key";
import { migrate } from "../lib/sql-migrations";

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
];

export interface DirectoryEntry {
  id: string;
  name: string;
  createdAt: number;
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
}

function entryOf(row: TenantRow): DirectoryEntry {
  return { id: row.id, name: row.name, createdAt: row.created_at };
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
      // Local runs seed the demo tenant in its ledger on first use; it is listed here from the start.
      const demo = env.DEMO_TENANT_KEY ? tenantOfKey(env.DEMO_TENANT_KEY) : null;
      if (demo && !this.ids.has(demo)) this.insert(demo, "Demo tenant", Date.now());
    });
  }

  private insert(id: string, name: string, at: number): void {
    this.sql.exec("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", id, name, at);
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

  /** Tenants in id order, after `after`, those whose id or name contain `search` (case-insensitive). */
  async list(query: { after?: string | null; limit: number; search?: string | null }): Promise<DirectoryPage> {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (query.after) {
      where.push("id > ?");
      args.push(query.after);
    }
    if (query.search) {
      // instr() on lower-cased text: a substring match with no LIKE wildcards to escape.
      where.push("(instr(lower(id), lower(?)) > 0 OR instr(lower(name), lower(?)) > 0)");
      args.push(query.search, query.search);
    }
    const rows = this.sql
      .exec<TenantRow>(`SELECT * FROM tenants ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT ?`, ...args, query.limit + 1)
      .toArray();
    const page = rows.slice(0, query.limit).map(entryOf);
    return { data: page, nextAfter: rows.length > query.limit ? page.at(-1)!.id : null };
  }
}
