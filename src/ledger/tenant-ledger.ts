/**
 * TenantLedger: one Durable Object per tenant, the single source of truth for its keys, budgets,
 * rate limits, reservations and usage (DESIGN §2, §3). Methods are native RPC. Each one's storage
 * work is a synchronous critical section (`transactionSync`): no other request interleaves between
 * reading a budget and reserving against it, which is what makes overspending impossible under any
 * concurrency. Time comes from the caller (`at`), so periods and buckets are testable; only the
 * alarm reads the clock.
 */
import { DurableObject } from "cloudflare:workers";
import { generateKey, hashKey, keyHint, lookupOf, randomHex, sameBytes, tenantOfKey } from "../auth/api-key";
import type { Boundary } from "../routing/boundary";
import { PRIORITY_CLASSES, type PriorityClass } from "../routing/priority";
import { periodEnd, periodKey } from "../time/period";
import { decideBudgets, type BudgetState } from "./admission";
import { bucketsFor, RateBuckets, type BucketRef } from "./rate-limits";
import { migrate } from "./schema";
import {
  DEFAULT_TENANT_LIMITS,
  NO_LIMITS,
  OPEN_POLICY,
  type AdmitRequest,
  type AdmitResult,
  type ApiKeyInfo,
  type Budget,
  type BudgetMetric,
  type BudgetPeriod,
  type BudgetStatus,
  type Policy,
  type RateLimits,
  type SettleRequest,
  type Tenant,
  type UsageGroup,
  type UsagePage,
  type UsageQuery,
  type UsageRecord,
  type UsageTotals,
} from "./types";
import { insertUsage, pruneUsage, queryUsage, usageOf, usageTotals } from "./usage-log";

type Row = Record<string, SqlStorageValue>;

interface TenantRow extends Row {
  id: string;
  name: string;
  salt: string;
  policy: string;
  limits: string;
  time_zone: string;
  retention_days: number;
  disabled: number;
  created_at: number;
}

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
interface CachedKey {
  id: string;
  hash: Uint8Array;
  policy: Partial<Policy>;
  limits: RateLimits;
}

interface BudgetRow extends Row {
  id: string;
  key_id: string | null;
  metric: string;
  period: string;
  hard_limit: number;
  soft_limit: number | null;
}

interface ReservationRow extends Row {
  request_id: string;
  key_id: string;
  at: number;
  expires_at: number;
  cost_micros: number;
  tokens: number;
  prompt_tokens: number;
  charges: string;
  facts: string;
}

/** A budget row a reservation holds, and how much of it. */
interface Charge {
  budgetId: string;
  periodKey: string;
  metric: BudgetMetric;
  amount: number;
}

/** What an expired reservation's usage row needs beyond the reservation itself. */
interface ReservationFacts {
  endpoint: UsageRecord["endpoint"];
  scenario: string;
  stream: boolean;
}

export interface TenantInit {
  id: string;
  name: string;
  policy: Policy;
  limits?: RateLimits;
  timeZone?: string;
  retentionDays?: number;
}

export interface TenantPatch {
  name?: string;
  policy?: Policy;
  timeZone?: string;
  retentionDays?: number;
  disabled?: boolean;
}

export interface BudgetInit {
  keyId: string | null;
  metric: BudgetMetric;
  period: BudgetPeriod;
  limit: number;
  softLimit: number | null;
}

/** The env this object reads: only the optional local demo key. */
interface LedgerEnv {
  DEMO_TENANT_KEY?: string;
}

const DAY_MS = 86_400_000;
const CLEANUP_EVERY_MS = 3_600_000;
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

function budgetOf(row: BudgetRow): Budget {
  return {
    id: row.id,
    keyId: row.key_id,
    metric: row.metric as BudgetMetric,
    period: row.period as BudgetPeriod,
    limit: row.hard_limit,
    softLimit: row.soft_limit,
  };
}

/** The lower of two classes (batch < standard < interactive). */
function lowerPriority(a: PriorityClass, b: PriorityClass): PriorityClass {
  return PRIORITY_CLASSES.indexOf(a) > PRIORITY_CLASSES.indexOf(b) ? a : b;
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
  private tenantLimits: RateLimits = NO_LIMITS;
  private tenantPolicy: Policy = OPEN_POLICY;
  /** When the alarm is set for (epoch ms), mirrored so admissions need not read it. */
  private alarmAt: number | null = null;
  private readonly buckets = new RateBuckets();

  // Memory mirrors of what admission reads on every request. SQLite stays the truth: each is
  // written through, or dropped when its rows change, so a restart rebuilds them from storage.
  /** Live keys by lookup prefix, with their JSON already parsed. */
  private readonly keyCache = new Map<string, CachedKey[]>();
  /**
   * Live keys by the key as presented, once its hash has matched: saves the SHA-256 on every
   * admission after the first. Emptied with `keyCache` (revocation, limits, new keys), so a
   * revoked key is refused on its very next request. Only verified keys enter, so guesses cannot
   * fill it; the cap bounds a tenant with very many keys.
   */
  private readonly verifiedKeys = new Map<string, CachedKey>();
  private budgetCache: Budget[] | null = null;
  private readonly budgetUsageCache = new Map<string, { settled: number; reserved: number }>();
  /** Open reservations, per key and in all: the concurrency limits' counts. */
  private readonly inFlightByKey = new Map<string, number>();
  private inFlightTotal = 0;
  /** The current period keys, valid for [from, until). */
  private readonly periodCache = new Map<BudgetPeriod, { key: string; from: number; until: number }>();

  constructor(ctx: DurableObjectState, env: LedgerEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql);
      this.loadTenant();
      for (const r of this.sql.exec<{ key_id: string; n: number }>("SELECT key_id, COUNT(*) AS n FROM reservations GROUP BY key_id")) {
        this.inFlightByKey.set(r.key_id, r.n);
        this.inFlightTotal += r.n;
      }
      this.alarmAt = await ctx.storage.getAlarm();
      await this.seedDemoTenant();
    });
  }

  // ── tenant and keys ──────────────────────────────────────────────────────────────────────

  /**
   * Local runs set `DEMO_TENANT_KEY` (e.g. `tr-demo-local`) so `npm start` has a tenant to call
   * with; deployed Workers never set it. Seeds once, only in the object of that key's tenant.
   */
  private async seedDemoTenant(): Promise<void> {
    const key = this.env.DEMO_TENANT_KEY;
    const tenantId = key ? tenantOfKey(key) : null;
    if (!key || !tenantId || tenantId !== this.ctx.id.name || this.tenant) return;
    this.insertTenant({ id: tenantId, name: "Demo tenant", policy: OPEN_POLICY }, Date.now());
    await this.insertKey(key, "demo key", OPEN_POLICY, Date.now());
  }

  private loadTenant(): void {
    this.periodCache.clear();
    this.tenant = this.sql.exec<TenantRow>("SELECT * FROM tenant LIMIT 1").toArray()[0] ?? null;
    if (this.tenant) {
      this.tenantLimits = JSON.parse(this.tenant.limits) as RateLimits;
      this.tenantPolicy = JSON.parse(this.tenant.policy) as Policy;
    }
  }

  private insertTenant(init: TenantInit, at: number): void {
    this.sql.exec(
      `INSERT INTO tenant (id, name, salt, policy, limits, time_zone, retention_days, disabled, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`,
      init.id,
      init.name,
      randomHex(16),
      JSON.stringify(init.policy),
      JSON.stringify(init.limits ?? DEFAULT_TENANT_LIMITS),
      init.timeZone ?? "UTC",
      init.retentionDays ?? 90,
      at,
    );
    this.loadTenant();
  }

  private async insertKey(key: string, name: string, policy: Policy, at: number, limits: RateLimits = NO_LIMITS): Promise<ApiKeyInfo> {
    const hash = await hashKey(this.tenant!.salt, key);
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
  private forgetKeys(): void {
    this.keyCache.clear();
    this.verifiedKeys.clear();
  }

  private tenantInfo(): Tenant | null {
    const row = this.tenant;
    if (!row) return null;
    return {
      id: row.id,
      name: row.name,
      policy: this.tenantPolicy,
      limits: this.tenantLimits,
      timeZone: row.time_zone,
      retentionDays: row.retention_days,
      disabled: row.disabled === 1,
      createdAt: row.created_at,
    };
  }

  /** Creates this tenant; `null` when it already exists. */
  async createTenant(init: TenantInit): Promise<Tenant | null> {
    // The object is addressed by tenant id; a mismatch would make its keys unreachable.
    if (this.ctx.id.name !== undefined && this.ctx.id.name !== init.id) {
      throw new Error(`ledger ${this.ctx.id.name} cannot hold tenant ${init.id}`);
    }
    if (this.tenant) return null;
    this.insertTenant(init, Date.now());
    return this.tenantInfo();
  }

  async getTenant(): Promise<Tenant | null> {
    return this.tenantInfo();
  }

  /** Changes the tenant's settings; `null` when there is no tenant. */
  async updateTenant(patch: TenantPatch): Promise<Tenant | null> {
    if (!this.tenant) return null;
    const t = this.tenant;
    this.sql.exec(
      "UPDATE tenant SET name = ?, policy = ?, time_zone = ?, retention_days = ?, disabled = ?",
      patch.name ?? t.name,
      patch.policy ? JSON.stringify(patch.policy) : t.policy,
      patch.timeZone ?? t.time_zone,
      patch.retentionDays ?? t.retention_days,
      patch.disabled === undefined ? t.disabled : patch.disabled ? 1 : 0,
    );
    this.loadTenant();
    return this.tenantInfo();
  }

  async setTenantLimits(limits: RateLimits): Promise<Tenant | null> {
    if (!this.tenant) return null;
    this.sql.exec("UPDATE tenant SET limits = ?", JSON.stringify(limits));
    this.loadTenant();
    return this.tenantInfo();
  }

  /** Issues a key. The returned `secret` is the only copy that will ever exist. */
  async createKey(init: { name: string; policy: Policy; limits?: RateLimits }): Promise<{ key: ApiKeyInfo; secret: string } | null> {
    if (!this.tenant) return null;
    const secret = generateKey(this.tenant.id);
    const key = await this.insertKey(secret, init.name, init.policy, Date.now(), init.limits ?? NO_LIMITS);
    return { key, secret };
  }

  async listKeys(): Promise<ApiKeyInfo[]> {
    return this.sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").toArray().map(keyInfo);
  }

  async getKey(keyId: string): Promise<ApiKeyInfo | null> {
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
    return row ? keyInfo(row) : null;
  }

  /** Revokes a key; every request after this call is refused. `null` when there is no such key. */
  async revokeKey(keyId: string): Promise<ApiKeyInfo | null> {
    this.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", Date.now(), keyId);
    this.forgetKeys();
    return this.getKey(keyId);
  }

  async setKeyLimits(keyId: string, limits: RateLimits): Promise<ApiKeyInfo | null> {
    this.sql.exec("UPDATE api_keys SET limits = ? WHERE id = ?", JSON.stringify(limits), keyId);
    this.forgetKeys();
    return this.getKey(keyId);
  }

  // ── budgets ──────────────────────────────────────────────────────────────────────────────

  /** Every budget, or those that bind one key (the tenant's and its own). */
  private budgetList(keyId?: string): Budget[] {
    this.budgetCache ??= this.sql.exec<BudgetRow>("SELECT * FROM budgets ORDER BY created_at, id").toArray().map(budgetOf);
    return keyId === undefined ? this.budgetCache : this.budgetCache.filter((b) => b.keyId === null || b.keyId === keyId);
  }

  /** Budgets or their usage rows changed outside admission and settlement: read them again. */
  private budgetsChanged(): void {
    this.budgetCache = null;
    this.budgetUsageCache.clear();
  }

  /** The period containing `at`, in the tenant's zone; computed once per period. */
  private currentPeriod(period: BudgetPeriod, at: number): { key: string; from: number; until: number } {
    const cached = this.periodCache.get(period);
    if (cached && at >= cached.from && at < cached.until) return cached;
    const fresh = { key: periodKey(period, at, this.tenant!.time_zone), from: at, until: periodEnd(period, at, this.tenant!.time_zone) ?? Infinity };
    this.periodCache.set(period, fresh);
    return fresh;
  }

  /** The key of the period containing `at`, in the tenant's zone. */
  private periodOf(period: BudgetPeriod, at: number): string {
    return this.currentPeriod(period, at).key;
  }

  /** A budget's settled and reserved amounts in the period that contains `at`. */
  private budgetState(budget: Budget, at: number): BudgetState & { periodKey: string } {
    const key = this.periodOf(budget.period, at);
    const cacheKey = `${budget.id}|${key}`;
    let usage = this.budgetUsageCache.get(cacheKey);
    if (!usage) {
      const row = this.sql.exec<Row>("SELECT settled, reserved FROM budget_usage WHERE budget_id = ? AND period_key = ?", budget.id, key).toArray()[0];
      usage = { settled: (row?.settled as number) ?? 0, reserved: (row?.reserved as number) ?? 0 };
      this.budgetUsageCache.set(cacheKey, usage);
    }
    return { budget, periodKey: key, settled: usage.settled, reserved: usage.reserved };
  }

  private budgetStatus(state: BudgetState & { periodKey: string }, at: number): BudgetStatus {
    const { budget, settled, reserved } = state;
    return {
      ...budget,
      periodKey: state.periodKey,
      // From the period cache: `periodEnd` costs several Intl calls, and admission reports it every time.
      resetsAt: budget.period === "total" ? null : this.currentPeriod(budget.period, at).until,
      settled,
      reserved,
      remaining: Math.max(0, budget.limit - settled - reserved),
      softLimitReached: budget.softLimit !== null && settled + reserved >= budget.softLimit,
    };
  }

  /** Every budget (or those that apply to one key) with its current period's state. */
  async listBudgets(at: number, keyId?: string): Promise<BudgetStatus[]> {
    if (!this.tenant) return [];
    return this.budgetList(keyId).map((budget) => this.budgetStatus(this.budgetState(budget, at), at));
  }

  /** Adds a budget; `null` when the tenant or the key does not exist. */
  async createBudget(init: BudgetInit, at: number): Promise<BudgetStatus | null> {
    if (!this.tenant) return null;
    if (init.keyId !== null && !(await this.getKey(init.keyId))) return null;
    const id = `bud_${randomHex(8)}`;
    this.budgetsChanged();
    this.sql.exec(
      "INSERT INTO budgets (id, key_id, metric, period, hard_limit, soft_limit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      id,
      init.keyId,
      init.metric,
      init.period,
      init.limit,
      init.softLimit,
      at,
    );
    return (await this.listBudgets(at)).find((b) => b.id === id) ?? null;
  }

  /** Changes a budget's limits; what was spent stays. */
  async updateBudget(id: string, limits: { limit: number; softLimit: number | null }, at: number): Promise<BudgetStatus | null> {
    const changed = this.sql.exec("UPDATE budgets SET hard_limit = ?, soft_limit = ? WHERE id = ?", limits.limit, limits.softLimit, id).rowsWritten;
    this.budgetsChanged();
    if (changed === 0) return null;
    return (await this.listBudgets(at)).find((b) => b.id === id) ?? null;
  }

  async deleteBudget(id: string): Promise<boolean> {
    this.budgetsChanged();
    return this.ctx.storage.transactionSync(() => {
      const deleted = this.sql.exec("DELETE FROM budgets WHERE id = ?", id).rowsWritten > 0;
      this.sql.exec("DELETE FROM budget_usage WHERE budget_id = ?", id);
      return deleted;
    });
  }

  /**
   * Starts the current period of a budget afresh: what was settled in it is forgotten (the usage
   * log keeps it); open reservations still hold their share.
   */
  async resetBudget(id: string, at: number): Promise<BudgetStatus | null> {
    const row = this.sql.exec<BudgetRow>("SELECT * FROM budgets WHERE id = ?", id).toArray()[0];
    if (!row) return null;
    const key = periodKey(row.period as BudgetPeriod, at, this.tenant!.time_zone);
    this.sql.exec("UPDATE budget_usage SET settled = 0, peak = reserved WHERE budget_id = ? AND period_key = ?", id, key);
    this.budgetsChanged();
    return (await this.listBudgets(at)).find((b) => b.id === id) ?? null;
  }

  // ── the request path ─────────────────────────────────────────────────────────────────────

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

  private bucketsOfKey(keyId: string): BucketRef[] {
    for (const rows of this.keyCache.values()) for (const k of rows) if (k.id === keyId) return bucketsFor(keyId, this.tenantLimits, k.limits);
    const row = this.sql.exec<KeyRow>("SELECT limits FROM api_keys WHERE id = ?", keyId).toArray()[0];
    return bucketsFor(keyId, this.tenantLimits, row ? (JSON.parse(row.limits) as RateLimits) : NO_LIMITS);
  }

  /**
   * The request's one round trip on the critical path: is the key valid, may it use the model,
   * do its rate limits and budgets admit it, and if so reserve its worst case.
   */
  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const tenant = this.tenant;
    if (!tenant) return { ok: false, reason: "invalid_key" };
    // A key verified before needs no hashing; otherwise hashing is the only await, and it comes
    // before the critical section, which is synchronous (and re-reads the key after the await).
    const verified = this.verifiedKeys.get(request.key);
    const hash = verified ? null : await hashKey(tenant.salt, request.key);
    const result = this.ctx.storage.transactionSync(() => this.admitSync(request, verified ?? this.verifiedKey(request.key, hash!)));
    if (result.ok && request.reserve) this.armAlarm(request.at + request.reserve.holdMs);
    return result;
  }

  /** The live key a presented key hashes to, remembered as verified when there is one. */
  private verifiedKey(key: string, hash: Uint8Array): CachedKey | undefined {
    const row = this.liveKey(hash);
    if (row) {
      if (this.verifiedKeys.size >= MAX_VERIFIED_KEYS) this.verifiedKeys.delete(this.verifiedKeys.keys().next().value!);
      this.verifiedKeys.set(key, row);
    }
    return row;
  }

  private admitSync(request: AdmitRequest, row: CachedKey | undefined): AdmitResult {
    const tenant = this.tenant!;
    if (!row) return { ok: false, reason: "invalid_key" };
    if (tenant.disabled === 1) return { ok: false, reason: "tenant_disabled" };
    const keyPolicy = row.policy;
    const allowedModels = intersect(this.tenantPolicy.allowedModels, keyPolicy.allowedModels ?? null);
    if (request.model !== null && allowedModels !== null && !allowedModels.includes(request.model)) {
      return { ok: false, reason: "model_not_allowed" };
    }
    const at = request.at;
    const keyLimits = row.limits;
    const refs = bucketsFor(row.id, this.tenantLimits, keyLimits);
    const base = {
      ok: true as const,
      tenantId: tenant.id,
      keyId: row.id,
      allowedModels,
      boundaries: [this.tenantPolicy.boundary, keyPolicy.boundary].filter((b): b is Boundary => b !== null && b !== undefined),
      maxPriority: lowerPriority(this.tenantPolicy.maxPriority ?? "interactive", keyPolicy.maxPriority ?? "interactive"),
      debug: this.tenantPolicy.debug === true || keyPolicy.debug === true,
    };
    const reserve = request.reserve;
    if (!reserve) {
      return { ...base, outputCap: null, reservedMicros: 0, reservedTokens: 0, softLimited: [], budgetPressure: 0, rateLimit: this.buckets.peek(refs, at) };
    }

    const tooMany =
      (this.tenantLimits.concurrency !== null && this.inFlightTotal >= this.tenantLimits.concurrency) ||
      (keyLimits.concurrency !== null && (this.inFlightByKey.get(row.id) ?? 0) >= keyLimits.concurrency);
    if (tooMany) {
      return { ok: false, reason: "rate_limited", dimension: "concurrency", retryAfterMs: 1000, rateLimit: this.buckets.peek(refs, at) };
    }

    const states = this.budgetList(row.id).map((b) => this.budgetState(b, at));
    const decision = decideBudgets(states, reserve);
    if (decision.kind === "refuse") {
      const state = states.find((s) => s.budget.id === decision.budget.budget.id)!;
      return { ok: false, reason: "insufficient_quota", budget: this.budgetStatus(state, at), rateLimit: this.buckets.peek(refs, at) };
    }

    const rate = this.buckets.take(refs, decision.tokens, at);
    if (!rate.ok) {
      return { ok: false, reason: "rate_limited", dimension: rate.metric, retryAfterMs: rate.retryAfterMs, rateLimit: rate.state };
    }
    rate.commit();

    const charges: Charge[] = states.map((s) => ({
      budgetId: s.budget.id,
      periodKey: s.periodKey,
      metric: s.budget.metric,
      amount: s.budget.metric === "cost" ? decision.costMicros : decision.tokens,
    }));
    for (const c of charges) {
      const cached = this.budgetUsageCache.get(`${c.budgetId}|${c.periodKey}`);
      if (cached) cached.reserved += c.amount;
      this.sql.exec(
        `INSERT INTO budget_usage (budget_id, period_key, settled, reserved, peak) VALUES (?, ?, 0, ?, ?)
         ON CONFLICT (budget_id, period_key) DO UPDATE SET reserved = reserved + excluded.reserved,
           peak = MAX(peak, settled + reserved + excluded.reserved)`,
        c.budgetId,
        c.periodKey,
        c.amount,
        c.amount,
      );
    }
    const facts: ReservationFacts = { endpoint: reserve.endpoint, scenario: reserve.scenario, stream: reserve.stream };
    this.sql.exec(
      `INSERT INTO reservations (request_id, key_id, at, expires_at, cost_micros, tokens, prompt_tokens, charges, facts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      request.requestId,
      row.id,
      at,
      at + reserve.holdMs,
      decision.costMicros,
      decision.tokens,
      reserve.promptTokensUpper,
      JSON.stringify(charges),
      JSON.stringify(facts),
    );
    this.inFlightByKey.set(row.id, (this.inFlightByKey.get(row.id) ?? 0) + 1);
    this.inFlightTotal++;

    const after = states.map((s) => {
      const charge = charges.find((c) => c.budgetId === s.budget.id)!;
      return this.budgetStatus({ ...s, reserved: s.reserved + charge.amount }, at);
    });
    return {
      ...base,
      outputCap: decision.outputCap,
      reservedMicros: decision.costMicros,
      reservedTokens: decision.tokens,
      softLimited: after.filter((b) => b.softLimitReached),
      budgetPressure: after.reduce((p, b) => Math.max(p, b.limit > 0 ? Math.min(1, (b.settled + b.reserved) / b.limit) : 1), 0),
      rateLimit: rate.state,
    };
  }

  /**
   * Moves a reservation's share of each budget from reserved to settled, at `actual` per metric.
   * `deleted` says the caller already removed the reservation's row (settle's `DELETE … RETURNING`).
   */
  private release(reservation: ReservationRow, actual: Record<BudgetMetric, number>, deleted = false): void {
    for (const c of JSON.parse(reservation.charges) as Charge[]) {
      const cached = this.budgetUsageCache.get(`${c.budgetId}|${c.periodKey}`);
      if (cached) {
        cached.reserved -= c.amount;
        cached.settled += actual[c.metric];
      }
      this.sql.exec(
        `UPDATE budget_usage SET reserved = reserved - ?, settled = settled + ?, peak = MAX(peak, settled + ? + reserved - ?)
         WHERE budget_id = ? AND period_key = ?`,
        c.amount,
        actual[c.metric],
        actual[c.metric],
        c.amount,
        c.budgetId,
        c.periodKey,
      );
    }
    if (!deleted) this.sql.exec("DELETE FROM reservations WHERE request_id = ?", reservation.request_id);
    const open = (this.inFlightByKey.get(reservation.key_id) ?? 1) - 1;
    if (open > 0) this.inFlightByKey.set(reservation.key_id, open);
    else this.inFlightByKey.delete(reservation.key_id);
    this.inFlightTotal = Math.max(0, this.inFlightTotal - 1);
  }

  /**
   * Replaces a request's reservation with what it really cost and records its usage. Exactly once
   * per request id: a repeated call, or one after the reservation expired, changes nothing and
   * returns false.
   */
  async settle(request: SettleRequest): Promise<boolean> {
    return this.ctx.storage.transactionSync(() => {
      // One statement finds and removes the reservation (it was a SELECT and a DELETE): the
      // transaction rolls the removal back should anything below throw.
      const reservation = this.sql.exec<ReservationRow>("DELETE FROM reservations WHERE request_id = ? RETURNING *", request.requestId).toArray()[0];
      const day = this.tenant ? this.periodOf("day", request.at) : periodKey("day", request.at, "UTC");
      if (!reservation) return insertUsage(this.sql, { ...request, reservedMicros: 0 }, day);
      const tokens = request.promptTokens + request.completionTokens;
      this.release(reservation, { cost: request.costMicros, tokens }, true);
      this.buckets.refund(this.bucketsOfKey(reservation.key_id), reservation.tokens - tokens, Date.now());
      return insertUsage(this.sql, { ...request, reservedMicros: reservation.cost_micros }, day);
    });
  }

  // ── expiry ───────────────────────────────────────────────────────────────────────────────

  private armAlarm(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * Charges every reservation past its expiry at its reserved amount (its isolate died before
   * settling, so the worst case is all we know), prunes old usage rows, and re-arms for the next
   * open reservation.
   */
  override async alarm(): Promise<void> {
    // The alarm for T settles everything due by T, even when it runs a little early (a test's
    // `runDurableObjectAlarm`) or late (a busy runtime).
    const now = Math.max(Date.now(), this.alarmAt ?? 0);
    this.alarmAt = null;
    this.ctx.storage.transactionSync(() => {
      const due = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE expires_at <= ? ORDER BY expires_at", now).toArray();
      const timeZone = this.tenant?.time_zone ?? "UTC";
      for (const r of due) {
        this.release(r, { cost: r.cost_micros, tokens: r.tokens });
        const facts = JSON.parse(r.facts) as ReservationFacts;
        insertUsage(
          this.sql,
          {
            requestId: r.request_id,
            at: r.at,
            keyId: r.key_id,
            ...facts,
            origin: null,
            model: null,
            promptTokens: r.prompt_tokens,
            cachedTokens: 0,
            cacheWriteTokens: 0,
            completionTokens: r.tokens - r.prompt_tokens,
            costMicros: r.cost_micros,
            reservedMicros: r.cost_micros,
            usageSource: "reserved",
            status: 0,
            outcome: "expired",
            latencyMs: Math.max(0, now - r.at),
          },
          periodKey("day", r.at, timeZone),
        );
      }
      const last = Number(this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'last_cleanup'").toArray()[0]?.value ?? 0);
      if (this.tenant && now - last >= CLEANUP_EVERY_MS) {
        pruneUsage(this.sql, now - this.tenant.retention_days * DAY_MS);
        this.sql.exec(
          "INSERT INTO meta (key, value) VALUES ('last_cleanup', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          String(now),
        );
      }
    });
    const next = this.sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM reservations").one().t;
    if (next !== null) this.armAlarm(next);
  }

  // ── usage ────────────────────────────────────────────────────────────────────────────────

  /** The usage row of one request, or null. */
  async usageOf(requestId: string): Promise<UsageRecord | null> {
    return usageOf(this.sql, requestId);
  }

  /** A page of usage rows, newest first; null when the cursor is not valid. */
  async queryUsage(query: UsageQuery): Promise<UsagePage | null> {
    return queryUsage(this.sql, query);
  }

  async usageTotals(query: UsageQuery, groupBy: UsageGroup): Promise<UsageTotals[]> {
    return usageTotals(this.sql, query, groupBy);
  }
}
