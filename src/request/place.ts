/**
 * The second step of a request (DESIGN §1, place): what the router knows of the prompt and of the
 * origins, handed to the pure `decide()`, which orders the candidates and says why. Health comes
 * from this isolate's cached snapshots (no round trip); a batch request may wait, within its
 * scenario's bound, for capacity or a cheaper window.
 */
import { promptParts, type PromptParts } from "../affinity/cache-model";
import type { AffinityView } from "../affinity/placement";
import { affinityView } from "./prefix";
import { scenarioOrigins } from "../config/origins";
import { ownEntry } from "../lib/own";
import { estimateTokens } from "../openai/usage";
import { decide, type Decision } from "../routing/decide";
import { priorityOf, type Priority } from "../routing/priority";
import { requestedOutputCap } from "../usage/reservation";
import type { Admission } from "./admit";
import { canaryStopped } from "./canary-stop";
import type { RequestContext } from "./context";

export interface Placement {
  decision: Decision;
  priority: Priority;
  /** What placement saw of the prompt (chat under a scored scenario), for headers and the monitor's hit rates. */
  affinity: AffinityView | undefined;
  /** The prompt as the isolate's cache model counts it, or null (no fingerprint). */
  parts: PromptParts | null;
}

/** Decides where the admitted request goes, after a flex wait if its class and scenario allow one. */
export async function place(ctx: RequestContext, admission: Admission): Promise<Placement> {
  const placeAt = placer(ctx, admission);
  const { clock } = ctx.isolate;
  let placement = placeAt(ctx.startedAt);
  // A batch request may wait, within the scenario's bound, for capacity or a cheaper window.
  const flexDeadline = ctx.startedAt + (admission.scenario.flex?.maxWaitMs ?? 0);
  while (placement.decision.waitMs !== null && clock.now() + placement.decision.waitMs <= flexDeadline) {
    await clock.sleep(placement.decision.waitMs);
    placement = placeAt(clock.now());
  }
  return placement;
}

/**
 * The admitted request's placement as of an instant, with no wait: what `place` decides at each
 * step of a flex wait, and a batch line's one decision (src/batch, which waits by its own alarm).
 * With `lookAhead`, decisions for planning only (see `RoutingRequest.lookAhead`).
 */
export function placer(ctx: RequestContext, admission: Admission, lookAhead = false): (at: number) => Placement {
  const { config, isolate, startedAt } = ctx;
  const { model, scenario, prefix, grant } = admission;
  const { snapshots, reporter, cacheModel } = isolate;

  const parts = prefix ? promptParts(prefix.fp) : null;
  const affinity = prefix && parts ? affinityView(config, prefix, admission.matches, isolate.nextRotation(model), (origin) => cacheModel.reach(origin, parts)) : undefined;
  const cacheSize = (origin: string) => ownEntry(config.origins, origin)?.cache?.capacityTokens;
  const read = snapshots.getMany(scenarioOrigins(scenario));
  if (read.refresh) ctx.waitUntil(read.refresh);
  // The cache's current entry: a snapshot refreshed during a flex wait is seen at once.
  const snapshotOf = (origin: string) => snapshots.peek(origin);
  const priority = priorityOf(admission.request.body.service_tier, ctx.request.headers.get("x-priority"), grant.maxPriority);
  const stopped = canaryStopped({ monitors: ctx.env.ORIGIN_MONITOR, stopsSent: isolate.canaryStopsSent, waitUntil: ctx.waitUntil }, config, model, scenario, snapshotOf, admission.bodyBytes, startedAt);
  const boundaries = admission.boundary ? [...grant.boundaries, admission.boundary] : grant.boundaries;
  const decideAt = (at: number) =>
    decide(
      {
        priority: priority.priority,
        promptTokens: estimateTokens(admission.bodyBytes),
        outputTokens: admission.upstream.endpoint === "embeddings" ? 0 : (requestedOutputCap(admission.upstream) ?? scenario.maxOutputTokens),
        boundaries,
        budgetPressure: grant.budgetPressure,
        softLimited: grant.softLimited.length > 0,
        random: Math.random,
        inFlight: (origin) => reporter.inFlight(origin),
        recentTokens: (origin) => isolate.recentLoad.of(origin, at),
        recentRequests: (origin) => isolate.recentRequests.of(origin, at),
        cacheRoom: (origin) => {
          const capacity = cacheSize(origin);
          return parts && capacity ? cacheModel.room(origin, parts, capacity, at) : null;
        },
        ...(affinity ? { affinity } : {}),
        ...(lookAhead ? { lookAhead } : {}),
      },
      { name: model, scenario, origins: config.origins, canaryStopped: stopped },
      snapshotOf,
      at,
    );
  return (at) => ({ decision: decideAt(at), priority, affinity, parts });
}
