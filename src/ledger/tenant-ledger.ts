/**
 * TenantLedger: one Durable Object per tenant, the single source of truth for its keys and
 * usage (DESIGN §2). Methods are native RPC; each one's storage work is synchronous SQL, so it
 * runs as one critical section without interleaving.
 */
import { DurableObject } from "cloudflare:workers";
import { hashKey, keyHint, lookupOf, randomHex, sameBytes, tenantOfKey, generateKey } from "../auth/api-key";
import { migrate } from "./schema";
import type { AdmitResult, ApiKeyInfo, Policy, Tenant, UsageRecord } from "./types";

interface TenantRow {
  id: string;
  name: string;
  salt: string;
  policy: string;
  disabled: number;
  created_at: number;
  [column: string]: SqlStorageValue;
}

interface KeyRow {
  id: string;
  name: string;
  hash: ArrayBuffer;
  hint: string;
  policy: string;
  created_at: number;
  revoked_at: number | null;
  [column: string]: SqlStorageValue;
}

/** The env this object reads: only the optional local demo key. */
interface LedgerEnv {
  DEMO_TENANT_KEY?: string;
}

function keyInfo(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    policy: JSON.parse(row.policy) as Policy,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** Both levels' allow-lists combined: a model must pass each one that is set. */
function intersect(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.filter((m) => b.includes(m));
}

export class TenantLedger extends DurableObject<LedgerEnv> {
  private readonly sql: SqlStorage;
  /** The tenant row, cached: it changes only through this object's own methods. */
  private tenant: TenantRow | null = null;

  constructor(ctx: DurableObjectState, env: LedgerEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql);
      this.tenant = this.readTenant();
      await this.seedDemoTenant();
    });
  }

  /** Clock seam: every time this object records comes from here. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Local runs set `DEMO_TENANT_KEY` (e.g. `tr-demo-local`) so `npm start` has a tenant to call
   * with; deployed Workers never set it. Seeds once, only in the object of that key's tenant.
   */
  private async seedDemoTenant(): Promise<void> {
    const key = this.env.DEMO_TENANT_KEY;
    const tenantId = key ? tenantOfKey(key) : null;
    if (!key || !tenantId || tenantId !== this.ctx.id.name || this.tenant) return;
    this.insertTenant(tenantId, "Demo tenant", { allowedModels: null });
    await this.insertKey(key, "demo key", { allowedModels: null });
  }

  private readTenant(): TenantRow | null {
    return this.sql.exec<TenantRow>("SELECT * FROM tenant LIMIT 1").toArray()[0] ?? null;
  }

  private insertTenant(id: string, name: string, policy: Policy): void {
    this.sql.exec(
      "INSERT INTO tenant (id, name, salt, policy, disabled, created_at) VALUES (?, ?, ?, ?, 0, ?)",
      id,
      name,
      randomHex(16),
      JSON.stringify(policy),
      this.now(),
    );
    this.tenant = this.readTenant();
  }

  private async insertKey(key: string, name: string, policy: Policy): Promise<ApiKeyInfo> {
    const hash = await hashKey(this.tenant!.salt, key);
    const id = `key_${randomHex(8)}`;
    this.sql.exec(
      "INSERT INTO api_keys (id, name, lookup, hash, hint, policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      id,
      name,
      lookupOf(hash),
      hash,
      keyHint(key),
      JSON.stringify(policy),
      this.now(),
    );
    return keyInfo(this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one());
  }

  private tenantInfo(row: TenantRow): Tenant {
    return {
      id: row.id,
      name: row.name,
      policy: JSON.parse(row.policy) as Policy,
      disabled: row.disabled === 1,
      createdAt: row.created_at,
    };
  }

  /** Creates this tenant; `null` when it already exists. */
  async createTenant(init: { id: string; name: string; policy: Policy }): Promise<Tenant | null> {
    // The object is addressed by tenant id; a mismatch would make its keys unreachable.
    if (this.ctx.id.name !== undefined && this.ctx.id.name !== init.id) {
      throw new Error(`ledger ${this.ctx.id.name} cannot hold tenant ${init.id}`);
    }
    if (this.tenant) return null;
    this.insertTenant(init.id, init.name, init.policy);
    return this.tenantInfo(this.tenant!);
  }

  async getTenant(): Promise<Tenant | null> {
    return this.tenant ? this.tenantInfo(this.tenant) : null;
  }

  /** Issues a key. The returned `secret` is the only copy that will ever exist. */
  async createKey(init: { name: string; policy: Policy }): Promise<{ key: ApiKeyInfo; secret: string } | null> {
    if (!this.tenant) return null;
    const secret = generateKey(this.tenant.id);
    const key = await this.insertKey(secret, init.name, init.policy);
    return { key, secret };
  }

  async listKeys(): Promise<ApiKeyInfo[]> {
    return this.sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").toArray().map(keyInfo);
  }

  /** Revokes a key; every request after this call is refused. `null` when there is no such key. */
  async revokeKey(keyId: string): Promise<ApiKeyInfo | null> {
    this.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", this.now(), keyId);
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
    return row ? keyInfo(row) : null;
  }

  /**
   * The request's one round trip on the critical path: is the key valid, and what may it use.
   */
  async admit(request: { key: string; requestId: string }): Promise<AdmitResult> {
    const tenant = this.tenant;
    if (!tenant) return { ok: false, reason: "invalid_key" };
    const hash = await hashKey(tenant.salt, request.key);
    const candidates = this.sql
      .exec<KeyRow>("SELECT * FROM api_keys WHERE lookup = ? AND revoked_at IS NULL", lookupOf(hash))
      .toArray();
    const row = candidates.find((c) => sameBytes(new Uint8Array(c.hash), hash));
    if (!row) return { ok: false, reason: "invalid_key" };
    if (tenant.disabled === 1) return { ok: false, reason: "tenant_disabled" };
    const tenantPolicy = JSON.parse(tenant.policy) as Policy;
    const keyPolicy = JSON.parse(row.policy) as Policy;
    return {
      ok: true,
      tenantId: tenant.id,
      keyId: row.id,
      allowedModels: intersect(tenantPolicy.allowedModels, keyPolicy.allowedModels),
    };
  }

  /** Records a finished request. Exactly once per request id: a repeated call changes nothing and returns false. */
  async settle(record: UsageRecord): Promise<boolean> {
    const cursor = this.sql.exec(
      `INSERT INTO usage (request_id, at, key_id, endpoint, scenario, origin, model, stream, prompt_tokens,
         cached_tokens, completion_tokens, usage_source, status, outcome, latency_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (request_id) DO NOTHING`,
      record.requestId,
      record.at,
      record.keyId,
      record.endpoint,
      record.scenario,
      record.origin,
      record.model,
      record.stream ? 1 : 0,
      record.promptTokens,
      record.cachedTokens,
      record.completionTokens,
      record.usageSource,
      record.status,
      record.outcome,
      record.latencyMs,
    );
    return cursor.rowsWritten > 0;
  }

  /** The usage row of one request, or null. */
  async usageOf(requestId: string): Promise<UsageRecord | null> {
    const row = this.sql
      .exec<Record<string, SqlStorageValue>>("SELECT * FROM usage WHERE request_id = ?", requestId)
      .toArray()[0];
    if (!row) return null;
    return {
      requestId: row.request_id as string,
      at: row.at as number,
      keyId: row.key_id as string,
      endpoint: row.endpoint as UsageRecord["endpoint"],
      scenario: row.scenario as string,
      origin: row.origin as string | null,
      model: row.model as string | null,
      stream: row.stream === 1,
      promptTokens: row.prompt_tokens as number,
      cachedTokens: row.cached_tokens as number,
      completionTokens: row.completion_tokens as number,
      usageSource: row.usage_source as UsageRecord["usageSource"],
      status: row.status as number,
      outcome: row.outcome as string,
      latencyMs: row.latency_ms as number,
    };
  }
}
