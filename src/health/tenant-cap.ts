/**
 * How much one tenant's failures weigh in an origin's health (issue #12): at most `cap` of them in
 * any window of `windowMs` count against the origin (its breaker and error rate); the rest are
 * attributed to the tenant. A tenant whose prompts are too long for an origin's timeout would
 * otherwise fail on every request and drag the origin's health down for everyone.
 *
 * The window slides, by when the attempts started (`at`): a tumbling one would let a tenant land
 * 2 × cap failures in a moment, `cap` on each side of a boundary. Sliding costs `cap` instants per
 * tenant instead of one counter, and `cap` is small. Samples can arrive out of order (batches from
 * several isolates), so a failure counts when fewer than `cap` of the tenant's last counted ones
 * lie within `windowMs` of it on either side: exact for samples in order. A sample older than all
 * of those is judged against them only, so a batch arriving a window late may count beyond the cap;
 * the breaker itself ignores samples older than its current state.
 *
 * Memory is bounded: a tenant is forgotten once its last counted failure is a window old, and at
 * most {@link MAX_TRACKED_TENANTS} are tracked; past that the one whose last failure is oldest is
 * forgotten, which lets it count `cap` more. That takes more than 200 tenants failing at one origin
 * within a window, when its failures blame the origin many times over anyway.
 */
import { ownEntry } from "../lib/own";

/** Per tenant, when its counted failures started (epoch ms), ascending, at most `cap` of them. */
export type TenantFailures = Record<string, number[]>;

/** Tenants tracked per origin at most: the monitor's state is one stored row, rewritten per batch. */
export const MAX_TRACKED_TENANTS = 200;

/** What `chargeFailure` decided, and the tenants' failures after it. */
export interface Charge {
  /** The failure counts against the origin; false: it is attributed to the tenant. */
  counted: boolean;
  failures: TenantFailures;
}

/**
 * Charges a failure of `tenant`'s request that started at `at` to the tenant's cap.
 * @example
 * const one = chargeFailure({}, "acme", 1_000, 2, 60_000);             // counted
 * const two = chargeFailure(one.failures, "acme", 2_000, 2, 60_000);   // counted
 * chargeFailure(two.failures, "acme", 3_000, 2, 60_000).counted        // false: attributed
 * chargeFailure(two.failures, "acme", 61_500, 2, 60_000).counted       // true: 1 000 slid out
 */
export function chargeFailure(failures: TenantFailures, tenant: string, at: number, cap: number, windowMs: number): Charge {
  const mine = ownEntry(failures, tenant) ?? [];
  const near = mine.filter((t) => Math.abs(t - at) < windowMs).length;
  if (near >= cap) return { counted: false, failures };
  const kept = [...mine, at].sort((a, b) => a - b).slice(-cap);
  const others = mine.length > 0 ? failures : evictFor(failures, at, windowMs);
  return { counted: true, failures: { ...others, [tenant]: kept } };
}

/** Tenants whose last counted failure started a window or more before `at` are forgotten. */
export function forgetExpired(failures: TenantFailures, at: number, windowMs: number): TenantFailures {
  const entries = Object.entries(failures);
  const live = entries.filter(([, times]) => (times.at(-1) ?? -Infinity) > at - windowMs);
  return live.length === entries.length ? failures : Object.fromEntries(live);
}

/** Room for one more tenant: the expired go first, then the one whose last failure is oldest. */
function evictFor(failures: TenantFailures, at: number, windowMs: number): TenantFailures {
  if (Object.keys(failures).length < MAX_TRACKED_TENANTS) return failures;
  const live = Object.entries(forgetExpired(failures, at, windowMs));
  if (live.length < MAX_TRACKED_TENANTS) return Object.fromEntries(live);
  live.sort(([, a], [, b]) => (a.at(-1) ?? 0) - (b.at(-1) ?? 0));
  return Object.fromEntries(live.slice(live.length - MAX_TRACKED_TENANTS + 1));
}
