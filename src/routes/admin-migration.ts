/**
 * A scenario's migration through the admin API (issue #19; stages in `migration/schema.ts`):
 *
 *   GET  /admin/scenarios/:scenario/migration          its stage, effective routing, figures and history
 *   POST /admin/scenarios/:scenario/migration/stage    move it  {to, message?, actor?, ifVersion?, force?}
 *
 * A move is a new version of the live config (the stage is a config field), so versions, diff and
 * rollback (`admin-config.ts`) cover it, and the history is read from the versions themselves. A
 * move is refused (409) when it skips a stage (`migration/stages.ts`), when the live version is not
 * `ifVersion` (two operators moving at once: the second is refused, not silently applied on top),
 * or when a promotion's figures fail (`promotionRefusals`) unless `force` is set, which the
 * version's message and the audit row then say. The audit row (`scenario.migration.stage`) keeps
 * the figures at the moment of the move.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { TrailEntry } from "../config/config-store";
import { CONFIG_MAX_STALE_MS } from "../config/live";
import { validateOptionsOf } from "../config/load";
import { scenarioOrigins } from "../config/origins";
import type { RouterConfig, ScenarioConfig } from "../config/schema";
import { validateRouterConfig } from "../config/validate";
import type { AppEnv } from "../env";
import type { OriginSnapshot } from "../health/types";
import { isolateOf } from "../isolate";
import { ownEntry } from "../lib/own";
import { baselineOrigins, migrationFigures, promotionRefusals, type MigrationFigures } from "../migration/figures";
import { STAGES, type Migration, type Stage } from "../migration/schema";
import { markCanaryStart } from "../request/canary-stop";
import { checkMove, nextStages } from "../migration/stages";
import { RouterError } from "../openai/errors";
import { documented } from "../openapi/registry";
import { audit } from "./admin-audit";
import { commitConfig, liveVersion, storeOf } from "./admin-config";
import { body, directoryOf, now, shortParam } from "./admin-request";

/** The audit action of a stage move. */
export const MIGRATION_AUDIT_ACTION = "scenario.migration.stage";
/** How many of the newest move rows the history looks through for the figures of each move. */
const AUDIT_LOOKBACK = 200;

const moveSchema = z
  .object({
    to: z.enum(STAGES),
    /** Why: recorded with the version (default: "migration of <scenario>: <from> → <to>"). */
    message: z.string().max(400).optional(),
    /** Who, in words (the token that made the change is recorded anyway). */
    actor: z.string().min(1).max(100).optional(),
    /** Refuse (409) unless the live config is still this version. */
    ifVersion: z.number().int().min(0).optional(),
    /** Promote although the figures fail the criteria; recorded as forced. */
    force: z.boolean().default(false),
  })
  .strict();

type Live = Awaited<ReturnType<typeof liveVersion>>;

interface MigrationState {
  live: Live;
  config: RouterConfig;
  scenario: ScenarioConfig;
  migration: Migration;
  /** Every version at which the stage changed, oldest first. */
  trail: Array<TrailEntry & { value: unknown }>;
}

/** The live config's migration of the path's scenario, or 404 (no storage is reached for an unknown name). */
async function migrationState(c: Context<AppEnv>): Promise<MigrationState> {
  const name = c.req.param("scenario") ?? "";
  const live = await liveVersion(c);
  const parsed = validateRouterConfig(live.config, validateOptionsOf(c.env));
  if (!parsed.ok) throw new RouterError({ kind: "internal" });
  const scenario = ownEntry(parsed.config.scenarios, name);
  if (!scenario) throw new RouterError({ kind: "not_found", what: `Scenario '${shortParam(c, "scenario")}'` });
  if (!scenario.migration) throw new RouterError({ kind: "not_found", what: `A migration of scenario '${shortParam(c, "scenario")}'` });
  const trail = (await storeOf(c).trail(["scenarios", name, "migration", "stage"])).map((v) => ({ ...v, value: JSON.parse(v.json) as unknown }));
  return { live, config: parsed.config, scenario, migration: scenario.migration, trail };
}

/** The figures now: the origins' monitors and the eval pairs of the current stage. */
async function figuresOf(c: Context<AppEnv>, name: string, state: MigrationState): Promise<MigrationFigures> {
  const { config, migration, trail } = state;
  const at = now(c);
  const since = trail.at(-1)?.createdAt ?? 0;
  const origins = [migration.candidate.origin, ...baselineOrigins(config, name, migration)];
  const [snapshots, evals] = await Promise.all([
    Promise.all(origins.map((o) => c.env.ORIGIN_MONITOR.getByName(o).snapshot(at))),
    c.env.DECISION_LOG.getByName(name).evalSummary(migration.candidate.origin, migration.stage, since),
  ]);
  const byOrigin = new Map<string, OriginSnapshot>(snapshots.map((s, i) => [origins[i]!, s]));
  return migrationFigures({ config, scenario: name, migration, snapshots: byOrigin, evals, since, at });
}

/** The moves recorded in the audit log, by the version they wrote. */
async function auditedMoves(c: Context<AppEnv>, name: string): Promise<Map<number, Record<string, unknown>>> {
  const page = await directoryOf(c).listAudit({ limit: AUDIT_LOOKBACK, before: null, after: null, tenant: null, action: MIGRATION_AUDIT_ACTION });
  const moves = new Map<number, Record<string, unknown>>();
  for (const row of page.data) {
    if (row.target !== name) continue;
    const summary = JSON.parse(row.summary) as Record<string, unknown>;
    if (typeof summary.version === "number") moves.set(summary.version, summary);
  }
  return moves;
}

/** How the scenario routes: a parsed scenario's routing is already derived from its stage (`migration/derive.ts`). */
function effectiveOf(scenario: ScenarioConfig) {
  return { candidates: scenario.candidates, routing: scenario.routing, canary: scenario.canary ?? null, shadow: scenario.shadow ?? null };
}

documented(
  {
    method: "get",
    path: "/admin/scenarios/{scenario}/migration",
    tag: "Admin: config",
    auth: "admin-or-read",
    summary: "A scenario's migration: its stage, effective routing, the figures of candidate and baseline, and its history",
    responses: { 200: { description: "`{object: scenario.migration, scenario, configVersion, migration, since, next, effective, figures, history}`" } },
  },
  {
    method: "post",
    path: "/admin/scenarios/{scenario}/migration/stage",
    tag: "Admin: config",
    auth: "admin",
    summary: "Move a scenario's migration to another stage (a new config version); 409 for a skipped stage, a stale ifVersion, or failing figures without force",
    body: moveSchema,
    responses: { 200: { description: "`{object: scenario.migration.move, scenario, from, to, kind, forced, overridden, version, effective, figures, effectiveBy}`" } },
  },
);

export const migrationRoutes = new Hono<AppEnv>()
  .get("/scenarios/:scenario/migration", async (c) => {
    const name = c.req.param("scenario");
    const state = await migrationState(c);
    const [figures, moves] = await Promise.all([figuresOf(c, name, state), auditedMoves(c, name)]);
    const history = state.trail.map((v, i) => {
      const move = moves.get(v.version);
      return {
        version: v.version,
        stage: v.value,
        from: i > 0 ? state.trail[i - 1]!.value : null,
        author: v.author,
        message: v.message,
        source: v.source,
        at: v.createdAt,
        forced: move?.forced ?? false,
        figures: move?.figures ?? null,
      };
    });
    return c.json({
      object: "scenario.migration",
      scenario: name,
      configVersion: state.live.version,
      migration: state.migration,
      since: figures.since,
      next: nextStages(state.migration.stage),
      effective: effectiveOf(state.scenario),
      figures,
      history,
    });
  })
  .post("/scenarios/:scenario/migration/stage", async (c) => {
    const name = c.req.param("scenario");
    const move = await body(c, moveSchema);
    const state = await migrationState(c);
    const { live, config, migration } = state;
    if (move.ifVersion !== undefined && move.ifVersion !== live.version) {
      throw new RouterError({ kind: "conflict", message: `The live config is version ${live.version}, not ${move.ifVersion}: read the migration again and redo the move.` });
    }
    const from: Stage = migration.stage;
    const allowed = checkMove(from, move.to);
    if (!allowed.ok) throw new RouterError({ kind: "conflict", code: "illegal_stage_move", message: allowed.message });
    const figures = await figuresOf(c, name, state);
    const refusals = allowed.kind === "forward" ? promotionRefusals(move.to, migration, figures) : [];
    if (refusals.length > 0 && !move.force) {
      throw new RouterError({
        kind: "conflict",
        code: "criteria_not_met",
        message: `Promotion of '${name}' to '${move.to}' refused: ${refusals.join("; ")}. Send "force": true to promote anyway (recorded as forced).`.slice(0, 2000),
      });
    }
    const forced = refusals.length > 0;

    const next = JSON.parse(live.config) as { scenarios: Record<string, { migration: { stage: Stage } }> };
    next.scenarios[name]!.migration.stage = move.to;
    const message = `${move.message ?? `migration of ${name}: ${from} → ${move.to}`}${forced ? " [forced]" : ""}`;
    // Secrets the scenario's origins need must be set; an unset one elsewhere (the config runs
    // with it already) is a warning, not a reason to hold the migration.
    const origins = [...scenarioOrigins(state.scenario), migration.candidate.origin];
    const scenarioSecrets = new Set(origins.flatMap((o) => ownEntry(config.origins, o)?.apiKeySecret ?? []));
    const committed = await commitConfig(c, next, { message, actor: move.actor, ifVersion: move.ifVersion ?? live.version, requireSecrets: (s) => scenarioSecrets.has(s) }, live);

    let canaryStopCleared = false;
    if (move.to === "canary") {
      // A stop left from an earlier canary, or judgments of an earlier one, would stop this one at its first request.
      canaryStopCleared = await markCanaryStart(c.env.ORIGIN_MONITOR, name, ownEntry(committed.config.scenarios, name)!, "start", now(c));
      const isolate = isolateOf(c.env);
      isolate.canaryStopsSent.delete(`${migration.candidate.origin}|${name}`);
      await isolate.snapshots.refreshNow(migration.candidate.origin);
    }
    await audit(c, {
      action: MIGRATION_AUDIT_ACTION,
      tenant: null,
      target: name,
      summary: { from, to: move.to, kind: allowed.kind, message, version: committed.version.version, forced, overridden: forced ? refusals : [], canaryStopCleared, figures },
    });
    const { config: _config, ...version } = committed.version;
    const scenario = ownEntry(committed.config.scenarios, name)!;
    return c.json({
      object: "scenario.migration.move",
      scenario: name,
      from,
      to: move.to,
      kind: allowed.kind,
      forced,
      overridden: forced ? refusals : [],
      canaryStopCleared,
      version,
      effective: effectiveOf(scenario),
      figures,
      effectiveBy: Date.now() + CONFIG_MAX_STALE_MS,
      ...(committed.warnings.length ? { warnings: committed.warnings } : {}),
    });
  });

