/**
 * What one isolate keeps between requests for routing: origins' health snapshots (refreshed in
 * the background, never awaited on a request) and the health reporter (batched, flushed through
 * `waitUntil`). One of each per isolate, created on first use with the env's monitor namespace.
 */
import { CacheModel } from "../affinity/cache-model";
import { FailureLimiter } from "../auth/failure-limit";
import { KeyChecker } from "../auth/key-check";
import { DIRECTORY_NAME } from "../directory/tenant-directory";
import { PromptCacheKeys } from "../affinity/prompt-cache-key";
import { RecentLoad } from "../affinity/recent-load";
import { activeConfig } from "../config/load";
import { secretReader, type RouterEnv } from "../env";
import { probeOrigin } from "../health/probe";
import { HealthReporter } from "../health/reporter";
import { sampleKindOf } from "../health/sample-kind";
import { SnapshotCache } from "../health/snapshots";
import { ownEntry } from "../lib/own";
import { SettleBatcher } from "../usage/settle-batcher";
import type { HealthSample, SampleKind } from "../health/types";
import type { AttemptLog } from "../proxy/forward";

interface IsolateState {
  snapshots: SnapshotCache;
  reporter: HealthReporter;
  /** Canary stops this isolate has already sent to a monitor (`origin|scenario`), so it sends each once. */
  canaryStopsSent: Set<string>;
  /** When this isolate last logged a decision of each scenario (the sampling of `DecisionLog`). */
  decisionLoggedAt: Map<string, number>;
  /** Requests placed per scenario: the `round-robin` policy's counter. */
  rotations: Map<string, number>;
  promptCacheKeys: PromptCacheKeys;
  /** Prompt tokens sent to each origin lately (cold placement weighs it). */
  recentLoad: RecentLoad;
  /** Requests sent to each origin lately (decayed): the load of the fair-share bound. */
  recentRequests: RecentLoad;
  /** What each origin's prefix cache still holds of what this isolate sent (origins that declare their cache size). */
  cacheModel: CacheModel;
  /** Settlements gathered per tenant and sent together. */
  settlements: SettleBatcher;
  /** Tenant keys checked before any tenant's object is reached (MACs, the directory's list). */
  keys: KeyChecker;
  /** Failed authentications per client address: tenant keys and admin tokens apart. */
  keyFailures: FailureLimiter;
  adminFailures: FailureLimiter;
}

let state: IsolateState | undefined;

export function isolateState(env: RouterEnv): IsolateState {
  const { health, security } = activeConfig(env);
  state ??= {
    snapshots: new SnapshotCache({ namespace: env.ORIGIN_MONITOR, now: Date.now, ttlMs: health.snapshotTtlMs }),
    reporter: new HealthReporter({
      namespace: env.ORIGIN_MONITOR,
      now: Date.now,
      maxDelayMs: health.reportDelayMs,
      // The monitor has no config of its own: each batch carries the origin's breaker settings.
      optionsOf: (origin) => {
        const circuit = activeConfig(env).origins[origin]?.circuit;
        return circuit ? { circuit } : undefined;
      },
      // A monitor asks for a probe to tell a tenant's failing requests from a failing origin; the
      // isolate runs it, as the cron does (`runProbes`): a Durable Object never fetches.
      probe: async (origin) => {
        const config = ownEntry(activeConfig(env).origins, origin);
        return config ? probeOrigin(config, secretReader(env), (input, init) => fetch(input, init), Date.now) : null;
      },
    }),
    canaryStopsSent: new Set(),
    decisionLoggedAt: new Map(),
    rotations: new Map(),
    promptCacheKeys: new PromptCacheKeys(),
    recentLoad: new RecentLoad(15_000),
    recentRequests: new RecentLoad(5_000),
    cacheModel: new CacheModel(),
    settlements: new SettleBatcher(),
    keys: new KeyChecker(() => env.TENANT_DIRECTORY.getByName(DIRECTORY_NAME), Date.now),
    keyFailures: new FailureLimiter(security.authFailures),
    adminFailures: new FailureLimiter(security.authFailures),
  };
  return state;
}

/** At most one unexplained decision a second per scenario and isolate goes to the decision log. */
const DECISION_SAMPLE_MS = 1_000;

/** Whether this decision should be logged: always when it was explained, else at most once a second. */
export function shouldLogDecision(state: IsolateState, scenario: string, explained: boolean, now: number): boolean {
  const last = state.decisionLoggedAt.get(scenario);
  if (!explained && last !== undefined && now - last < DECISION_SAMPLE_MS) return false;
  state.decisionLoggedAt.set(scenario, now);
  return true;
}

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
export function requesterOf(tenant: string, body: Record<string, unknown>): Requester {
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

/** The next value of a scenario's placement counter. */
export function nextRotation(state: IsolateState, scenario: string): number {
  const n = state.rotations.get(scenario) ?? 0;
  state.rotations.set(scenario, n + 1 >= Number.MAX_SAFE_INTEGER ? 0 : n + 1);
  return n;
}

/** Reports the attempt that served, once its answer is complete. */
export function reportServed(
  reporter: HealthReporter,
  attempt: AttemptLog,
  latencyMs: number,
  outputTokens: number | undefined,
  prefix?: HealthSample["prefix"],
): Promise<void> | null {
  return reporter.record(attempt.origin, {
    at: attempt.startedAt,
    ok: true,
    kind: "ok",
    ttftMs: attempt.ms,
    latencyMs: Math.max(attempt.ms, latencyMs),
    ...(outputTokens !== undefined ? { outputTokens } : {}),
    ...(prefix ? { prefix } : {}),
  });
}
