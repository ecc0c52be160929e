/**
 * A tenant's API keys: their rows in `api_keys`, and the two memory mirrors admission reads on
 * every request. The key itself is never stored, only its salted hash (see schema.ts); a presented
 * key is found by the hash's `lookup` prefix and then compared in full.
 *
 * SQLite stays the truth: every key mutation empties both caches before it returns, so a revoked
 * key is refused on its very next request, and a restart rebuilds them from storage.
 */
import { hashKey, keyHint, lookupOf, randomHex, sameBytes } from "../auth/api-key";
import { bucketsFor, type BucketRef } from "./rate-limits";
import { NO_LIMITS, type ApiKeyInfo, type Policy, type RateLimits } from "./types";

type Row = Record<string, SqlStorageValue>;

interface KeyRow extends Row {
  id: string;
  name: string;
  hash: ArrayBuffer;
  hint: string;
  policy: string;
  limits: string;
  created_at: number;
  revoked_at: number | null;
}

/** A key row as admission needs it. */
export interface CachedKey {
  id: string;
  hash: Uint8Array;
  policy: Partial<Policy>;
  limits: RateLimits;
}

/** How many presented keys one ledger remembers as verified. */
const MAX_VERIFIED_KEYS = 1024;

function keyInfo(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    policy: JSON.parse(row.policy) as Policy,
    limits: JSON.parse(row.limits) as RateLimits,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** The keys of one tenant. */
export class KeyRing {
  /** Live keys by lookup prefix, with their JSON already parsed. */
  private readonly keyCache = new Map<string, CachedKey[]>();
  /**
   * Live keys by the key as presented, once its hash has matched: saves the SHA-256 on every
   * admission after the first. Emptied with `keyCache` (revocation, limits, new keys), so a
   * revoked key is refused on its very next request. Only verified keys enter, so guesses cannot
   * fill it; the cap bounds a tenant with very many keys.
   */
  private readonly verifiedKeys = new Map<string, CachedKey>();

  constructor(private readonly sql: SqlStorage) {}

  /** Stores a key (its hash under the tenant's `salt`, never the key itself). */
  async insert(salt: string, key: string, name: string, policy: Policy, at: number, limits: RateLimits = NO_LIMITS): Promise<ApiKeyInfo> {
    const hash = await hashKey(salt, key);
    this.forgetKeys();
    const id = `key_${randomHex(8)}`;
    this.sql.exec(
      "INSERT INTO api_keys (id, name, lookup, hash, hint, policy, limits, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      id,
      name,
      lookupOf(hash),
      hash,
      keyHint(key),
      JSON.stringify(policy),
      JSON.stringify(limits),
      at,
    );
    return keyInfo(this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one());
  }

  /** Keys changed: admission reads them from SQLite again. */
  forgetKeys(): void {
    this.keyCache.clear();
    this.verifiedKeys.clear();
  }

  list(): ApiKeyInfo[] {
    return this.sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").toArray().map(keyInfo);
  }

  keyInfo(keyId: string): ApiKeyInfo | null {
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
    return row ? keyInfo(row) : null;
  }

  /** Revokes a key as of `at`; `null` when there is no such key. */
  revoke(keyId: string, at: number): ApiKeyInfo | null {
    this.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", at, keyId);
    this.forgetKeys();
    return this.keyInfo(keyId);
  }

  setLimits(keyId: string, limits: RateLimits): ApiKeyInfo | null {
    this.sql.exec("UPDATE api_keys SET limits = ? WHERE id = ?", JSON.stringify(limits), keyId);
    this.forgetKeys();
    return this.keyInfo(keyId);
  }

  /** The live key a presented key was verified as before, if it was: no hashing needed then. */
  remembered(key: string): CachedKey | undefined {
    return this.verifiedKeys.get(key);
  }

  /** The key's live row, from memory after its first use. */
  private liveKey(hash: Uint8Array): CachedKey | undefined {
    const lookup = lookupOf(hash);
    let rows = this.keyCache.get(lookup);
    if (!rows) {
      rows = this.sql
        .exec<KeyRow>("SELECT * FROM api_keys WHERE lookup = ? AND revoked_at IS NULL", lookup)
        .toArray()
        .map((r) => ({ id: r.id, hash: new Uint8Array(r.hash), policy: JSON.parse(r.policy) as Partial<Policy>, limits: JSON.parse(r.limits) as RateLimits }));
      // Only keys that exist are remembered, so guessing keys cannot fill this map.
      if (rows.length > 0) this.keyCache.set(lookup, rows);
    }
    return rows.find((c) => sameBytes(c.hash, hash));
  }

  /** The live key a presented key hashes to, remembered as verified when there is one. */
  verifiedKey(key: string, hash: Uint8Array): CachedKey | undefined {
    const row = this.liveKey(hash);
    if (row) {
      if (this.verifiedKeys.size >= MAX_VERIFIED_KEYS) this.verifiedKeys.delete(this.verifiedKeys.keys().next().value!);
      this.verifiedKeys.set(key, row);
    }
    return row;
  }

  /** The rate buckets a key's requests draw from, given the tenant's limits. */
  bucketsOfKey(keyId: string, tenantLimits: RateLimits): BucketRef[] {
    for (const rows of this.keyCache.values()) for (const k of rows) if (k.id === keyId) return bucketsFor(keyId, tenantLimits, k.limits);
    const row = this.sql.exec<KeyRow>("SELECT limits FROM api_keys WHERE id = ?", keyId).toArray()[0];
    return bucketsFor(keyId, tenantLimits, row ? (JSON.parse(row.limits) as RateLimits) : NO_LIMITS);
  }
}
