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
import { canaryOutcomes, canaryTrip } from "../routing/canary";

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
  const outcomes = canaryOutcomes(scenarioName, canary.origin, scenario.candidates.map((c) => c.origin), snapshotOf);
  const trip = canaryTrip(canary, snapshot, price, outcomes);
  if (!trip) return false;
  deps.stopsSent.add(sentKey);
  console.warn(`canary of ${scenarioName} on ${canary.origin} stopped: ${trip}`);
  deps.waitUntil(
    deps.monitors
      .getByName(canary.origin)
      .stopCanary(scenarioName, trip, at)
      .catch((e: unknown) => {
        deps.stopsSent.delete(sentKey);
        console.error(`recording the canary stop of ${scenarioName} failed`, e);
      }),
  );
  return true;
}
