/**
 * A scenario's effective routing, derived from its migration's stage (see `schema.ts` for what
 * each stage means). The config schema applies it when a config is parsed, so the request path,
 * `decide()` and the canary's self-stopping see plain `shadow`, `canary` and candidates, and a
 * stage move is nothing but a new config version. Pure.
 */
import type { z } from "zod";
import type { Candidate } from "../config/schema";
import type { canarySchema, shadowSchema } from "../routing/schema";
import { SHADOW_STAGES, type Migration } from "./schema";

/** The routing parts a migration sets (a parsed scenario has them; `ScenarioConfig` is derived from this). */
export interface EffectiveRouting {
  candidates: Candidate[];
  routing: "scored" | "ordered";
  canary?: z.infer<typeof canarySchema> | undefined;
  shadow?: z.infer<typeof shadowSchema> | undefined;
}

/**
 * The scenario as it routes in its migration's stage; a scenario without one is returned as is.
 *
 * @example
 * withMigration({ ...scenario, candidates: [maas], migration: { stage: "canary", candidate: pool, canary: { share: 0.05, stop }, ... } })
 * // { ...scenario, candidates: [maas], canary: { origin: pool.origin, model: pool.model, share: 0.05, stop } }
 */
export function withMigration<S extends EffectiveRouting & { migration?: Migration | undefined }>(scenario: S): S {
  const migration = scenario.migration;
  return migration ? { ...scenario, ...effectiveRouting(scenario, migration) } : scenario;
}

/** What the stage routes where; the scenario's own candidates are the baseline in every stage. */
export function effectiveRouting(scenario: Pick<EffectiveRouting, "candidates" | "routing">, migration: Migration): EffectiveRouting {
  const { candidate, stage } = migration;
  const baseline: EffectiveRouting = { candidates: scenario.candidates, routing: scenario.routing, canary: undefined, shadow: undefined };
  if (SHADOW_STAGES.has(stage)) {
    return migration.shadowShare > 0 ? { ...baseline, shadow: { origin: candidate.origin, model: candidate.model, share: migration.shadowShare } } : baseline;
  }
  switch (stage) {
    case "canary":
      return { ...baseline, canary: { origin: candidate.origin, model: candidate.model, share: migration.canary.share, stop: migration.canary.stop } };
    case "primary":
      // The candidate serves first and the former route is its fallback chain, in its order:
      // scored routing could otherwise prefer the former route and leave the candidate idle.
      return { ...baseline, routing: "ordered", candidates: [{ origin: candidate.origin, model: candidate.model }, ...scenario.candidates] };
    default:
      return baseline;
  }
}
