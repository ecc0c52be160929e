/**
 * The canary of a request's scenario, in the request path: is it stopped (recorded in its
 * origin's monitor, or tripping its criteria now, in which case the stop is recorded once per
 * isolate)? The criteria themselves are pure: `canaryTrip` in `canary.ts`.
 */
import type { Context } from "hono";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import type { AppEnv } from "../env";
import type { OriginSnapshot } from "../health/types";
import { estimateTokens } from "../openai/usage";
import { costMicros } from "../pricing/cost";
import { originPrices } from "../usage/reservation";
import { canaryTrip } from "./canary";
import { isolateState } from "./isolate-state";

/**
 * Whether the scenario's canary is stopped: recorded as stopped in its origin's monitor, or its
 * criteria trip now (then the stop is recorded, once per isolate).
 */
export function canaryStopped(
  c: Context<AppEnv>,
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
  const { canaryStopsSent } = isolateState(c.env);
  if (snapshot?.canaryStops[scenarioName] || canaryStopsSent.has(sentKey)) return true;
  const price = costMicros(originPrices(config, canary.origin, at), {
    promptTokens: estimateTokens(bodyBytes),
    cachedTokens: 0,
    cacheWriteTokens: 0,
    completionTokens: scenario.maxOutputTokens,
  });
  const trip = canaryTrip(canary, snapshot, price);
  if (!trip) return false;
  canaryStopsSent.add(sentKey);
  console.warn(`canary of ${scenarioName} on ${canary.origin} stopped: ${trip}`);
  c.executionCtx.waitUntil(
    c.env.ORIGIN_MONITOR.getByName(canary.origin)
      .stopCanary(scenarioName, trip, at)
      .catch((e: unknown) => {
        canaryStopsSent.delete(sentKey);
        console.error(`recording the canary stop of ${scenarioName} failed`, e);
      }),
  );
  return true;
}

