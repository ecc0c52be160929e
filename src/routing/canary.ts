/**
 * A scenario's canary: whether it is stopped, and whether its stop criteria trip now.
 *
 * The criteria read the canary origin's shared health (error rate and TTFT EWMAs, over all its
 * traffic; DESIGN §4), the canary's price for the request at hand, and how this scenario's answers
 * were judged on the canary and on the baseline (the monitors' outcome counts: feedback and
 * quality gates). A tripped canary is recorded
 * in its origin's monitor (`stopCanary`), where it stays stopped, and visible, until an operator
 * resumes it: a stopped canary gets no traffic, so its statistics could not argue for it anyway.
 */
import type { ScenarioConfig } from "../config/schema";
import type { OriginSnapshot, OutcomeCounts } from "../health/types";

type Canary = NonNullable<ScenarioConfig["canary"]>;

/** This scenario's judged answers on the canary's origin and on the baseline's origins together. */
export interface CanaryOutcomes {
  canary: OutcomeCounts | null;
  baseline: OutcomeCounts | null;
}

/**
 * A scenario's outcome counts on the canary's origin, and summed over its baseline's origins (the
 * canary's own excepted), from the monitors' snapshots; null on a side no monitor has counted.
 */
export function canaryOutcomes(scenario: string, canaryOrigin: string, baselineOrigins: readonly string[], snapshotOf: (origin: string) => OriginSnapshot | null | undefined): CanaryOutcomes {
  const countsAt = (origin: string): OutcomeCounts | null => {
    const outcomes = snapshotOf(origin)?.outcomes;
    return outcomes && Object.hasOwn(outcomes, scenario) ? outcomes[scenario]! : null;
  };
  const counted = [...new Set(baselineOrigins)].flatMap((origin) => (origin === canaryOrigin ? [] : (countsAt(origin) ?? [])));
  const zero: OutcomeCounts = { served: 0, accepted: 0, rejected: 0, gatesPassed: 0, gatesFailed: 0 };
  const add = (sum: OutcomeCounts, c: OutcomeCounts): OutcomeCounts => ({ served: sum.served + c.served, accepted: sum.accepted + c.accepted, rejected: sum.rejected + c.rejected, gatesPassed: sum.gatesPassed + c.gatesPassed, gatesFailed: sum.gatesFailed + c.gatesFailed });
  const baseline = counted.length === 0 ? null : counted.reduce(add, zero);
  return { canary: countsAt(canaryOrigin), baseline };
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;

/**
 * Why the canary's acceptance trips against the baseline's, or null: feedback (accepted over
 * rated) and then the quality gates (passed over gated), each only once both sides have judged
 * `minRated` answers.
 *
 * @example
 * acceptanceTrip({ acceptanceDrop: 0.1, minRated: 2 }, { canary: { accepted: 1, rejected: 3, ... }, baseline: { accepted: 9, rejected: 1, ... } })
 * // "acceptance 25 % of 4 rated answers < baseline 90 % of 10 − 10 points"
 */
export function acceptanceTrip(stop: Pick<Canary["stop"], "acceptanceDrop" | "minRated">, outcomes: CanaryOutcomes): string | null {
  const { canary, baseline } = outcomes;
  if (stop.acceptanceDrop === undefined || !canary || !baseline) return null;
  const kinds = [
    { what: "acceptance", unit: "rated", good: (c: OutcomeCounts) => c.accepted, bad: (c: OutcomeCounts) => c.rejected },
    { what: "quality-gate pass rate", unit: "gated", good: (c: OutcomeCounts) => c.gatesPassed, bad: (c: OutcomeCounts) => c.gatesFailed },
  ];
  for (const { what, unit, good, bad } of kinds) {
    const n = good(canary) + bad(canary);
    const m = good(baseline) + bad(baseline);
    if (n < stop.minRated || m < stop.minRated) continue;
    const rate = good(canary) / n;
    const base = good(baseline) / m;
    // In integers, the drop to a tenth of a point: rate < base − drop ⟺ good·m·1000 < (good_b·1000 − drop·1000·m)·n, free of float noise at the edge.
    const drop = Math.round(stop.acceptanceDrop * 1000);
    if (good(canary) * m * 1000 < (good(baseline) * 1000 - drop * m) * n) {
      return `${what} ${pct(rate)} of ${n} ${unit} answers < baseline ${pct(base)} of ${m} − ${drop / 10} points`;
    }
  }
  return null;
}

/** Why the canary's stop criteria trip on this snapshot, or null while they hold. */
export function canaryTrip(canary: Canary, snapshot: OriginSnapshot | null, priceMicros: number | null, outcomes: CanaryOutcomes | null = null): string | null {
  const { stop } = canary;
  if (stop.costMicrosPerRequest !== undefined && priceMicros !== null && priceMicros > stop.costMicrosPerRequest) {
    return `cost ${priceMicros} µ$ per request > ${stop.costMicrosPerRequest}`;
  }
  if (snapshot && snapshot.samples >= stop.minSamples) {
    if (stop.errorRate !== undefined && snapshot.errorRate > stop.errorRate) {
      return `error rate ${snapshot.errorRate.toFixed(3)} > ${stop.errorRate} over ${snapshot.samples} samples`;
    }
    if (stop.ttftMs !== undefined && snapshot.ttftMs && snapshot.ttftMs.mean > stop.ttftMs) {
      return `TTFT ${Math.round(snapshot.ttftMs.mean)} ms > ${stop.ttftMs} ms over ${snapshot.samples} samples`;
    }
  }
  // Judged answers have their own minimum (`minRated`), not the monitor's sample count.
  return outcomes ? acceptanceTrip(stop, outcomes) : null;
}
