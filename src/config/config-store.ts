/**
 * ConfigStore: one Durable Object per deployment (named {@link CONFIG_STORE_NAME}) that holds the
 * routing config as numbered versions. The live config is the newest version; a rollback adds a
 * version (a copy of an older one), so the history only grows and says what happened.
 *
 * It stores configs that the Worker has already validated (`config/validate.ts`): a Durable
 * Object cannot see the Worker's secrets, and validation belongs to one place. It does guard
 * against lost updates: a write may name the version it was based on (`ifVersion`).
 *
 * The deployment's seed (its `ROUTER_CONFIG` or bundled config) becomes version 1. A later deploy
 * whose seed differs from every seed seen before becomes a new version, so `wrangler deploy` with
 * a changed config still takes effect; during a rolling deploy, isolates still on the previous
 * seed do not bring it back, because it was seen before.
 *
 * Isolates ask for `head()` every few seconds (`config/live.ts`), never per request. Layout:
 *
 *   meta      key/value: `schema_version`, `store_id` (random, so an isolate tells two stores apart).
 *   versions  n, the config as JSON text (its input form), who set it, why, when, how
 *             (`seed`, `deploy`, `admin`, `rollback`) and, for a rollback, which version it restored.
 *   seeds     the hash of every seed seen, and the version it became.
 */
import { DurableObject } from "cloudflare:workers";
import { migrate } from "../lib/sql-migrations";

/** The one config store of a deployment. */
export const CONFIG_STORE_NAME = "config";
/** Versions kept; older ones are dropped (the live one never is). */
export const MAX_VERSIONS = 500;

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE versions (
    n INTEGER PRIMARY KEY,
    config TEXT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    source TEXT NOT NULL,
    rollback_of INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE seeds (
    hash TEXT PRIMARY KEY,
    version INTEGER NOT NULL
  );
  `,
];

export type VersionSource = "seed" | "deploy" | "admin" | "rollback";

/** A version without its config: what listings show. */
export interface VersionSummary {
  version: number;
  author: string;
  message: string;
  source: VersionSource;
  rollbackOf: number | null;
  createdAt: number;
}

/** A version and its config (JSON text, the config as written). */
export interface ConfigVersion extends VersionSummary {
  config: string;
}

/** A version at which a value of the config changed, and the value it took (JSON text). */
export interface TrailEntry extends VersionSummary {
  json: string;
}

/** Which store, and its live version: what an isolate compares with what it runs. */
export interface ConfigHead {
  storeId: string;
  version: number;
}

export interface NewVersion {
  config: string;
  author: string;
  message: string;
  source: Exclude<VersionSource, "seed" | "deploy">;
  rollbackOf?: number;
  at: number;
  /** Refuse unless the live version is still this one (an edit based on a stale read). */
  ifVersion?: number;
}

export type PutResult = { ok: true; version: ConfigVersion } | { ok: false; live: number };

/** The seed an isolate started from: its canonical JSON text and that text's SHA-256 (hex). */
export interface Seed {
  config: string;
  hash: string;
  at: number;
}

type Row = Record<string, SqlStorageValue>;
interface SummaryRow extends Row {
  n: number;
  author: string;
  message: string;
  source: string;
  rollback_of: number | null;
  created_at: number;
}
interface VersionRow extends SummaryRow {
  config: string;
}

const SUMMARY_COLUMNS = "n, author, message, source, rollback_of, created_at";

function summaryOf(row: SummaryRow): VersionSummary {
  return { version: row.n, author: row.author, message: row.message, source: row.source as VersionSource, rollbackOf: row.rollback_of, createdAt: row.created_at };
}

export class ConfigStore extends DurableObject {
  private readonly sql: SqlStorage;
  private storeId = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'store_id'").toArray()[0];
      if (row) this.storeId = row.value;
      else {
        this.storeId = crypto.randomUUID();
        this.sql.exec("INSERT INTO meta (key, value) VALUES ('store_id', ?)", this.storeId);
      }
    });
  }

  /** The live version, and whether this seed has been seen (an isolate imports it when not). */
  async head(seedHash: string): Promise<ConfigHead & { seedKnown: boolean }> {
    const seedKnown = this.sql.exec("SELECT 1 FROM seeds WHERE hash = ?", seedHash).toArray().length > 0;
    return { storeId: this.storeId, version: this.liveVersion(), seedKnown };
  }

  /**
   * Takes a seed in: the first becomes version 1, one never seen before becomes a new version (a
   * deploy that changed the config), a known one changes nothing.
   */
  async importSeed(seed: Seed): Promise<ConfigHead> {
    const known = this.sql.exec("SELECT 1 FROM seeds WHERE hash = ?", seed.hash).toArray().length > 0;
    if (!known) {
      const first = this.liveVersion() === 0;
      const version = this.insert({
        config: seed.config,
        author: "deploy",
        message: first ? "the deployment's config (seed)" : "a deploy with a changed config",
        source: first ? "seed" : "deploy",
        rollbackOf: null,
        at: seed.at,
      });
      this.sql.exec("INSERT INTO seeds (hash, version) VALUES (?, ?)", seed.hash, version);
    }
    return { storeId: this.storeId, version: this.liveVersion() };
  }

  /** The live version and its config; null before any seed arrived. */
  async live(): Promise<(ConfigVersion & { storeId: string }) | null> {
    const version = await this.get(this.liveVersion());
    return version ? { ...version, storeId: this.storeId } : null;
  }

  /** Adds a version (already validated by the Worker) unless `ifVersion` is stale. */
  async put(next: NewVersion): Promise<PutResult> {
    const live = this.liveVersion();
    if (next.ifVersion !== undefined && next.ifVersion !== live) return { ok: false, live };
    const n = this.insert({ config: next.config, author: next.author, message: next.message, source: next.source, rollbackOf: next.rollbackOf ?? null, at: next.at });
    return { ok: true, version: (await this.get(n))! };
  }

  async get(version: number): Promise<ConfigVersion | null> {
    const row = this.sql.exec<VersionRow>("SELECT * FROM versions WHERE n = ?", version).toArray()[0];
    return row ? { ...summaryOf(row), config: row.config } : null;
  }

  /** Versions newest first, `before` a version (exclusive) for the next page. */
  async list(options: { limit: number; before: number | null }): Promise<{ data: VersionSummary[]; hasMore: boolean }> {
    const rows = this.sql
      .exec<SummaryRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM versions WHERE n < ? ORDER BY n DESC LIMIT ?`,
        options.before ?? Number.MAX_SAFE_INTEGER,
        options.limit + 1,
      )
      .toArray();
    return { data: rows.slice(0, options.limit).map(summaryOf), hasMore: rows.length > options.limit };
  }

  /**
   * The versions at which the value at `path` (keys into the config as written) changed, oldest
   * first, each with that value as JSON text (`null` where it is absent): a scenario's migration
   * stage over time, say. Parses every kept version: an admin read, never a request's.
   */
  async trail(path: readonly string[]): Promise<TrailEntry[]> {
    const changes: TrailEntry[] = [];
    let previous: string | undefined;
    for (const row of this.sql.exec<VersionRow>("SELECT * FROM versions ORDER BY n").toArray()) {
      let value: unknown = JSON.parse(row.config);
      for (const key of path) value = typeof value === "object" && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : null;
      const json = JSON.stringify(value ?? null);
      if (json !== previous) changes.push({ ...summaryOf(row), json });
      previous = json;
    }
    return changes;
  }

  private liveVersion(): number {
    return this.sql.exec<{ n: number | null }>("SELECT MAX(n) AS n FROM versions").one().n ?? 0;
  }

  private insert(v: { config: string; author: string; message: string; source: VersionSource; rollbackOf: number | null; at: number }): number {
    const n = this.liveVersion() + 1;
    this.sql.exec(
      "INSERT INTO versions (n, config, author, message, source, rollback_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      n,
      v.config,
      v.author,
      v.message,
      v.source,
      v.rollbackOf,
      v.at,
    );
    this.sql.exec("DELETE FROM versions WHERE n <= ?", n - MAX_VERSIONS);
    return n;
  }
}
