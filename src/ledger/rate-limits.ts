/**
 * Requests and tokens per minute as token buckets, per tenant and per key.
 *
 * A bucket holds up to `limit` units and refills at `limit` per minute, continuously, as OpenAI's
 * limits do ("remaining" recovers gradually, not at the top of the minute). Admission takes one
 * request and the request's worst-case tokens; settlement gives back the tokens it did not use.
 *
 * Buckets live in the ledger object's memory only. Writing them to storage on every request cost
 * more than the rest of admission together (measured: scripts/bench); losing them when the object
 * is evicted merely refills them, a leniency of at most one minute's allowance, while budgets,
 * which must never be overspent, stay in SQLite.
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

/** The buckets of one tenant. */
export class RateBuckets {
  private readonly buckets = new Map<string, { level: number; at: number }>();

  /** The bucket's level at `at`, refilled since it was last written. */
  private levelAt(ref: BucketRef, at: number): number {
    const b = this.buckets.get(`${ref.scope}\u0000${ref.metric}`);
    if (!b) return ref.limit;
    return Math.min(ref.limit, b.level + (Math.max(0, at - b.at) * ref.limit) / MINUTE_MS);
  }

  /**
   * Sets a bucket's level as of `at`. A bucket's time never goes back: a refund stamped earlier
   * than the bucket's last take (settlement reads this object's clock, admission the isolate's,
   * and clocks differ) must not make the next take refill from that earlier time as well.
   */
  private write(ref: BucketRef, level: number, at: number): void {
    const id = `${ref.scope}\u0000${ref.metric}`;
    const last = this.buckets.get(id)?.at ?? at;
    this.buckets.set(id, { level, at: Math.max(last, at) });
  }

  /**
   * Whether `requests` requests (one by default) costing `tokens` tokens fit every bucket; `commit`
   * then takes them. Nothing changes when they do not fit.
   */
  take(refs: readonly BucketRef[], tokens: number, at: number, requests = 1): RateDecision {
    const state: RateLimitState = { requests: null, tokens: null };
    const after: Array<[BucketRef, number]> = [];
    let refusal: { metric: RateMetric; retryAfterMs: number } | null = null;
    for (const ref of refs) {
      const cost = ref.metric === "requests" ? requests : tokens;
      const level = this.levelAt(ref, at);
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
        for (const [ref, level] of after) this.write(ref, level, at);
      },
    };
  }

  /** Gives back tokens (and requests) that were taken but not used. */
  refund(refs: readonly BucketRef[], tokens: number, at: number, requests = 0): void {
    for (const ref of refs) {
      const back = ref.metric === "tokens" ? tokens : requests;
      if (back > 0) this.write(ref, Math.min(ref.limit, this.levelAt(ref, at) + back), at);
    }
  }

  /** Each bucket's current level (what is left of it). */
  levels(refs: readonly BucketRef[], at: number): Array<{ metric: RateMetric; level: number }> {
    return refs.map((ref) => ({ metric: ref.metric, level: this.levelAt(ref, at) }));
  }

  /** The current state, without taking anything (for responses that admit nothing). */
  peek(refs: readonly BucketRef[], at: number): RateLimitState {
    const state: RateLimitState = { requests: null, tokens: null };
    for (const ref of refs) state[ref.metric] = tightest(state[ref.metric], windowOf(ref, this.levelAt(ref, at)));
    return state;
  }
}
