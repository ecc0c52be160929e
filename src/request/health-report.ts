/**
 * What a request tells its origins' monitors: a sample per attempt that failed, and one for the
 * attempt that served once its answer is complete. Failures name the tenant that caused them, so a
 * monitor counts a tenant's failures against the origin only up to a cap (`health/tenant-cap.ts`).
 */
import type { HealthReporter } from "../health/reporter";
import { sampleKindOf } from "../health/sample-kind";
import type { HealthSample, SampleKind } from "../health/types";
import type { AttemptLog } from "../proxy/forward";

/** Whose request an attempt carried, for its failure samples (see health/tenant-cap.ts). */
export interface Requester {
  /** The tenant whose failures they are: each counts against the origin only up to its cap. */
  tenant: string;
  /**
   * The body carries `sim`: the client asked our simulated origin for faults, so the request's
   * failures are its own doing and none is reported (its successes are). Safe because the field
   * only means something to the simulator: a real provider ignores it or refuses the request with
   * a 4xx, which counts as `ok` anyway. A client that adds it hides only its own failures from the
   * origin's health; it can never make an origin look worse.
   */
  simFaults: boolean;
}

/** The requester of a validated request body. */
export function requesterOf(tenant: string, body: Readonly<Record<string, unknown>>): Requester {
  return { tenant, simFaults: body.sim !== undefined };
}

/** Reports a failure of `requester`'s attempt, or only ends it when the client asked for faults. */
function reportFailure(reporter: HealthReporter, attempt: AttemptLog, kind: SampleKind, latencyMs: number, requester: Requester): Promise<void> | null {
  if (requester.simFaults) {
    reporter.end(attempt.origin);
    return null;
  }
  return reporter.record(attempt.origin, { at: attempt.startedAt, ok: false, kind, latencyMs, tenant: requester.tenant });
}

/**
 * Reports the attempts that ended without serving (errors, timeouts); returns the sends to hand to
 * `waitUntil`. The attempt that served is reported when its answer is complete.
 */
export function reportFailedAttempts(reporter: HealthReporter, attempts: readonly AttemptLog[], requester: Requester): Promise<void>[] {
  const sends: Promise<void>[] = [];
  for (const a of attempts) {
    const kind = sampleKindOf(a.result);
    if (kind === null || kind === "ok") continue;
    const send = reportFailure(reporter, a, kind, a.ms, requester);
    if (send) sends.push(send);
  }
  return sends;
}

/** Reports a stream that served its first token and then broke or timed out. */
export function reportBrokenStream(reporter: HealthReporter, attempt: AttemptLog, kind: "broken" | "timeout", latencyMs: number, requester: Requester): Promise<void> | null {
  return reportFailure(reporter, attempt, kind, latencyMs, requester);
}

/** Reports the attempt that served, once its answer is complete. */
export function reportServed(
  reporter: HealthReporter,
  attempt: AttemptLog,
  latencyMs: number,
  outputTokens: number | undefined,
  prefix?: HealthSample["prefix"],
  outcome?: HealthSample["outcome"],
): Promise<void> | null {
  return reporter.record(attempt.origin, {
    at: attempt.startedAt,
    ok: true,
    kind: "ok",
    ttftMs: attempt.ms,
    latencyMs: Math.max(attempt.ms, latencyMs),
    ...(outputTokens !== undefined ? { outputTokens } : {}),
    ...(prefix ? { prefix } : {}),
    ...(outcome ? { outcome } : {}),
  });
}
