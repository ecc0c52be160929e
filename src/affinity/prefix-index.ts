/**
 * The tenant's prefix index (DESIGN §5): which origins recently saw which prefix, kept in the
 * TenantLedger so the lookup rides on admission's one round trip. Scope is the tenant: sharing
 * cache state across tenants would be a timing side channel.
 *
 * Memory holds the index (a Map in LRU order, bounded by `maxHashes`); SQLite mirrors it
 * (`affinity` table) so a restarted object starts warm. An isolate keeps a copy of its own, in
 * memory only (no `sql`), fed by what it serves: placement then needs no round trip. An entry is fresh for its origin's cache
 * TTL after it was last seen, and not before the origin's stale mark: when an origin reports
 * fewer cached tokens than predicted, it evicted what we last saw there at that time, and by LRU
 * everything it saw earlier too.
 */

/** An origin's deepest fresh match: blocks of the request's chain, and when it was last seen there. */
export interface PrefixMatch {
  blocks: number;
  seenAt: number;
}

/** What admission looks up: the request's chain and, per candidate origin, its cache TTL. */
export interface PrefixLookup {
  chain: number[];
  ttlMs: Record<string, number>;
}

/** What settlement writes: prefixes the origin now holds, entries it did not have, a stale mark. */
export interface PrefixUpdate {
  origin: string;
  record: number[];
  drop: number[];
  /** Entries at the origin seen at or before this time are stale; null: no change. */
  staleBefore: number | null;
}

/** Enough for a few hundred long conversations per tenant, ~1-2 MB of memory at the bound. */
export const MAX_HASHES = 20_000;

export class PrefixIndex {
  /** hash → (origin → last seen). Iteration order is LRU order: oldest first. */
  private readonly entries = new Map<number, Map<string, number>>();
  private readonly staleBefore = new Map<string, number>();

  /** `sql`: the ledger's mirror; null for an isolate's copy, kept in memory only. */
  constructor(
    private readonly sql: SqlStorage | null,
    private readonly maxHashes = MAX_HASHES,
  ) {
    if (!sql) return;
    for (const row of sql.exec<{ hash: number; origin: string; seen_at: number }>("SELECT hash, origin, seen_at FROM affinity ORDER BY seen_at")) {
      this.touch(row.hash).set(row.origin, row.seen_at);
    }
    for (const row of sql.exec<{ origin: string; stale_before: number }>("SELECT origin, stale_before FROM affinity_stale")) {
      this.staleBefore.set(row.origin, row.stale_before);
    }
    this.evict();
  }

  /** Records that `origin` held the chain's first `blocks` blocks when last seen at `seenAt` (a match learned from the ledger). */
  remember(chain: readonly number[], origin: string, blocks: number, seenAt: number): void {
    for (let i = 0; i < blocks && i < chain.length; i++) {
      const origins = this.touch(chain[i]!);
      if ((origins.get(origin) ?? -Infinity) < seenAt) origins.set(origin, seenAt);
    }
    this.evict();
  }

  /** Hashes held. */
  get size(): number {
    return this.entries.size;
  }

  /** Each origin's deepest fresh match along the chain (origins without one are absent). */
  lookup(query: PrefixLookup, at: number): Record<string, PrefixMatch> {
    const found: Record<string, PrefixMatch> = {};
    const wanted = Object.keys(query.ttlMs).length;
    let count = 0;
    for (let i = query.chain.length - 1; i >= 0 && count < wanted; i--) {
      const origins = this.entries.get(query.chain[i]!);
      if (!origins) continue;
      for (const [origin, seenAt] of origins) {
        if (Object.hasOwn(found, origin) || !Object.hasOwn(query.ttlMs, origin)) continue;
        if (at - seenAt > query.ttlMs[origin]! || seenAt <= (this.staleBefore.get(origin) ?? -Infinity)) continue;
        found[origin] = { blocks: i + 1, seenAt };
        count++;
      }
    }
    return found;
  }

  /** Applies what one served request taught. Call inside the caller's transaction. */
  update(update: PrefixUpdate, at: number): void {
    const { origin } = update;
    if (update.staleBefore !== null && update.staleBefore > (this.staleBefore.get(origin) ?? -Infinity)) {
      this.staleBefore.set(origin, update.staleBefore);
      this.sql?.exec(
        "INSERT INTO affinity_stale (origin, stale_before) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET stale_before = excluded.stale_before",
        origin,
        update.staleBefore,
      );
    }
    for (const hash of update.drop) {
      const origins = this.entries.get(hash);
      if (!origins?.delete(origin)) continue;
      if (origins.size === 0) this.entries.delete(hash);
      this.sql?.exec("DELETE FROM affinity WHERE hash = ? AND origin = ?", hash, origin);
    }
    for (const hash of update.record) {
      this.touch(hash).set(origin, at);
      this.sql?.exec(
        "INSERT INTO affinity (hash, origin, seen_at) VALUES (?, ?, ?) ON CONFLICT (hash, origin) DO UPDATE SET seen_at = excluded.seen_at",
        hash,
        origin,
        at,
      );
    }
    this.evict();
  }

  /** The hash's origins, moved to the young end of the LRU order. */
  private touch(hash: number): Map<string, number> {
    const origins = this.entries.get(hash) ?? new Map<string, number>();
    this.entries.delete(hash);
    this.entries.set(hash, origins);
    return origins;
  }

  private evict(): void {
    for (const hash of this.entries.keys()) {
      if (this.entries.size <= this.maxHashes) return;
      this.entries.delete(hash);
      this.sql?.exec("DELETE FROM affinity WHERE hash = ?", hash);
    }
  }
}
