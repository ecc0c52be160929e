/**
 * A scenario's canary: whether it is stopped, and whether its stop criteria trip now.
 *
 * The criteria read the canary origin's shared health (error rate and TTFT EWMAs, over all its
 * traffic; DESIGN §4) and the canary's price for the request at hand. A tripped canary is recorded
 * in its origin's monitor (`stopCanary`), where it stays stopped, and visible, until an operator
 * resumes it: a stopped canary gets no traffic, so its statistics could not argue for it anyway.
 */
import type { ScenarioConfig } from "../config/schema";
import type { OriginSnapshot } from "../health/types";

type Canary = NonNullable<ScenarioConfig["canary"]>;

/** Why the canary's stop criteria trip on this snapshot, or null while they hold. */
export function canaryTrip(canary: Canary, snapshot: OriginSnapshot | null, priceMicros: number | null): string | null {
  const { stop } = canary;
  if (stop.costMicrosPerRequest !== undefined && priceMicros !== null && priceMicros > stop.costMicrosPerRequest) {
    return `cost ${priceMicros} µ$ per request > ${stop.costMicrosPerRequest}`;
  }
  if (!snapshot || snapshot.samples < stop.minSamples) return null;
  if (stop.errorRate !== undefined && snapshot.errorRate > stop.errorRate) {
    return `error rate ${snapshot.errorRate.toFixed(3)} > ${stop.errorRate} over ${snapshot.samples} samples`;
  }
  if (stop.ttftMs !== undefined && snapshot.ttftMs && snapshot.ttftMs.mean > stop.ttftMs) {
    return `TTFT ${Math.round(snapshot.ttftMs.mean)} ms > ${stop.ttftMs} ms over ${snapshot.samples} samples`;
  }
  return null;
}
