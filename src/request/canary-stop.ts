/**
 * The canary of a request's scenario, in the request path: is it stopped (recorded in its
 * origin's monitor, or tripping its criteria now, in which case the stop is recorded, once per
 * isolate)? Its acceptance is compared with that of the scenario's candidates (the baseline). The criteria themselves are pure: `canaryTrip` in `routing/canary.ts`.
 */
import { originPrices } from "../config/origins";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { OriginMonitor } from "../health/origin-monitor";
import type { OriginSnapshot } from "../health/types";
import { estimateTokens } from "../openai/usage";
import { costMicros } from "../pricing/cost";
import { NO_OUTCOMES } from "../health/monitor-state";
import { acceptanceTrip, baselineCounts, canaryBaselineOrigins, canaryOutcomes, canaryTrip } from "../routing/canary";

/** What recording a stop needs: the monitors, the isolate's memory of stops sent, and `waitUntil`. */
export interface CanaryStopDeps {
  monitors: Pick<DurableObjectNamespace<OriginMonitor>, "getByName">;
  stopsSent: Set<string>;
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * Whether the scenario's canary is stopped: recorded as stopped in its origin's monitor, or its
 * criteria trip now (then the stop is recorded, once per isolate).
 */
export function canaryStopped(
  deps: CanaryStopDeps,
  config: RouterConfig,
  scenarioName: string,
  scenario: ScenarioConfig,
  snapshotOf: (origin: string) => OriginSnapshot | null,
  bodyBytes: number,
  at: number,
): boolean {
  const canary = scenario.canary;
  if (!canary) return false;
  const snapshot = snapshotOf(canary.origin);
  const sentKey = `${canary.origin}|${scenarioName}`;
  if (snapshot?.canaryStops[scenarioName] || deps.stopsSent.has(sentKey)) return true;
  const price = costMicros(originPrices(config, canary.origin, at), {
    promptTokens: estimateTokens(bodyBytes),
    cachedTokens: 0,
    cacheWriteTokens: 0,
    completionTokens: scenario.maxOutputTokens,
  });
  // The baseline is the scenario's own route: its candidates (in a migration's canary stage, the former route).
  const outcomes = canaryOutcomes(scenarioName, canary.origin, canaryBaselineOrigins(scenario, canary.origin), snapshotOf);
  const healthTrip = canaryTrip(canary, snapshot, price);
  const trip = healthTrip ?? acceptanceTrip(canary.stop, outcomes);
  if (!trip) return false;
  deps.stopsSent.add(sentKey);
  console.warn(`canary of ${scenarioName} on ${canary.origin} stopped: ${trip}`);
  const monitor = deps.monitors.getByName(canary.origin);
  // Acceptance was judged on the counts since the start this snapshot shows: the monitor refuses the stop if the canary has (re)started since.
  const recorded = healthTrip ? monitor.stopCanary(scenarioName, trip, at) : monitor.tripCanary(scenarioName, trip, at, outcomes.since);
  deps.waitUntil(
    recorded.then(
      (stop) => {
        if (!stop) deps.stopsSent.delete(sentKey);
      },
      (e: unknown) => {
        deps.stopsSent.delete(sentKey);
        console.error(`recording the canary stop of ${scenarioName} failed`, e);
      },
    ),
  );
  return true;
}

/**
 * Records in the monitor of a scenario's canary that it starts (a move into `canary`) or resumes
 * now, with its baseline's outcome counts read afresh from their monitors: its acceptance counts
 * from here. True when a stop was cleared; a resume of a canary not stopped changes nothing.
 */
export async function markCanaryStart(
  monitors: Pick<DurableObjectNamespace<OriginMonitor>, "getByName">,
  scenarioName: string,
  scenario: ScenarioConfig,
  how: "start" | "resume",
  at: number,
): Promise<boolean> {
  const canary = scenario.canary;
  if (!canary) return false;
  const origins = canaryBaselineOrigins(scenario, canary.origin);
  const snapshots = new Map(await Promise.all(origins.map(async (o) => [o, await monitors.getByName(o).snapshot(at)] as const)));
  const baseline = baselineCounts(scenarioName, canary.origin, origins, (o) => snapshots.get(o)) ?? NO_OUTCOMES;
  const monitor = monitors.getByName(canary.origin);
  return how === "start" ? monitor.startCanary(scenarioName, baseline, at) : monitor.resumeCanary(scenarioName, baseline, at);
}
