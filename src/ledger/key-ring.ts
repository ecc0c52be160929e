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
  expires_at: number | null;
  rotated_at: number | null;
  previous_lookup: string | null;
  previous_hash: ArrayBuffer | null;
  previous_hint: string | null;
  previous_expires_at: number | null;
}

/** One secret of a live key, as admission needs it. */
export interface CachedKey {
  id: string;
  hash: Uint8Array;
  policy: Partial<Policy>;
  limits: RateLimits;
  /** This secret is refused from this instant on (the key's expiry, or its grace's end); null: never. */
  expiresAt: number | null;
}

/** What an operator may change of a key (`PATCH`); absent fields stay. */
export interface KeyPatch {
  name?: string;
  policy?: Policy;
  expiresAt?: number | null;
}

/** The earlier of two ends, null being "never". */
function earlier(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** How many presented keys one ledger remembers as verified. */
const MAX_VERIFIED_KEYS = 1024;

/** A key as the admin API shows it; the previous secret only while its grace lasts at `now`. */
function keyInfo(row: KeyRow, now: number): ApiKeyInfo {
  const graceEnds = row.previous_hint === null ? null : earlier(row.previous_expires_at, row.expires_at);
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    policy: JSON.parse(row.policy) as Policy,
    limits: JSON.parse(row.limits) as RateLimits,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    expiresAt: row.expires_at,
    rotatedAt: row.rotated_at,
    previous: graceEnds !== null && graceEnds > now ? { hint: row.previous_hint!, expiresAt: graceEnds } : null,
  };
}

/** The live secrets of a row whose current or previous secret has the lookup prefix `lookup`. */
function secretsOf(row: KeyRow, lookup: string): CachedKey[] {
  const base = { id: row.id, policy: JSON.parse(row.policy) as Partial<Policy>, limits: JSON.parse(row.limits) as RateLimits };
  const secrets: CachedKey[] = [];
  if (row.lookup === lookup) secrets.push({ ...base, hash: new Uint8Array(row.hash), expiresAt: row.expires_at });
  if (row.previous_lookup === lookup && row.previous_hash !== null) {
    secrets.push({ ...base, hash: new Uint8Array(row.previous_hash), expiresAt: earlier(row.expires_at, row.previous_expires_at) });
  }
  return secrets;
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
  async insert(salt: string, key: string, name: string, policy: Policy, at: number, limits: RateLimits = NO_LIMITS, expiresAt: number | null = null): Promise<ApiKeyInfo> {
    const hash = await hashKey(salt, key);
    this.forgetKeys();
    const id = `key_${randomHex(8)}`;
    this.sql.exec(
      "INSERT INTO api_keys (id, name, lookup, hash, hint, policy, limits, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      id,
      name,
      lookupOf(hash),
      hash,
      keyHint(key),
      JSON.stringify(policy),
      JSON.stringify(limits),
      at,
      expiresAt,
    );
    return keyInfo(this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one(), at);
  }

  /**
   * Gives a live key a new secret (its hash under `salt`); the one it replaces stays accepted
   * until `at + graceMs` (not at all when 0), and one replaced before is forgotten. `null` when
   * there is no such key; "revoked" or "expired" when there is nothing left to rotate.
   */
  async rotate(salt: string, keyId: string, key: string, at: number, graceMs: number): Promise<ApiKeyInfo | "revoked" | "expired" | null> {
    const hash = await hashKey(salt, key);
    // Read after the await: the check and the write below are one synchronous section.
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
    if (!row) return null;
    if (row.revoked_at !== null) return "revoked";
    if (row.expires_at !== null && row.expires_at <= at) return "expired";
    const keep = graceMs > 0;
    this.sql.exec(
      `UPDATE api_keys SET lookup = ?, hash = ?, hint = ?, rotated_at = ?,
         previous_lookup = ?, previous_hash = ?, previous_hint = ?, previous_expires_at = ?
       WHERE id = ?`,
      lookupOf(hash),
      hash,
      keyHint(key),
      at,
      keep ? row.lookup : null,
      keep ? row.hash : null,
      keep ? row.hint : null,
      keep ? at + graceMs : null,
      keyId,
    );
    this.forgetKeys();
    return this.keyInfo(keyId, at);
  }

  /** Changes a key's name, policy or expiry; `null` when there is no such key. */
  update(keyId: string, patch: KeyPatch, at: number): ApiKeyInfo | null {
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
    if (!row) return null;
    this.sql.exec(
      "UPDATE api_keys SET name = ?, policy = ?, expires_at = ? WHERE id = ?",
      patch.name ?? row.name,
      patch.policy ? JSON.stringify(patch.policy) : row.policy,
      patch.expiresAt === undefined ? row.expires_at : patch.expiresAt,
      keyId,
    );
    this.forgetKeys();
    return this.keyInfo(keyId, at);
  }

  /** Keys changed: admission reads them from SQLite again. */
  forgetKeys(): void {
    this.keyCache.clear();
    this.verifiedKeys.clear();
  }

  list(now: number): ApiKeyInfo[] {
    return this.sql
      .exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id")
      .toArray()
      .map((row) => keyInfo(row, now));
  }

  keyInfo(keyId: string, now: number): ApiKeyInfo | null {
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
    return row ? keyInfo(row, now) : null;
  }

  /** Revokes a key as of `at`; `null` when there is no such key. */
  revoke(keyId: string, at: number): ApiKeyInfo | null {
    this.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", at, keyId);
    this.forgetKeys();
    return this.keyInfo(keyId, at);
  }

  setLimits(keyId: string, limits: RateLimits, at: number): ApiKeyInfo | null {
    this.sql.exec("UPDATE api_keys SET limits = ? WHERE id = ?", JSON.stringify(limits), keyId);
    this.forgetKeys();
    return this.keyInfo(keyId, at);
  }

  /**
   * A key by its id, not revoked (unless asked), as admission needs it (its current secret's expiry): for work a
   * key started and that runs on after the call (a batch), without the secret, which is never kept.
   */
  byId(keyId: string, includeRevoked = false): CachedKey | undefined {
    const row = this.sql.exec<KeyRow>(`SELECT * FROM api_keys WHERE id = ?${includeRevoked ? "" : " AND revoked_at IS NULL"}`, keyId).toArray()[0];
    if (!row) return undefined;
    return { id: row.id, hash: new Uint8Array(row.hash), policy: JSON.parse(row.policy) as Partial<Policy>, limits: JSON.parse(row.limits) as RateLimits, expiresAt: row.expires_at };
  }

  /** The live key a presented key was verified as before, if it was: no hashing needed then. */
  remembered(key: string): CachedKey | undefined {
    return this.verifiedKeys.get(key);
  }

  /**
   * The live secret a hash is of, from memory after its first use. Expiry is not judged here: the
   * caller compares `expiresAt` with the request's own time.
   */
  private liveKey(hash: Uint8Array): CachedKey | undefined {
    const lookup = lookupOf(hash);
    let rows = this.keyCache.get(lookup);
    if (!rows) {
      rows = this.sql
        .exec<KeyRow>("SELECT * FROM api_keys WHERE (lookup = ? OR previous_lookup = ?) AND revoked_at IS NULL", lookup, lookup)
        .toArray()
        .flatMap((r) => secretsOf(r, lookup));
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
