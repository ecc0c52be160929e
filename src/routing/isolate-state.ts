/**
 * What one isolate keeps between requests for routing: origins' health snapshots (refreshed in
 * the background, never awaited on a request) and the health reporter (batched, flushed through
 * `waitUntil`). One of each per isolate, created on first use with the env's monitor namespace.
 */
import { CacheModel } from "../affinity/cache-model";
import { PromptCacheKeys } from "../affinity/prompt-cache-key";
import { RecentLoad } from "../affinity/recent-load";
import { activeConfig } from "../config/load";
import type { RouterEnv } from "../env";
import { HealthReporter } from "../health/reporter";
import { sampleKindOf } from "../health/sample-kind";
import { SnapshotCache } from "../health/snapshots";
import { SettleBatcher } from "../usage/settle-batcher";
import type { HealthSample } from "../health/types";
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
}

let state: IsolateState | undefined;

export function isolateState(env: RouterEnv): IsolateState {
  const { health } = activeConfig(env);
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
    }),
    canaryStopsSent: new Set(),
    decisionLoggedAt: new Map(),
    rotations: new Map(),
    promptCacheKeys: new PromptCacheKeys(),
    recentLoad: new RecentLoad(15_000),
    recentRequests: new RecentLoad(5_000),
    cacheModel: new CacheModel(),
    settlements: new SettleBatcher(),
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

/**
 * Reports the attempts that ended without serving (errors, timeouts); returns the sends to hand to
 * `waitUntil`. The attempt that served is reported when its answer is complete.
 */
export function reportFailedAttempts(reporter: HealthReporter, attempts: readonly AttemptLog[]): Promise<void>[] {
  const sends: Promise<void>[] = [];
  for (const a of attempts) {
    const kind = sampleKindOf(a.result);
    if (kind === null || kind === "ok") continue;
    const send = reporter.record(a.origin, { at: a.startedAt, ok: false, kind, latencyMs: a.ms });
    if (send) sends.push(send);
  }
  return sends;
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
