/** The shapes that cross the TenantLedger's RPC boundary (structured-cloneable plain data). */
import { z } from "zod";
import type { PrefixLookup, PrefixMatch } from "../affinity/prefix-index";
import { boundarySchema, type Boundary } from "../routing/boundary";
import type { GateResult } from "../outcomes/gates";
import { PRIORITY_CLASSES, type PriorityClass } from "../routing/priority";

/** What a tenant or a key may do. `null` allows everything the level above allows. */
export const policySchema = z
  .object({
    /** Scenario (model) names this tenant or key may use. */
    allowedModels: z.array(z.string().min(1).max(64)).max(256).nullable().default(null),
    /** Which origins its requests may ever reach (e.g. `{"kinds":["self-hosted"]}`), fallback included. */
    boundary: boundarySchema.nullable().default(null),
    /** The highest class its requests may ask for; higher asks are served at this class. */
    maxPriority: z.enum(PRIORITY_CLASSES).default("interactive"),
    /** May ask for the routing decision with `x-router-explain: 1`. */
    debug: z.boolean().default(false),
    /**
     * Every request is admitted by the ledger itself, never from an isolate's lease: a revoked key
     * or a changed policy then holds from the very next request, at the price of a round trip each.
     */
    strict: z.boolean().default(false),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;

/** Everything allowed: a tenant or key created without a policy. */
export const OPEN_POLICY: Policy = { allowedModels: null, boundary: null, maxPriority: "interactive", debug: false, strict: false };

/** Rate limits of a tenant or a key; `null` means unlimited at this level. */
export const rateLimitsSchema = z
  .object({
    /** Requests per minute. */
    rpm: z.number().int().min(1).max(10_000_000).nullable().default(null),
    /** Tokens per minute (prompt + completion; admission counts the worst case, settlement refunds the rest). */
    tpm: z.number().int().min(1).max(10_000_000_000).nullable().default(null),
    /** Requests in flight at once. */
    concurrency: z.number().int().min(1).max(100_000).nullable().default(null),
  })
  .strict();
export type RateLimits = z.infer<typeof rateLimitsSchema>;

/** A new tenant's limits until an operator changes them. */
export const DEFAULT_TENANT_LIMITS: RateLimits = { rpm: 1_000, tpm: 2_000_000, concurrency: 100 };
export const NO_LIMITS: RateLimits = { rpm: null, tpm: null, concurrency: null };

export const BUDGET_METRICS = ["cost", "tokens"] as const;
export const BUDGET_PERIODS = ["day", "month", "total"] as const;
export type BudgetMetric = (typeof BUDGET_METRICS)[number];
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export interface Tenant {
  id: string;
  name: string;
  policy: Policy;
  limits: RateLimits;
  timeZone: string;
  retentionDays: number;
  /** How long stored Responses API responses are kept (`previous_response_id`, `GET /v1/responses/{id}`). */
  responseRetentionDays: number;
  disabled: boolean;
  /** When it was last disabled (epoch ms); null when it never was. */
  disabledAt: number | null;
  createdAt: number;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** `tr-acme-…x9Qa`: tells keys apart, cannot be used. */
  hint: string;
  policy: Policy;
  limits: RateLimits;
  createdAt: number;
  revokedAt: number | null;
  /** Refused from this instant on (epoch ms); null: never expires. */
  expiresAt: number | null;
  /** When its secret was last replaced (rotation); null when never. */
  rotatedAt: number | null;
  /** The secret a rotation replaced, while it is still accepted (its grace); null otherwise. */
  previous: { hint: string; expiresAt: number } | null;
}

/** A budget as configured. `metric` "cost" counts micro-dollars; "tokens" counts prompt + completion tokens. */
export interface Budget {
  id: string;
  /** `null`: the whole tenant; otherwise the key it limits. */
  keyId: string | null;
  metric: BudgetMetric;
  period: BudgetPeriod;
  limit: number;
  softLimit: number | null;
}

/** A budget with its current period's state. */
export interface BudgetStatus extends Budget {
  periodKey: string;
  /** When the current period ends (epoch ms), null for "total". */
  resetsAt: number | null;
  settled: number;
  reserved: number;
  remaining: number;
  softLimitReached: boolean;
}

/** Prices in micro-dollars per million tokens (see src/pricing). */
export interface PricesMicros {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
}

/** The endpoints a client calls, as the usage log names them. */
export type UsageEndpoint = "chat" | "embeddings" | "completions" | "responses";

/** What admission reserves: the worst case of one request. */
export interface ReservationRequest {
  /** What the client called (an embeddings request has no output). */
  endpoint: UsageEndpoint;
  scenario: string;
  stream: boolean;
  /** An upper bound of the prompt's tokens (no tokenizer counts more). */
  promptTokensUpper: number;
  /** The client's own output cap (per choice), or null when it set none. */
  requestedOutputCap: number | null;
  /** Choices asked for (`n`): each may use the whole cap. */
  choices: number;
  /** The cap assumed (and imposed when a budget applies) when the client set none. */
  defaultOutputCap: number;
  /** Below this many output tokens an answer is not worth admitting (unless the client asked for fewer). */
  minOutputTokens: number;
  /** The highest price among the candidates that may serve it, at admission time. */
  prices: PricesMicros;
  /** How long the reservation may stay open before the alarm charges it. */
  holdMs: number;
}

export interface AdmitRequest {
  key: string;
  requestId: string;
  /** The caller's clock (epoch ms): periods, buckets and expiry are computed from it. */
  at: number;
  /** Scenario asked for; checked against the policies. Null: authenticate only (e.g. /v1/models). */
  model: string | null;
  /** Null: no reservation (unknown model, listing endpoints). */
  reserve: ReservationRequest | null;
  /** The prompt's prefix chain to look up in the affinity index, when routing will use it. */
  prefix?: PrefixLookup | null;
  /** A lease for the requests after this one, when the isolate wants one (granted only if the request is admitted). */
  lease?: LeaseWant;
}

/**
 * A batch line's admission (src/batch): on behalf of the key that created the batch, named by its
 * id, since a batch never holds the key's secret. No lease: a batch line always takes the exact path.
 */
export interface LineAdmitRequest extends Omit<AdmitRequest, "key" | "lease"> {
  keyId: string;
}

/** `admitLine`'s answer: as `admit`'s, or the line's request id is settled already (nothing reserved). */
export type LineAdmitResult = AdmitResult | { ok: false; reason: "already_settled" };

/** One rate-limit dimension as OpenAI's `x-ratelimit-*` headers report it. */
export interface RateWindow {
  limit: number;
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export interface RateLimitState {
  requests: RateWindow | null;
  tokens: RateWindow | null;
}

export type AdmitResult =
  | {
      ok: true;
      tenantId: string;
      keyId: string;
      allowedModels: string[] | null;
      /** The output cap to enforce upstream, or null to leave the request as it is. */
      outputCap: number | null;
      /** What the reservation holds (0 when nothing was reserved). */
      reservedMicros: number;
      reservedTokens: number;
      /** Budgets past their soft limit after this admission. */
      softLimited: BudgetStatus[];
      /** The fullest budget's (settled + reserved) / limit, 0..1: routing weighs price by it. */
      budgetPressure: number;
      rateLimit: RateLimitState;
      /** The tenant's and the key's data boundaries: an origin must pass both. */
      boundaries: Boundary[];
      /** The lower of the tenant's and the key's highest class. */
      maxPriority: PriorityClass;
      /** Whether the caller may see routing decisions. */
      debug: boolean;
      /** Each candidate origin's deepest fresh cached prefix, when `prefix` was asked (absent: no match). */
      prefixMatches?: Record<string, PrefixMatch>;
      /** The lease asked for, when granted; why not, when refused. */
      lease?: LeaseResult;
    }
  | { ok: false; reason: "invalid_key" | "tenant_disabled" | "model_not_allowed" }
  | { ok: false; reason: "rate_limited"; dimension: "requests" | "tokens" | "concurrency"; retryAfterMs: number; rateLimit: RateLimitState }
  | { ok: false; reason: "insufficient_quota"; budget: BudgetStatus; rateLimit: RateLimitState };

/**
 * What an isolate asks of a lease (DESIGN §3): room to admit about `requests` more requests of
 * about `perRequest` each, locally, for up to `leaseMs`.
 */
export interface LeaseWant {
  /** The isolate asking (its leases are told apart in logs and expiry rows). */
  holder: string;
  /** How many requests' worth of budget and rate limits it wants to hold. */
  requests: number;
  /** One request's worst case, as the isolate last saw one: sizes the slices and the near-limit test. */
  perRequest: { costMicros: number; tokens: number };
  /** Concurrency slots it wants. */
  slots: number;
  /** The admission window asked for (the config's `leases.leaseMs`). */
  leaseMs: number;
  /** How long a request admitted under the lease may still run after the window: its settlement's deadline. */
  holdMs: number;
}

/** A lease: the verdict on a key, and slices of its budgets, rate limits and concurrency, for a window. */
export interface LeaseGrant {
  leaseId: string;
  tenantId: string;
  keyId: string;
  /** The isolate admits nothing under it from this instant (by the caller's clock). */
  admitUntil: number;
  allowedModels: string[] | null;
  boundaries: Boundary[];
  maxPriority: PriorityClass;
  debug: boolean;
  /** Whether any budget applies to the key (the output cap is then imposed, as the ledger would). */
  budgeted: boolean;
  /** The slices: what every cost budget and every token budget holds for the lease; null: no such budget. */
  costMicros: number | null;
  tokens: number | null;
  /** Requests and tokens taken from the rate-limit buckets; null: no such limit. */
  requests: number | null;
  rateTokens: number | null;
  /** Concurrency slots held; null: no concurrency limit. */
  slots: number | null;
  /** Budgets past their soft limit, and the fullest budget's fill, as of the grant. */
  softLimited: BudgetStatus[];
  budgetPressure: number;
  /** The rate-limit state before the slices were taken (the isolate subtracts what it admits). */
  rateLimit: RateLimitState;
}

/** Why no lease was granted: the key is refused, or the request takes the exact path. */
export type LeaseRefusal = "invalid_key" | "tenant_disabled" | "strict" | "near_limit";

export type LeaseResult = { ok: true; lease: LeaseGrant } | { ok: false; reason: LeaseRefusal };

/** One request admitted under a lease, as the isolate settles it. */
export interface LeaseItem {
  request: SettleRequest;
  /** What the isolate reserved for it locally (its usage row's `reservedMicros`). */
  reservedMicros: number;
  prefix?: import("../affinity/prefix-index").PrefixUpdate;
}

/** A batch of a lease's settled requests; `close` ends the lease and gives back what it still holds. */
export interface LeaseReport {
  leaseId: string;
  at: number;
  items: LeaseItem[];
  close: boolean;
}

/** Where a usage row's token counts come from. */
export type UsageSource = "origin" | "estimated" | "reserved";

/**
 * Who a request is for, as the client said (bounded at the edge, see src/usage/attribution.ts):
 * OpenAI's `user`, `metadata` string pairs, and the `x-router-tags` header's tags.
 */
export interface Attribution {
  user: string | null;
  metadata: Record<string, string> | null;
  tags: string[];
}

/** A request with no attribution. */
export const NO_ATTRIBUTION: Attribution = { user: null, metadata: null, tags: [] };

/** What the tenant said of an answer (`POST /v1/feedback`); the last feedback replaces the one before. */
export interface Feedback {
  accepted: boolean;
  score: number | null;
  reason: string | null;
  /** When it was given (the router's clock). */
  at: number;
}

/** One request's record, written once per request id (its outcome may be added later). */
export interface UsageRecord extends Attribution, Outcome {
  requestId: string;
  at: number;
  keyId: string;
  endpoint: UsageEndpoint;
  scenario: string;
  origin: string | null;
  model: string | null;
  stream: boolean;
  promptTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  completionTokens: number;
  costMicros: number;
  /** What admission reserved for it. */
  reservedMicros: number;
  usageSource: UsageSource;
  /** The HTTP status the client received. */
  status: number;
  /** `ok`, or how it ended: `upstream_error`, `stream_broken`, `stream_cancelled`, `expired`, ... */
  outcome: string;
  latencyMs: number;
}

/** How an answer was judged: by its tenant (feedback) and by the scenario's quality gates. */
export interface Outcome {
  /** Null: unrated. */
  feedback: Feedback | null;
  /** Null: no gate applied (none on, or none relevant to the answer). */
  gates: GateResult | null;
}

/** A usage row as written: its attribution and gates may be left out (none); feedback comes later. */
export type UsageRow = Omit<UsageRecord, keyof Attribution | keyof Outcome> & Partial<Attribution> & { gates?: GateResult | null };

/** What settlement is told; `reservedMicros` is filled in by the ledger. */
export type SettleRequest = Omit<UsageRow, "reservedMicros">;

export interface UsageQuery {
  from?: number;
  to?: number;
  keyId?: string;
  scenario?: string;
  origin?: string;
  /** Rows of this end user (`user`). */
  user?: string;
  /** Rows carrying this tag. */
  tag?: string;
  /** Rows whose metadata has each of these pairs. */
  metadata?: Record<string, string>;
  limit?: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface UsagePage {
  data: UsageRecord[];
  nextCursor: string | null;
}

export const USAGE_GROUPS = ["day", "model", "origin", "key", "user", "tag"] as const;
/** What totals are grouped by: a column, each tag a row carries, or one metadata key's values (`metadata.<key>`). */
export type UsageGroup = (typeof USAGE_GROUPS)[number] | `metadata.${string}`;
/** How the ledger can sum: by a {@link UsageGroup}, or everything in one row (`all`, group ""). */
export type UsageGrouping = UsageGroup | "all";

export interface UsageTotals {
  /** The group's value; several groupings' values joined with "|". */
  group: string;
  /** With several groupings: each one's value. */
  by?: Record<string, string>;
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costMicros: number;
  /**
   * Requests that failed on the router's or an origin's side: answered 5xx, or a stream that broke
   * or timed out after it began. Refusals the request itself caused (4xx) and cancellations are not.
   */
  errors: number;
  /** Rows by their feedback: accepted, rejected, and neither (whatever their status). */
  accepted: number;
  rejected: number;
  unrated: number;
  /** Rows whose quality gates passed or failed (rows no gate applied to count in neither). */
  gatesPassed: number;
  gatesFailed: number;
  /**
   * Every row's cost (rejected, unrated and failed requests included: they were paid for) over the
   * accepted ones, rounded to the micro-dollar; null before any acceptance.
   */
  costPerAcceptedMicros: number | null;
}

/** What recording feedback did: the row's outcome as it now stands, or why nothing changed. */
export type FeedbackResult =
  | { ok: true; record: UsageRecord; previous: Feedback | null }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "window_closed"; closedAt: number }
  | { ok: false; reason: "not_answered"; status: number };
