/**
 * TenantLedger: one Durable Object per tenant, the single source of truth for its keys, budgets,
 * rate limits, reservations and usage (DESIGN §2, §3). Methods are native RPC. Each one's storage
 * work is a synchronous critical section (`transactionSync`): no other request interleaves between
 * reading a budget and reserving against it, which is what makes overspending impossible under any
 * concurrency. Time that decides anything (budget periods, rate buckets, reservation expiry)
 * comes from the caller (`at`), so it is testable; the clock is read only for record-keeping
 * (creation and revocation times, bucket refunds at settlement) and by the alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { PrefixIndex, type PrefixUpdate } from "../affinity/prefix-index";
import { hashKey, randomHex, tenantOfKey } from "../auth/api-key";
import type { Boundary } from "../routing/boundary";
import { PRIORITY_CLASSES, type PriorityClass } from "../routing/priority";
import { decideBudgets, type BudgetState } from "./admission";
import { leaseSlices } from "./lease-slices";
import { BudgetBook, Releases, type BudgetInit, type Charge } from "./budget-book";
import { KeyRing, type CachedKey, type KeyPatch } from "./key-ring";
import { bucketsFor, RateBuckets } from "./rate-limits";
import { migrate } from "./schema";
import {
  DEFAULT_TENANT_LIMITS,
  NO_LIMITS,
  OPEN_POLICY,
  type AdmitRequest,
  type AdmitResult,
  type LeaseGrant,
  type LeaseReport,
  type LeaseResult,
  type LeaseWant,
  type LineAdmitRequest,
  type LineAdmitResult,
  type ApiKeyInfo,
  type BudgetMetric,
  type BudgetStatus,
  type Feedback,
  type FeedbackResult,
  type Policy,
  type RateLimits,
  type SettleRequest,
  type Tenant,
  type UsageGroup,
  type UsageGrouping,
  type UsagePage,
  type UsageQuery,
  type UsageRecord,
  type UsageTotals,
} from "./types";
import { NO_TRAFFIC, scenarioTraffic, type ScenarioTraffic } from "../report/traffic";
import { insertUsage, pruneUsage, queryUsage, recordFeedback, usageOf, usageTotals } from "./usage-log";
import { deleteResponse, insertResponse, nextResponseExpiry, pruneResponses, responseBody, responseChain, type ResponseChain, type ResponseRow } from "./response-store";

type Row = Record<string, SqlStorageValue>;

interface TenantRow extends Row {
  id: string;
  name: string;
  salt: string;
  policy: string;
  limits: string;
  time_zone: string;
  retention_days: number;
  response_retention_days: number;
  disabled: number;
  disabled_at: number | null;
  created_at: number;
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

interface LeaseRow extends Row {
  lease_id: string;
  key_id: string;
  holder: string;
  granted_at: number;
  admit_until: number;
  charge_at: number;
  charges: string;
  requests: number | null;
  rate_tokens: number | null;
  used_requests: number;
  used_tokens: number;
  slots: number | null;
}

/** What an expired reservation's usage row needs beyond the reservation itself. */
interface ReservationFacts {
  endpoint: UsageRecord["endpoint"];
  scenario: string;
  stream: boolean;
  /** The output cap admission granted (absent in rows written before it was kept): a batch line re-admitted after a crash gets the same. */
  outputCap?: number | null;
}

export interface TenantInit {
  id: string;
  name: string;
  policy: Policy;
  limits?: RateLimits;
  timeZone?: string;
  retentionDays?: number;
  responseRetentionDays?: number;
}

export interface TenantPatch {
  name?: string;
  policy?: Policy;
  timeZone?: string;
  retentionDays?: number;
  responseRetentionDays?: number;
  disabled?: boolean;
}

export type { BudgetInit };

/** The env this object reads: only the optional local demo key. */
interface LedgerEnv {
  DEMO_TENANT_KEY?: string;
}

const DAY_MS = 86_400_000;
const CLEANUP_EVERY_MS = 3_600_000;
/** How long stored responses are kept unless the tenant says otherwise. */
export const DEFAULT_RESPONSE_RETENTION_DAYS = 30;

/** The lower of two classes (batch < standard < interactive). */
function lowerPriority(a: PriorityClass, b: PriorityClass): PriorityClass {
  return PRIORITY_CLASSES.indexOf(a) > PRIORITY_CLASSES.indexOf(b) ? a : b;
}

/** Whether a presented secret is live at `at` (the request's time): found, and not expired. */
function liveAt(row: CachedKey | undefined, at: number): row is CachedKey {
  return row !== undefined && (row.expiresAt === null || at < row.expiresAt);
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
  private buckets = new RateBuckets();

  // Both keep memory mirrors of what admission reads on every request. SQLite stays the truth:
  // each mirror is written through, or dropped when its rows change, so a restart rebuilds them.
  /** The api_keys rows and the caches that verify a presented key. */
  private keys: KeyRing;
  /** The budgets, their usage per period, and the charges reservations hold. */
  private budgets: BudgetBook;
  /** Open reservations, per key and in all: the concurrency limits' counts. */
  private readonly inFlightByKey = new Map<string, number>();
  private inFlightTotal = 0;
  /** The prefix-affinity index (memory, mirrored in SQLite); built once the schema exists. */
  private prefixes!: PrefixIndex;
  /** Whether the schema exists here: only once a tenant is created (see the constructor). */
  private opened = false;

  /**
   * A ledger is addressed by the tenant id a key names, so a made-up key reaches the ledger of a
   * tenant that does not exist (issue #12: 1,000 forged keys left 1,000 databases behind). Such a
   * ledger writes nothing: the schema is created only with the tenant (`createTenant`, or the
   * local demo's seed), and until then every method answers "no such tenant" from memory.
   */
  constructor(ctx: DurableObjectState, env: LedgerEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.keys = new KeyRing(this.sql);
    this.budgets = new BudgetBook(this.sql);
    void ctx.blockConcurrencyWhile(async () => {
      const hasSchema = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
      if (hasSchema) await this.open();
      await this.seedDemoTenant();
    });
  }

  /** Creates or migrates the schema and loads the tenant, its open reservations and its alarm. */
  private async open(): Promise<void> {
    if (this.opened) return;
    migrate(this.sql);
    this.opened = true;
    this.prefixes = new PrefixIndex(this.sql);
    this.loadTenant();
    for (const r of this.sql.exec<{ key_id: string; n: number }>("SELECT key_id, COUNT(*) AS n FROM reservations GROUP BY key_id")) this.holdSlots(r.key_id, r.n);
    // A lease's concurrency slots count as requests in flight until it is closed or charged.
    for (const r of this.sql.exec<{ key_id: string; n: number }>("SELECT key_id, SUM(slots) AS n FROM leases WHERE slots IS NOT NULL GROUP BY key_id")) this.holdSlots(r.key_id, r.n);
    this.alarmAt = await this.ctx.storage.getAlarm();
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
    await this.open();
    this.insertTenant({ id: tenantId, name: "Demo tenant", policy: OPEN_POLICY }, Date.now());
    await this.keys.insert(this.tenant!.salt, key, "demo key", OPEN_POLICY, Date.now());
  }

  private loadTenant(): void {
    this.tenant = this.sql.exec<TenantRow>("SELECT * FROM tenant LIMIT 1").toArray()[0] ?? null;
    // Budget periods are cut at the zone's midnights: a changed zone invalidates the cached ones.
    this.budgets.useTimeZone(this.tenant?.time_zone ?? "UTC");
    if (this.tenant) {
      this.tenantLimits = JSON.parse(this.tenant.limits) as RateLimits;
      this.tenantPolicy = JSON.parse(this.tenant.policy) as Policy;
    }
  }

  private insertTenant(init: TenantInit, at: number): void {
    this.sql.exec(
      `INSERT INTO tenant (id, name, salt, policy, limits, time_zone, retention_days, response_retention_days, disabled, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
      init.id,
      init.name,
      randomHex(16),
      JSON.stringify(init.policy),
      JSON.stringify(init.limits ?? DEFAULT_TENANT_LIMITS),
      init.timeZone ?? "UTC",
      init.retentionDays ?? 90,
      init.responseRetentionDays ?? DEFAULT_RESPONSE_RETENTION_DAYS,
      at,
    );
    this.loadTenant();
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
      responseRetentionDays: row.response_retention_days,
      disabled: row.disabled === 1,
      disabledAt: row.disabled_at,
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
    await this.open();
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
    const disabled = patch.disabled === undefined ? t.disabled : patch.disabled ? 1 : 0;
    this.sql.exec(
      "UPDATE tenant SET name = ?, policy = ?, time_zone = ?, retention_days = ?, response_retention_days = ?, disabled = ?, disabled_at = ?",
      patch.name ?? t.name,
      patch.policy ? JSON.stringify(patch.policy) : t.policy,
      patch.timeZone ?? t.time_zone,
      patch.retentionDays ?? t.retention_days,
      patch.responseRetentionDays ?? t.response_retention_days,
      disabled,
      // Disabling again keeps the first time: the leases it stopped ended one window after it.
      disabled === 1 && t.disabled === 0 ? Date.now() : t.disabled_at,
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

  /**
   * Stores a key the Worker generated (it holds the signing secret; this object never does): only
   * its salted hash is kept, so the caller's copy is the only one that will ever exist. `null` when
   * there is no tenant; throws when the key names another tenant.
   */
  async createKey(init: { name: string; policy: Policy; limits?: RateLimits; expiresAt?: number | null; secret: string }): Promise<ApiKeyInfo | null> {
    if (!this.tenant) return null;
    this.checkKeyTenant(init.secret);
    return this.keys.insert(this.tenant.salt, init.secret, init.name, init.policy, Date.now(), init.limits ?? NO_LIMITS, init.expiresAt ?? null);
  }

  private checkKeyTenant(secret: string): void {
    if (tenantOfKey(secret) !== this.tenant!.id) throw new Error(`a key of tenant ${tenantOfKey(secret)} cannot be stored in ledger ${this.tenant!.id}`);
  }

  async listKeys(): Promise<ApiKeyInfo[]> {
    return this.tenant ? this.keys.list(Date.now()) : [];
  }

  async getKey(keyId: string): Promise<ApiKeyInfo | null> {
    return this.tenant ? this.keys.keyInfo(keyId, Date.now()) : null;
  }

  /** Changes a key's name, policy or expiry; `null` when there is no such key. */
  async updateKey(keyId: string, patch: KeyPatch): Promise<ApiKeyInfo | null> {
    return this.tenant ? this.keys.update(keyId, patch, Date.now()) : null;
  }

  /**
   * Gives a key a new secret the Worker generated (see `createKey`): the same key, its policy,
   * limits, expiry, budgets and usage kept; the secret it replaces is accepted until `at + graceMs`.
   * `null` when there is no such key; "revoked" or "expired" when it cannot be rotated.
   */
  async rotateKey(keyId: string, secret: string, at: number, graceMs: number): Promise<ApiKeyInfo | "revoked" | "expired" | null> {
    if (!this.tenant) return null;
    this.checkKeyTenant(secret);
    return this.keys.rotate(this.tenant.salt, keyId, secret, at, graceMs);
  }

  /** Revokes a key; every request after this call is refused. `null` when there is no such key. */
  async revokeKey(keyId: string): Promise<ApiKeyInfo | null> {
    return this.tenant ? this.keys.revoke(keyId, Date.now()) : null;
  }

  async setKeyLimits(keyId: string, limits: RateLimits): Promise<ApiKeyInfo | null> {
    return this.tenant ? this.keys.setLimits(keyId, limits, Date.now()) : null;
  }

  /**
   * Deletes the tenant and everything it has (issue #16): every table (keys, budgets, usage,
   * reservations, leases, the prefix index), the alarm, and this object's memory of them. The
   * object is then as one never created: every method answers "no such tenant" and writes nothing,
   * so leases still held by isolates report into nothing and their keys are refused. False when
   * there was nothing to delete.
   */
  async deleteTenant(): Promise<boolean> {
    if (!this.opened) return false;
    await this.ctx.blockConcurrencyWhile(async () => {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.forgetAll();
    });
    return true;
  }

  /** Drops every memory mirror: the state of a ledger whose storage is empty. */
  private forgetAll(): void {
    this.opened = false;
    this.tenant = null;
    this.tenantLimits = NO_LIMITS;
    this.tenantPolicy = OPEN_POLICY;
    this.alarmAt = null;
    this.buckets = new RateBuckets();
    this.keys = new KeyRing(this.sql);
    this.budgets = new BudgetBook(this.sql);
    this.inFlightByKey.clear();
    this.inFlightTotal = 0;
  }

  // ── budgets ──────────────────────────────────────────────────────────────────────────────

  /** Every budget (or those that apply to one key) with its current period's state. */
  async listBudgets(at: number, keyId?: string): Promise<BudgetStatus[]> {
    if (!this.tenant) return [];
    return this.budgets.statuses(at, keyId);
  }

  /** Adds a budget; `null` when the tenant or the key does not exist. */
  async createBudget(init: BudgetInit, at: number): Promise<BudgetStatus | null> {
    if (!this.tenant) return null;
    if (init.keyId !== null && !this.keys.keyInfo(init.keyId, at)) return null;
    return this.budgets.create(init, at);
  }

  /** Changes a budget's limits; what was spent stays. */
  async updateBudget(id: string, limits: { limit: number; softLimit: number | null }, at: number): Promise<BudgetStatus | null> {
    return this.tenant ? this.budgets.update(id, limits, at) : null;
  }

  async deleteBudget(id: string): Promise<boolean> {
    return this.tenant ? this.ctx.storage.transactionSync(() => this.budgets.delete(id)) : false;
  }

  /**
   * Starts the current period of a budget afresh: what was settled in it is forgotten (the usage
   * log keeps it); open reservations still hold their share.
   */
  async resetBudget(id: string, at: number): Promise<BudgetStatus | null> {
    return this.tenant ? this.budgets.reset(id, at) : null;
  }

  // ── the request path ─────────────────────────────────────────────────────────────────────

  /**
   * The request's one round trip on the critical path: is the key valid, may it use the model,
   * do its rate limits and budgets admit it, and if so reserve its worst case.
   */
  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const tenant = this.tenant;
    if (!tenant) return { ok: false, reason: "invalid_key" };
    // A key verified before needs no hashing; otherwise hashing is the only await, and it comes
    // before the critical section, which is synchronous (and re-reads the key after the await).
    const verified = this.keys.remembered(request.key);
    const hash = verified ? null : await hashKey(tenant.salt, request.key);
    const row = verified ?? this.keys.verifiedKey(request.key, hash!);
    const result = this.ctx.storage.transactionSync(() => this.admitSync(request, row));
    if (!result.ok) return result;
    if (request.reserve) this.armAlarm(request.at + request.reserve.holdMs);
    // The lease for the requests after this one rides on the same round trip.
    if (request.lease) result.lease = this.ctx.storage.transactionSync(() => this.leaseSync(row!, request.lease!, request.at));
    // The affinity hints: memory only, no storage, no extra round trip.
    if (request.prefix) result.prefixMatches = this.prefixes.lookup(request.prefix, request.at);
    return result;
  }

  /**
   * Admits a batch line (src/batch) on behalf of the key that created its batch, named by id: the
   * batch never holds the key's secret. The key must still be live at `at` (a revoked or expired
   * key stops its batches); policy, rate limits and budgets apply as to any request. Idempotent by
   * request id, since a line is run again after a crash: a line whose reservation is still open
   * gets it back (nothing more is reserved or taken from the rate limits, the same output cap), and
   * one whose request id is settled already (its reservation charged by the alarm) reserves nothing
   * and is told so.
   */
  async admitLine(request: LineAdmitRequest): Promise<LineAdmitResult> {
    if (!this.tenant) return { ok: false, reason: "invalid_key" };
    const result = this.ctx.storage.transactionSync((): LineAdmitResult => {
      if (request.reserve) {
        const held = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE request_id = ?", request.requestId).toArray()[0];
        if (held) return this.heldAdmission(held, request.at);
        if (usageOf(this.sql, request.requestId)) return { ok: false, reason: "already_settled" };
      }
      return this.admitSync({ ...request, key: "" }, this.keys.byId(request.keyId));
    });
    if (!result.ok) return result;
    if (request.reserve) this.armAlarm(request.at + request.reserve.holdMs);
    if (request.prefix) result.prefixMatches = this.prefixes.lookup(request.prefix, request.at);
    return result;
  }

  /** A line's open reservation, granted again: it was admitted while its key was live. */
  private heldAdmission(held: ReservationRow, at: number): AdmitResult {
    const row = this.keys.byId(held.key_id, true);
    if (!row) return { ok: false, reason: "invalid_key" };
    const facts = JSON.parse(held.facts) as ReservationFacts;
    return {
      ok: true,
      ...this.verdictOf(row),
      outputCap: facts.outputCap ?? null,
      reservedMicros: held.cost_micros,
      reservedTokens: held.tokens,
      softLimited: [],
      budgetPressure: 0,
      rateLimit: this.buckets.peek(bucketsFor(row.id, this.tenantLimits, row.limits), at),
    };
  }

  private admitSync(request: AdmitRequest, row: CachedKey | undefined): AdmitResult {
    const tenant = this.tenant!;
    if (!liveAt(row, request.at)) return { ok: false, reason: "invalid_key" };
    if (tenant.disabled === 1) return { ok: false, reason: "tenant_disabled" };
    const allowedModels = intersect(this.tenantPolicy.allowedModels, row.policy.allowedModels ?? null);
    if (request.model !== null && allowedModels !== null && !allowedModels.includes(request.model)) {
      return { ok: false, reason: "model_not_allowed" };
    }
    const at = request.at;
    const keyLimits = row.limits;
    const refs = bucketsFor(row.id, this.tenantLimits, keyLimits);
    const base = { ok: true as const, ...this.verdictOf(row) };
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

    const states = this.budgets.list(row.id).map((b) => this.budgets.budgetState(b, at));
    const decision = decideBudgets(states, reserve);
    if (decision.kind === "refuse") {
      const state = states.find((s) => s.budget.id === decision.budget.budget.id)!;
      return { ok: false, reason: "insufficient_quota", budget: this.budgets.budgetStatus(state, at), rateLimit: this.buckets.peek(refs, at) };
    }

    const rate = this.buckets.take(refs, decision.tokens, at);
    if (!rate.ok) {
      return { ok: false, reason: "rate_limited", dimension: rate.metric, retryAfterMs: rate.retryAfterMs, rateLimit: rate.state };
    }
    rate.commit();

    const charges = this.budgets.charge(states, decision);
    const facts: ReservationFacts = { endpoint: reserve.endpoint, scenario: reserve.scenario, stream: reserve.stream, outputCap: decision.outputCap };
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
    this.holdSlots(row.id, 1);

    const after = states.map((s) => {
      const charge = charges.find((c) => c.budgetId === s.budget.id)!;
      return this.budgets.budgetStatus({ ...s, reserved: s.reserved + charge.amount }, at);
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

  // ── leases (DESIGN §3) ────────────────────────────────────────────────────────────────────

  /**
   * Grants a lease on a verified key: its verdict, and slices of its budgets, rate limits and
   * concurrency that the isolate admits requests from for up to `want.leaseMs` without asking. The
   * slices are held here like a reservation's, so settled + reserved (leases included) stays within
   * every limit. Strict tenants and keys, and anything near a limit, get none (see lease-slices.ts).
   */
  private leaseSync(row: CachedKey, want: LeaseWant, at: number): LeaseResult {
    if (this.tenant!.disabled === 1) return { ok: false, reason: "tenant_disabled" };
    if (this.tenantPolicy.strict === true || row.policy.strict === true) return { ok: false, reason: "strict" };
    const refs = bucketsFor(row.id, this.tenantLimits, row.limits);
    const states = this.budgets.list(row.id).map((b) => this.budgets.budgetState(b, at));
    const concurrency: Array<{ limit: number; inFlight: number }> = [];
    if (this.tenantLimits.concurrency !== null) concurrency.push({ limit: this.tenantLimits.concurrency, inFlight: this.inFlightTotal });
    if (row.limits.concurrency !== null) concurrency.push({ limit: row.limits.concurrency, inFlight: this.inFlightByKey.get(row.id) ?? 0 });
    const slices = leaseSlices({
      budgets: states,
      requests: want.requests,
      perRequest: want.perRequest,
      buckets: this.buckets.levels(refs, at),
      concurrency,
      slots: want.slots,
    });
    if (slices === "near_limit") return { ok: false, reason: "near_limit" };

    const rateLimit = this.buckets.peek(refs, at);
    const taken = this.buckets.take(refs, slices.rateTokens ?? 0, at, slices.requests ?? 0);
    // leaseSlices kept every slice within the buckets' levels, so this cannot refuse.
    if (!taken.ok) return { ok: false, reason: "near_limit" };
    taken.commit();
    const charges = this.budgets.charge(states, { costMicros: slices.costMicros ?? 0, tokens: slices.tokens ?? 0 });
    if (slices.slots !== null) this.holdSlots(row.id, slices.slots);
    // A lease never spans a budget period: what it admits is charged to the period it admitted in.
    // Nor does it outlive the key's secret: an expired key is refused at its expiry, leased or not.
    const ends = states.map((s) => this.budgetStatusOf(s, at).resetsAt).filter((t): t is number => t !== null);
    if (row.expiresAt !== null) ends.push(row.expiresAt);
    const admitUntil = Math.min(at + want.leaseMs, ...ends);
    const chargeAt = admitUntil + want.holdMs;
    const leaseId = `lease_${randomHex(12)}`;
    this.sql.exec(
      `INSERT INTO leases (lease_id, key_id, holder, granted_at, admit_until, charge_at, charges, requests, rate_tokens, slots)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      leaseId,
      row.id,
      want.holder.slice(0, 200),
      at,
      admitUntil,
      chargeAt,
      JSON.stringify(charges),
      slices.requests,
      slices.rateTokens,
      slices.slots,
    );
    this.armAlarm(chargeAt);
    const statuses = states.map((st) => {
      const charge = charges.find((c) => c.budgetId === st.budget.id)!;
      return this.budgets.budgetStatus({ ...st, reserved: st.reserved + charge.amount }, at);
    });
    const lease: LeaseGrant = {
      leaseId,
      ...this.verdictOf(row),
      admitUntil,
      budgeted: states.length > 0,
      costMicros: slices.costMicros,
      tokens: slices.tokens,
      requests: slices.requests,
      rateTokens: slices.rateTokens,
      slots: slices.slots,
      softLimited: statuses.filter((b) => b.softLimitReached),
      budgetPressure: statuses.reduce((p, b) => Math.max(p, b.limit > 0 ? Math.min(1, (b.settled + b.reserved) / b.limit) : 1), 0),
      rateLimit,
    };
    return { ok: true, lease };
  }

  private budgetStatusOf(state: BudgetState & { periodKey: string }, at: number): BudgetStatus {
    return this.budgets.budgetStatus(state, at);
  }

  /**
   * A lease for the requests an isolate will admit next, on the key it presents: the key is checked
   * again, so a revoked key or a changed policy holds within one lease.
   */
  async acquireLease(request: { key: string; at: number; want: LeaseWant }): Promise<LeaseResult> {
    const tenant = this.tenant;
    if (!tenant) return { ok: false, reason: "invalid_key" };
    const verified = this.keys.remembered(request.key);
    const hash = verified ? null : await hashKey(tenant.salt, request.key);
    return this.ctx.storage.transactionSync(() => {
      const row = verified ?? this.keys.verifiedKey(request.key, hash!);
      if (!liveAt(row, request.at)) return { ok: false, reason: "invalid_key" } as const;
      return this.leaseSync(row, request.want, request.at);
    });
  }

  /**
   * A batch of a lease's settled requests: each usage row is written once (by request id), and its
   * real cost moves from what the lease holds to settled. With `close`, what the lease still holds
   * goes back: its budget share, the rate-limit requests and tokens its requests did not use, its
   * slots. Returns false when the lease is no longer open (closed, or charged at its deadline: then
   * the rows are dropped, the charge having covered them).
   */
  async reportLease(report: LeaseReport): Promise<boolean> {
    if (!this.tenant) return false;
    const open = this.ctx.storage.transactionSync(() => {
      const lease = this.sql.exec<LeaseRow>("SELECT * FROM leases WHERE lease_id = ?", report.leaseId).toArray()[0];
      if (!lease) return false;
      const charges = JSON.parse(lease.charges) as Charge[];
      let usedRequests = lease.used_requests;
      let usedTokens = lease.used_tokens;
      const releases = new Releases();
      // The budget periods the lease holds (its charges change in amount only, never in period),
      // and the key's budgets: the same for every row of the report.
      const heldIds = new Set(charges.map((c) => `${c.budgetId}|${c.periodKey}`));
      const budgets = this.budgets.list(lease.key_id);
      for (const item of report.items) {
        const r = item.request;
        if (!insertUsage(this.sql, { ...r, reservedMicros: item.reservedMicros }, this.budgets.periodOf("day", r.at))) continue;
        const actual = { cost: r.costMicros, tokens: r.promptTokens + r.completionTokens };
        usedRequests++;
        usedTokens += actual.tokens;
        // From what the lease holds, at most what it holds (an origin may report more than the
        // worst case: the truth is settled all the same, as for a reservation).
        const held = charges.map((c) => ({ ...c, amount: Math.min(c.amount, actual[c.metric]) }));
        releases.add(held, actual);
        for (let i = 0; i < charges.length; i++) charges[i]!.amount -= held[i]!.amount;
        // A budget made after the lease was granted holds nothing for it, but counts what it served.
        const others = budgets
          .map((b) => ({ budgetId: b.id, periodKey: this.budgets.periodOf(b.period, r.at), metric: b.metric, amount: 0 }))
          .filter((c) => !heldIds.has(`${c.budgetId}|${c.periodKey}`));
        releases.add(others, actual);
      }
      this.budgets.releaseAll(releases);
      if (report.close) {
        this.releaseLease(lease, charges, usedRequests, usedTokens, report.at);
        return true;
      }
      this.sql.exec("UPDATE leases SET charges = ?, used_requests = ?, used_tokens = ? WHERE lease_id = ?", JSON.stringify(charges), usedRequests, usedTokens, lease.lease_id);
      return true;
    });
    // What the served requests taught the prefix index, once their rows stand (best effort).
    if (open) {
      for (const item of report.items) {
        if (!item.prefix) continue;
        try {
          this.ctx.storage.transactionSync(() => this.prefixes.update(item.prefix!, item.request.at));
        } catch (e) {
          console.error(`request ${item.request.requestId}: prefix index not updated`, e);
        }
      }
    }
    return open;
  }

  /** Gives back what a closed lease still holds: budget shares, unused rate-limit requests and tokens, slots. */
  private releaseLease(lease: LeaseRow, charges: Charge[], usedRequests: number, usedTokens: number, at: number): void {
    this.budgets.release(charges, { cost: 0, tokens: 0 });
    const refs = this.keys.bucketsOfKey(lease.key_id, this.tenantLimits);
    this.buckets.refund(refs, Math.max(0, (lease.rate_tokens ?? 0) - usedTokens), at, Math.max(0, (lease.requests ?? 0) - usedRequests));
    if (lease.slots !== null) this.holdSlots(lease.key_id, -lease.slots);
    this.sql.exec("DELETE FROM leases WHERE lease_id = ?", lease.lease_id);
  }

  /**
   * Charges a lease its holder never closed (the isolate died) in full: what it still holds of each
   * budget is settled, with a usage row that says so. Its unused rate-limit share is not given back.
   */
  private expireLease(lease: LeaseRow, now: number): void {
    const charges = JSON.parse(lease.charges) as Charge[];
    const cost = charges.find((c) => c.metric === "cost")?.amount ?? 0;
    const tokens = charges.find((c) => c.metric === "tokens")?.amount ?? 0;
    this.budgets.release(charges, { cost, tokens });
    if (lease.slots !== null) this.holdSlots(lease.key_id, -lease.slots);
    this.sql.exec("DELETE FROM leases WHERE lease_id = ?", lease.lease_id);
    insertUsage(
      this.sql,
      {
        requestId: lease.lease_id,
        at: lease.granted_at,
        keyId: lease.key_id,
        endpoint: "chat",
        scenario: "(lease)",
        stream: false,
        origin: null,
        model: null,
        promptTokens: tokens,
        cachedTokens: 0,
        cacheWriteTokens: 0,
        completionTokens: 0,
        costMicros: cost,
        reservedMicros: cost,
        usageSource: "reserved",
        status: 0,
        outcome: "lease_expired",
        latencyMs: Math.max(0, now - lease.granted_at),
      },
      this.budgets.periodOf("day", lease.granted_at),
    );
  }

  /** The index's matches for a prompt an isolate knows nothing of (placement's rare round trip). */
  async lookupPrefix(lookup: import("../affinity/prefix-index").PrefixLookup, at: number): Promise<Record<string, import("../affinity/prefix-index").PrefixMatch>> {
    return this.tenant ? this.prefixes.lookup(lookup, at) : {};
  }

  /**
   * Moves a reservation's share of each budget from reserved to settled, at `actual` per metric.
   * `deleted` says the caller already removed the reservation's row (settle's `DELETE … RETURNING`).
   */
  private release(reservation: ReservationRow, actual: Record<BudgetMetric, number>, deleted = false): void {
    this.budgets.release(JSON.parse(reservation.charges) as Charge[], actual);
    if (!deleted) this.sql.exec("DELETE FROM reservations WHERE request_id = ?", reservation.request_id);
    this.holdSlots(reservation.key_id, -1);
  }

  /** Counts `n` more (or, negative, fewer) requests in flight for a key and the tenant. */
  private holdSlots(keyId: string, n: number): void {
    const open = (this.inFlightByKey.get(keyId) ?? 0) + n;
    if (open > 0) this.inFlightByKey.set(keyId, open);
    else this.inFlightByKey.delete(keyId);
    this.inFlightTotal = Math.max(0, this.inFlightTotal + n);
  }

  /** What a key may do: the tenant's policy and its own combined. */
  private verdictOf(row: CachedKey) {
    const keyPolicy = row.policy;
    return {
      tenantId: this.tenant!.id,
      keyId: row.id,
      allowedModels: intersect(this.tenantPolicy.allowedModels, keyPolicy.allowedModels ?? null),
      boundaries: [this.tenantPolicy.boundary, keyPolicy.boundary].filter((b): b is Boundary => b !== null && b !== undefined),
      maxPriority: lowerPriority(this.tenantPolicy.maxPriority ?? "interactive", keyPolicy.maxPriority ?? "interactive"),
      debug: this.tenantPolicy.debug === true || keyPolicy.debug === true,
    };
  }

  /**
   * Replaces a request's reservation with what it really cost and records its usage. Exactly once
   * per request id: a repeated call, or one after the reservation expired, changes nothing and
   * returns false.
   */
  async settle(request: SettleRequest, prefix?: PrefixUpdate): Promise<boolean> {
    return this.tenant ? this.settleSync(request, prefix) : false;
  }

  /**
   * Settles a batch of requests in one call (one storage commit): each in its own transaction, so
   * one that fails is rolled back alone (its reservation then expires and is charged) and the rest
   * stand. Returns each one's `settle` result, false for one that failed.
   */
  async settleMany(items: ReadonlyArray<{ request: SettleRequest; prefix?: PrefixUpdate }>): Promise<boolean[]> {
    if (!this.tenant) return items.map(() => false);
    return items.map(({ request, prefix }) => {
      try {
        return this.settleSync(request, prefix);
      } catch (e) {
        console.error(`request ${request.requestId}: settlement failed`, e);
        return false;
      }
    });
  }

  private settleSync(request: SettleRequest, prefix?: PrefixUpdate): boolean {
    const settled = this.ctx.storage.transactionSync(() => {
      // One statement finds and removes the reservation (it was a SELECT and a DELETE): the
      // transaction rolls the removal back should anything below throw.
      const reservation = this.sql.exec<ReservationRow>("DELETE FROM reservations WHERE request_id = ? RETURNING *", request.requestId).toArray()[0];
      const day = this.budgets.periodOf("day", request.at);
      if (!reservation) return insertUsage(this.sql, { ...request, reservedMicros: 0 }, day);
      const tokens = request.promptTokens + request.completionTokens;
      this.release(reservation, { cost: request.costMicros, tokens }, true);
      this.buckets.refund(this.keys.bucketsOfKey(reservation.key_id, this.tenantLimits), reservation.tokens - tokens, Date.now());
      return insertUsage(this.sql, { ...request, reservedMicros: reservation.cost_micros }, day);
    });
    // What the served request taught the prefix index, once its settlement stands (the index's
    // memory is not rolled back with a failed transaction). Best effort: a hint, never money.
    if (prefix) {
      try {
        this.ctx.storage.transactionSync(() => this.prefixes.update(prefix, request.at));
      } catch (e) {
        console.error(`request ${request.requestId}: prefix index not updated`, e);
      }
    }
    return settled;
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
    if (!this.opened) return;
    // The alarm for T settles everything due by T, even when it runs a little early (a test's
    // `runDurableObjectAlarm`) or late (a busy runtime).
    const now = Math.max(Date.now(), this.alarmAt ?? 0);
    this.alarmAt = null;
    this.ctx.storage.transactionSync(() => {
      const due = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE expires_at <= ? ORDER BY expires_at", now).toArray();
      for (const r of due) {
        this.release(r, { cost: r.cost_micros, tokens: r.tokens });
        const facts = JSON.parse(r.facts) as ReservationFacts;
        insertUsage(
          this.sql,
          {
            requestId: r.request_id,
            at: r.at,
            keyId: r.key_id,
            endpoint: facts.endpoint,
            scenario: facts.scenario,
            stream: facts.stream,
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
          this.budgets.periodOf("day", r.at),
        );
      }
      for (const lease of this.sql.exec<LeaseRow>("SELECT * FROM leases WHERE charge_at <= ?", now).toArray()) this.expireLease(lease, now);
      // Stored responses go when they expire (the alarm is armed for the next one, below).
      pruneResponses(this.sql, now);
      const last = Number(this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'last_cleanup'").toArray()[0]?.value ?? 0);
      if (this.tenant && now - last >= CLEANUP_EVERY_MS) {
        pruneUsage(this.sql, now - this.tenant.retention_days * DAY_MS);
        this.sql.exec(
          "INSERT INTO meta (key, value) VALUES ('last_cleanup', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          String(now),
        );
      }
    });
    const due = [this.sql.exec<{ t: number | null }>("SELECT MIN(t) AS t FROM (SELECT MIN(expires_at) AS t FROM reservations UNION ALL SELECT MIN(charge_at) FROM leases)").one().t, nextResponseExpiry(this.sql)];
    const next = due.reduce<number | null>((a, b) => (b === null ? a : a === null ? b : Math.min(a, b)), null);
    if (next !== null) this.armAlarm(next);
  }

  // ── stored responses (the Responses API) ─────────────────────────────────────────────────

  /**
   * Keeps a response for the tenant's `response_retention_days` from its creation; false when there
   * is no tenant (nothing is written then).
   */
  async storeResponse(row: ResponseRow): Promise<boolean> {
    if (!this.tenant) return false;
    const expiresAt = row.createdAt + this.tenant.response_retention_days * DAY_MS;
    this.ctx.storage.transactionSync(() => insertResponse(this.sql, row, expiresAt));
    this.armAlarm(expiresAt);
    return true;
  }

  /** A stored response's body (JSON text), or null: unknown, expired, deleted, or no tenant. */
  async getResponse(id: string, at: number): Promise<string | null> {
    return this.tenant ? responseBody(this.sql, id, at) : null;
  }

  /** The conversation that `id` ends, oldest first (see response-store.ts). */
  async responseChain(id: string, at: number): Promise<ResponseChain> {
    return this.tenant ? responseChain(this.sql, id, at) : { ok: false, reason: "not_found", id };
  }

  /** Deletes a stored response; false when there is none. */
  async deleteResponse(id: string, at: number): Promise<boolean> {
    return this.tenant ? deleteResponse(this.sql, id, at) : false;
  }

  // ── usage ────────────────────────────────────────────────────────────────────────────────

  /** The usage row of one request, or null. */
  async usageOf(requestId: string): Promise<UsageRecord | null> {
    return this.tenant ? usageOf(this.sql, requestId) : null;
  }

  /** A page of usage rows, newest first; null when the cursor is not valid. */
  async queryUsage(query: UsageQuery): Promise<UsagePage | null> {
    return this.tenant ? queryUsage(this.sql, query) : { data: [], nextCursor: null };
  }

  async usageTotals(query: UsageQuery, groupBy: UsageGrouping | UsageGroup[]): Promise<UsageTotals[]> {
    return this.tenant ? usageTotals(this.sql, query, groupBy) : [];
  }

  /** This tenant's share of a scenario's traffic in [from, to) (the decision report adds every tenant's). */
  async scenarioTraffic(scenario: string, from: number, to: number, ttlsSeconds: number[] = []): Promise<ScenarioTraffic> {
    return this.tenant ? scenarioTraffic(this.sql, scenario, from, to, ttlsSeconds) : NO_TRAFFIC;
  }

  /**
   * Records the tenant's feedback on one of its requests (see usage-log.ts `recordFeedback`): the
   * last feedback replaces the one before; refused past `windowMs` after the request (`feedback.at`
   * is the caller's clock). Returns the row as it now stands and the feedback it replaced.
   */
  async recordFeedback(requestId: string, feedback: Feedback, windowMs: number): Promise<FeedbackResult> {
    if (!this.tenant) return { ok: false, reason: "not_found" };
    return this.ctx.storage.transactionSync(() => recordFeedback(this.sql, requestId, feedback, windowMs));
  }
}
