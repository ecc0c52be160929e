/**
 * Requests and tokens per minute as token buckets, per tenant and per key, persisted in the
 * ledger's SQLite so they survive the object being evicted.
 *
 * A bucket holds up to `limit` units and refills at `limit` per minute, continuously, as OpenAI's
 * limits do ("remaining" recovers gradually, not at the top of the minute). Admission takes one
 * request and the request's worst-case tokens; settlement gives back the tokens it did not use.
 */
import type { RateLimitState, RateLimits, RateWindow } from "./types";

const MINUTE_MS = 60_000;

export type RateMetric = "requests" | "tokens";

/** One bucket a request draws from: a scope (`tenant` or a key id) and its limit. */
export interface BucketRef {
  scope: string;
  metric: RateMetric;
  limit: number;
}

interface BucketRow {
  level: number;
  updated_at: number;
  [column: string]: SqlStorageValue;
}

/** The buckets a request draws from, given the tenant's and the key's limits. */
export function bucketsFor(keyId: string, tenant: RateLimits, key: RateLimits): BucketRef[] {
  const refs: BucketRef[] = [];
  const add = (scope: string, limits: RateLimits) => {
    if (limits.rpm !== null) refs.push({ scope, metric: "requests", limit: limits.rpm });
    if (limits.tpm !== null) refs.push({ scope, metric: "tokens", limit: limits.tpm });
  };
  add("tenant", tenant);
  add(keyId, key);
  return refs;
}

/** The bucket's level at `at`, refilled since it was last written. */
function levelAt(sql: SqlStorage, ref: BucketRef, at: number): number {
  const row = sql.exec<BucketRow>("SELECT level, updated_at FROM rate_buckets WHERE scope = ? AND metric = ?", ref.scope, ref.metric).toArray()[0];
  if (!row) return ref.limit;
  const elapsed = Math.max(0, at - row.updated_at);
  return Math.min(ref.limit, row.level + (elapsed * ref.limit) / MINUTE_MS);
}

function writeLevel(sql: SqlStorage, ref: BucketRef, level: number, at: number): void {
  sql.exec(
    `INSERT INTO rate_buckets (scope, metric, level, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (scope, metric) DO UPDATE SET level = excluded.level, updated_at = excluded.updated_at`,
    ref.scope,
    ref.metric,
    level,
    at,
  );
}

function windowOf(ref: BucketRef, levelAfter: number): RateWindow {
  return {
    limit: ref.limit,
    remaining: Math.max(0, Math.floor(levelAfter)),
    resetMs: Math.ceil(((ref.limit - levelAfter) * MINUTE_MS) / ref.limit),
  };
}

/** Of several windows of one metric, the one a client should heed: the least remaining. */
function tightest(a: RateWindow | null, b: RateWindow): RateWindow {
  return a === null || b.remaining < a.remaining ? b : a;
}

export type RateDecision =
  | { ok: true; state: RateLimitState; commit: () => void }
  | { ok: false; metric: RateMetric; retryAfterMs: number; state: RateLimitState };

/**
 * Checks whether a request costing one request and `tokens` tokens fits every bucket; `commit`
 * then takes them. Nothing is written when it does not fit.
 */
export function takeRate(sql: SqlStorage, refs: readonly BucketRef[], tokens: number, at: number): RateDecision {
  const state: RateLimitState = { requests: null, tokens: null };
  const after: Array<[BucketRef, number]> = [];
  let refusal: { metric: RateMetric; retryAfterMs: number } | null = null;
  for (const ref of refs) {
    const cost = ref.metric === "requests" ? 1 : tokens;
    const level = levelAt(sql, ref, at);
    if (level < cost) {
      // A request larger than the whole bucket can never pass: tell the client a minute, not forever.
      const wait = cost > ref.limit ? MINUTE_MS : Math.ceil(((cost - level) * MINUTE_MS) / ref.limit);
      if (refusal === null || wait > refusal.retryAfterMs) refusal = { metric: ref.metric, retryAfterMs: wait };
      state[ref.metric] = tightest(state[ref.metric], windowOf(ref, level));
      continue;
    }
    after.push([ref, level - cost]);
    state[ref.metric] = tightest(state[ref.metric], windowOf(ref, level - cost));
  }
  if (refusal) return { ok: false, ...refusal, state };
  return {
    ok: true,
    state,
    commit: () => {
      for (const [ref, level] of after) writeLevel(sql, ref, level, at);
    },
  };
}

/** Gives back tokens a request reserved but did not use. */
export function refundTokens(sql: SqlStorage, refs: readonly BucketRef[], tokens: number, at: number): void {
  if (tokens <= 0) return;
  for (const ref of refs) {
    if (ref.metric !== "tokens") continue;
    writeLevel(sql, ref, Math.min(ref.limit, levelAt(sql, ref, at) + tokens), at);
  }
}

/** The current state of the buckets, without taking anything (for responses that admit nothing). */
export function peekRate(sql: SqlStorage, refs: readonly BucketRef[], at: number): RateLimitState {
  const state: RateLimitState = { requests: null, tokens: null };
  for (const ref of refs) state[ref.metric] = tightest(state[ref.metric], windowOf(ref, levelAt(sql, ref, at)));
  return state;
}
