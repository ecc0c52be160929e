/** A health snapshot of an origin nobody has measured yet, with `overrides` on top. */
import type { OriginSnapshot } from "../../src/health/types";

export function emptySnapshot(origin: string, overrides: Partial<OriginSnapshot> = {}): OriginSnapshot {
  return {
    origin,
    circuit: { state: "closed", since: 0, openUntil: null, reason: "initial" },
    ttftMs: null,
    coldTtftMs: null,
    latencyMs: null,
    tokensPerSec: null,
    errorRate: 0,
    consecutiveFailures: 0,
    attributedToTenants: 0,
    lastAttributed: null,
    inFlight: 0,
    samples: 0,
    hourlyTtftMs: Array.from({ length: 24 }, () => null),
    updatedAt: null,
    canaryStops: {},
    prefixCache: {},
    outcomes: {},
    ...overrides,
  };
}
