/**
 * When a batch's next lines should run: now, or at a cheaper window that opens before the batch
 * must start running whatever it costs. Pure: the router's own decision (`decide()`, batch class)
 * is asked at instants ahead, with the health it knows now, so the windows that close an origin or
 * reserve it for interactive traffic, the price windows (off-peak discounts) and capacity all
 * count exactly as they will for each line.
 *
 * The rule: run now unless, before `latestStart` (the deadline less the reserve kept for running),
 * the origin the router would choose is at least 10 % cheaper for the same request; then wait for
 * the cheapest such instant (the first, if several tie). Instants are scanned on the 5-minute
 * grid, where configured windows start. When every origin is at capacity, a few seconds' wait;
 * when none may serve now, until the first instant one may (the decision's `availableAt`).
 */
import type { Decision } from "../routing/decide";

export type Plan = { kind: "run" } | { kind: "wait"; until: number; reason: string };

/** The scan's grid: windows are written in minutes, almost always on a multiple of five. */
export const SCAN_STEP_MS = 300_000;
/** Waiting pays only for a price at most this share of now's (the flex wait's rule too). */
const CHEAPER = 0.9;
const CAPACITY_RETRY_MS = 2_000;
/** When no origin may serve and none says until when. */
const UNAVAILABLE_RETRY_MS = 300_000;

/** The price of the origin the decision would send a request to first (a canary aside), or null when none may serve. */
export function chosenPrice(decision: Decision): { origin: string; priceMicros: number } | null {
  for (const target of decision.attempts) {
    const c = decision.explanation.candidates.find((k) => k.origin === target.origin && k.model === target.model && k.role === "candidate");
    if (c?.terms) return { origin: c.origin, priceMicros: c.terms.priceMicros };
  }
  return null;
}

function everyOverCapacity(decision: Decision): boolean {
  return (
    decision.attempts.length > 0 &&
    decision.attempts.every((t) => decision.explanation.candidates.some((k) => k.origin === t.origin && k.model === t.model && k.demoted === "over_capacity"))
  );
}

const clockOf = (at: number) => new Date(at).toISOString().slice(11, 16);

/**
 * The plan for a batch's next lines: `decideAt` is the router's decision at an instant, `lookAhead`
 * the same without working out when a candidate excluded then may serve (many instants are asked).
 * @example
 * const decideAt = (lookAhead: boolean) => (at: number) => decide({ ...request, lookAhead }, view, snapshots, at);
 * planBatch(decideAt(false), decideAt(true), now, deadline - reserveMs)
 * // { kind: "wait", until: <16:30 UTC>, reason: "beta is cheaper from 16:30 UTC (270 vs 540 µ$ a request)" }
 */
export function planBatch(decideAt: (at: number) => Decision, lookAhead: (at: number) => Decision, now: number, latestStart: number): Plan {
  const current = decideAt(now);
  const price = chosenPrice(current);
  if (price === null) {
    const until = current.availableAt;
    return until === null ? { kind: "wait", until: now + UNAVAILABLE_RETRY_MS, reason: "no origin may serve batch requests now" } : { kind: "wait", until, reason: `no origin may serve batch requests until ${clockOf(until)} UTC` };
  }
  if (everyOverCapacity(current)) return { kind: "wait", until: now + CAPACITY_RETRY_MS, reason: "every origin is at capacity" };

  let cheapest: { at: number; origin: string; priceMicros: number } | null = null;
  for (let at = Math.floor(now / SCAN_STEP_MS) * SCAN_STEP_MS + SCAN_STEP_MS; at <= latestStart; at += SCAN_STEP_MS) {
    const later = chosenPrice(lookAhead(at));
    if (later !== null && (cheapest === null || later.priceMicros < cheapest.priceMicros)) cheapest = { at, ...later };
  }
  if (cheapest === null || cheapest.priceMicros >= price.priceMicros || cheapest.priceMicros > price.priceMicros * CHEAPER) return { kind: "run" };
  return { kind: "wait", until: cheapest.at, reason: `${cheapest.origin} is cheaper from ${clockOf(cheapest.at)} UTC (${cheapest.priceMicros} vs ${price.priceMicros} µ$ a request)` };
}
