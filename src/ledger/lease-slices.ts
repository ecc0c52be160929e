/**
 * How big a lease's slices are (DESIGN §3), as a pure function of what is left: the ledger gathers
 * the budgets', buckets' and concurrency counts' state, calls this, and writes what it returns, in
 * one synchronous critical section.
 *
 * - A slice is at most a quarter of what is left (`LEASE_FRACTION`): four isolates asking at once
 *   still leave room, and slices shrink as the remaining budget does.
 * - Near a limit, no slice at all: when what is left of a budget or a bucket would cover fewer than
 *   `NEAR_LIMIT_REQUESTS` worst-case requests, or a concurrency limit is smaller than
 *   `MIN_LEASE_CONCURRENCY`, every request takes the exact path, where the ledger decides it alone
 *   (and may lower its output cap, which a lease never does).
 * - Otherwise each slice covers what the isolate asked for (`requests` of `perRequest` each), never
 *   less than one request's worth.
 */
import type { BudgetState } from "./admission";

/** The most of what is left of a budget, a bucket or a concurrency limit that one lease may hold. */
export const LEASE_FRACTION = 0.25;
/** Below this many worst-case requests left, no slice: every request is admitted by the ledger itself. */
export const NEAR_LIMIT_REQUESTS = 8;
/** Concurrency limits smaller than this are never sliced: each slot is counted by the ledger. */
export const MIN_LEASE_CONCURRENCY = 8;

export interface SliceInput {
  /** The budgets that apply to the key, in the current period. */
  budgets: readonly BudgetState[];
  /** How many requests' worth the isolate asks for, and one request's worst case. */
  requests: number;
  perRequest: { costMicros: number; tokens: number };
  /** The current level of each rate-limit bucket that applies (requests or tokens). */
  buckets: ReadonlyArray<{ metric: "requests" | "tokens"; level: number }>;
  /** Each concurrency limit that applies, and what is in flight against it now. */
  concurrency: ReadonlyArray<{ limit: number; inFlight: number }>;
  /** Concurrency slots asked for. */
  slots: number;
}

/** What a lease holds; null where nothing limits that dimension. */
export interface Slices {
  costMicros: number | null;
  tokens: number | null;
  requests: number | null;
  rateTokens: number | null;
  slots: number | null;
}

/** A slice of `left` for `want`, or null when `left` is too near its limit to slice. */
function sliceOf(left: number, want: number, per: number): number | null {
  if (left < NEAR_LIMIT_REQUESTS * per) return null;
  const slice = Math.min(want, Math.floor(left * LEASE_FRACTION));
  return slice < per ? null : slice;
}

/**
 * The slices a lease may hold, or "near_limit" when one dimension is too near its limit.
 * @example
 * leaseSlices({ budgets: [dayBudget], requests: 20, perRequest: { costMicros: 500, tokens: 900 }, buckets: [], concurrency: [], slots: 4 })
 * // { costMicros: 10_000, tokens: null, requests: null, rateTokens: null, slots: null } when 40,000 µ$ are left
 */
export function leaseSlices(input: SliceInput): Slices | "near_limit" {
  const want = Math.max(1, Math.floor(input.requests));
  const slices: Slices = { costMicros: null, tokens: null, requests: null, rateTokens: null, slots: null };
  for (const metric of ["cost", "tokens"] as const) {
    const states = input.budgets.filter((s) => s.budget.metric === metric);
    if (states.length === 0) continue;
    const per = metric === "cost" ? input.perRequest.costMicros : input.perRequest.tokens;
    const left = Math.min(...states.map((s) => s.budget.limit - s.settled - s.reserved));
    const slice = sliceOf(left, want * per, per);
    if (slice === null) return "near_limit";
    if (metric === "cost") slices.costMicros = slice;
    else slices.tokens = slice;
  }
  const requestLevels = input.buckets.filter((b) => b.metric === "requests").map((b) => b.level);
  if (requestLevels.length > 0) {
    const slice = sliceOf(Math.min(...requestLevels), want, 1);
    if (slice === null) return "near_limit";
    slices.requests = slice;
  }
  const tokenLevels = input.buckets.filter((b) => b.metric === "tokens").map((b) => b.level);
  if (tokenLevels.length > 0) {
    const slice = sliceOf(Math.min(...tokenLevels), want * input.perRequest.tokens, input.perRequest.tokens);
    if (slice === null) return "near_limit";
    slices.rateTokens = slice;
  }
  if (input.concurrency.length > 0) {
    if (input.concurrency.some((c) => c.limit < MIN_LEASE_CONCURRENCY)) return "near_limit";
    const slice = sliceOf(Math.min(...input.concurrency.map((c) => c.limit - c.inFlight)), Math.max(1, input.slots), 1);
    if (slice === null) return "near_limit";
    slices.slots = slice;
  }
  return slices;
}
