/**
 * The live config through the admin API (`/admin/config/...`, behind the admin guard). Every write
 * is validated here, with this Worker's secrets and code (`config/validate.ts`), then stored as a
 * new version in the ConfigStore; the isolate that took it runs it at once, every other isolate
 * within `CONFIG_MAX_STALE_MS` (its answer says by when: `effectiveBy`).
 *
 *   GET  /admin/config                       the live version and its config
 *   PUT  /admin/config                       a new version  {config, message?, actor?, ifVersion?}
 *   PUT  /admin/config?dryRun=1              every problem, and the diff against the live version; stores nothing
 *   GET  /admin/config/versions              versions, newest first  ?limit, before
 *   GET  /admin/config/versions/:n           one version and its config
 *   GET  /admin/config/diff?from=n&to=m      what changed (to: default the live version)
 *   POST /admin/config/rollback              a new version that restores one  {version, message?, actor?, ifVersion?}
 *   GET  /admin/config/schema                the config's JSON Schema (for editors: `"$schema"`)
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { CONFIG_STORE_NAME, type ConfigVersion } from "../config/config-store";
import { diffConfigs, type ConfigChange } from "../config/diff";
import { CONFIG_MAX_STALE_MS } from "../config/live";
import { validateOptionsOf } from "../config/load";
import { routerConfigSchema, type RouterConfig } from "../config/schema";
import { validateRouterConfig, type ConfigProblem } from "../config/validate";
import { secretReader, type AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { readJsonBody } from "../proxy/read-body";
import { audit } from "./admin-audit";
import { documented } from "../openapi/registry";

/** A config with a few dozen origins is ~20 KB; this leaves room for hundreds. */
const CONFIG_BODY_LIMIT = 1024 * 1024;

const authorship = {
  /** Why: recorded with the version. */
  message: z.string().max(500).default(""),
  /** Who, in words (the token that made the change is recorded anyway). */
  actor: z.string().min(1).max(100).optional(),
  /** Refuse (409) unless the live version is still this one: an edit based on what was read. */
  ifVersion: z.number().int().min(0).optional(),
};

const putSchema = z.object({ config: z.record(z.string(), z.unknown()), ...authorship }).strict();
const rollbackSchema = z.object({ version: z.number().int().min(1), ...authorship }).strict();
const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The oldest version of the previous page: the next page starts below it. */
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict();
const diffQuery = z.object({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1).optional() }).strict();

/** The config's JSON Schema, as an editor reads it: the config as written (defaults optional). */
let configJsonSchema: Record<string, unknown> | null = null;

export function storeOf(c: Context<AppEnv>) {
  return c.env.CONFIG_STORE.getByName(CONFIG_STORE_NAME);
}

async function jsonBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  return validate(schema, (await readJsonBody(c.req.raw, CONFIG_BODY_LIMIT)).value);
}

/**
 * Who made a change: the caller's words, and the fingerprint of the token it used (keyed, as the
 * audit log's: it tells tokens apart and reveals nothing of them).
 */
async function authorOf(c: Context<AppEnv>, actor: string | undefined): Promise<string> {
  const admin = c.get("admin");
  const fingerprint = admin ? `${admin.kind}:${await admin.fingerprint()}` : "unknown";
  return actor ? `${actor} (${fingerprint})` : fingerprint;
}

function versionBody(version: ConfigVersion & { storeId?: string }) {
  const { config, storeId: _storeId, ...summary } = version;
  return { object: "config.version", ...summary, config: JSON.parse(config) as unknown };
}

/** The store's live version, after this isolate's seed is in (a fresh store holds nothing until then). */
export async function liveVersion(c: Context<AppEnv>): Promise<ConfigVersion & { storeId: string }> {
  await isolateOf(c.env).live.refresh();
  const live = await storeOf(c).live();
  if (!live) throw new RouterError({ kind: "internal" });
  return live;
}

async function versionOf(c: Context<AppEnv>, n: number): Promise<ConfigVersion> {
  const version = await storeOf(c).get(n);
  if (!version) throw new RouterError({ kind: "not_found", what: `Config version ${n}` });
  return version;
}

/**
 * Validates a config for this Worker: loopback origins only in local runs, and the secrets
 * `secrets` asks for set (all of them, none, or those it names).
 */
function check(c: Context<AppEnv>, config: unknown, secrets: boolean | ((name: string) => boolean) = true) {
  const secret = secretReader(c.env);
  const required = secrets === true ? () => true : secrets === false ? null : secrets;
  return validateRouterConfig(config, validateOptionsOf(c.env, required ? (name) => !required(name) || secret(name) !== undefined : undefined));
}

/** Who wrote a version, and why. */
export interface CommitMeta {
  message: string;
  actor?: string | undefined;
  ifVersion?: number | undefined;
  rollbackOf?: number;
  /**
   * Which secrets must be set (default: all). A rollback requires none (in an emergency, the way
   * back must stay open); a migration's stage move those of its scenario's origins. Secrets not
   * required but unset come back as warnings.
   */
  requireSecrets?: boolean | ((name: string) => boolean);
}

export interface Committed {
  version: ConfigVersion;
  config: RouterConfig;
  diff: ConfigChange[];
  warnings: ConfigProblem[];
}

/**
 * Stores a config as the next version, once validated here (every problem: a 400 listing them),
 * unless the live version is no longer `ifVersion` (409), and runs it in this isolate at once.
 * The caller audits it.
 */
export async function commitConfig(c: Context<AppEnv>, input: unknown, meta: CommitMeta, live: ConfigVersion & { storeId: string }): Promise<Committed> {
  const requireSecrets = meta.requireSecrets ?? true;
  const result = check(c, input, requireSecrets);
  if (!result.ok) throw new RouterError({ kind: "invalid_config", problems: result.problems });
  const strict = requireSecrets === true ? result : check(c, input);
  const isolate = isolateOf(c.env);
  const put = await storeOf(c).put({
    config: JSON.stringify(input),
    author: await authorOf(c, meta.actor),
    message: meta.message,
    source: meta.rollbackOf === undefined ? "admin" : "rollback",
    ...(meta.rollbackOf === undefined ? {} : { rollbackOf: meta.rollbackOf }),
    ...(meta.ifVersion === undefined ? {} : { ifVersion: meta.ifVersion }),
    at: isolate.clock.now(),
  });
  if (!put.ok) throw new RouterError({ kind: "conflict", message: `The live config is version ${put.live}, not ${meta.ifVersion}: read it again and redo the change.` });
  isolate.live.adopt(live.storeId, put.version.version, result.config);
  return { version: put.version, config: result.config, diff: diffConfigs(JSON.parse(live.config), input), warnings: strict.ok ? [] : strict.problems };
}

/** Stores a config as the next version (see {@link commitConfig}), audits it and answers with it. */
async function store(
  c: Context<AppEnv>,
  input: unknown,
  meta: { message: string; actor?: string | undefined; ifVersion?: number | undefined; rollbackOf?: number },
  live: ConfigVersion & { storeId: string },
) {
  const rollback = meta.rollbackOf !== undefined;
  const { version, diff, warnings } = await commitConfig(c, input, { ...meta, requireSecrets: !rollback }, live);
  await audit(c, {
    action: rollback ? "config.rollback" : "config.update",
    tenant: null,
    target: `version ${version.version}`,
    summary: { message: meta.message, changes: diff.map((d) => `${d.op} ${d.path}`).slice(0, 50), ...(rollback ? { rollbackOf: meta.rollbackOf } : {}) },
  });
  return c.json({
    ...versionBody(version),
    diff,
    effectiveBy: Date.now() + CONFIG_MAX_STALE_MS,
    ...(warnings.length ? { warnings } : {}),
  });
}

documented(
  { method: "get", path: "/admin/config", tag: "Admin: config", auth: "admin-or-read", summary: "The live config version and its config", responses: { 200: { description: "`{object: config.version, version, author, message, source, rollbackOf, createdAt, config, running}`" } } },
  {
    method: "put",
    path: "/admin/config",
    tag: "Admin: config",
    auth: "admin",
    summary: "Store a new config version (?dryRun=1: every problem and the diff, nothing stored)",
    body: putSchema,
    query: z.object({ dryRun: z.enum(["1", "true"]).optional() }),
    responses: { 200: { description: "The new version, its `diff` and `effectiveBy`; or, for a dry run, `{object: config.dry_run, valid, problems, diff, liveVersion}`" } },
  },
  { method: "get", path: "/admin/config/versions", tag: "Admin: config", auth: "admin-or-read", summary: "Config versions, newest first", query: listQuery, responses: { 200: { description: "`{object: list, data, has_more}`" } } },
  { method: "get", path: "/admin/config/versions/{n}", tag: "Admin: config", auth: "admin-or-read", summary: "One config version", responses: { 200: { description: "The version and its config" } } },
  { method: "get", path: "/admin/config/diff", tag: "Admin: config", auth: "admin-or-read", summary: "What changed between two versions", query: diffQuery, responses: { 200: { description: "`{object: config.diff, from, to, changes}`" } } },
  { method: "post", path: "/admin/config/rollback", tag: "Admin: config", auth: "admin", summary: "A new version restoring an earlier one", body: rollbackSchema, responses: { 200: { description: "The new version, its `diff`, `effectiveBy` and `warnings`" } } },
  { method: "get", path: "/admin/config/schema", tag: "Admin: config", auth: "admin-or-read", summary: "The config's JSON Schema (draft 2020-12)", responses: { 200: { description: "A JSON Schema" } } },
);

export const adminConfigRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const live = await liveVersion(c);
    return c.json({ ...versionBody(live), running: isolateOf(c.env).live.current.version });
  })
  .put("/", async (c) => {
    const dryRun = c.req.query("dryRun");
    const body = await jsonBody(c, putSchema);
    const live = await liveVersion(c);
    if (dryRun === "1" || dryRun === "true") {
      // Nothing changes: not an entry of the audit log.
      c.set("audited", true);
      const result = check(c, body.config);
      return c.json({
        object: "config.dry_run",
        valid: result.ok,
        problems: result.ok ? [] : result.problems,
        liveVersion: live.version,
        diff: diffConfigs(JSON.parse(live.config), body.config),
      });
    }
    return store(c, body.config, body, live);
  })
  .get("/versions", async (c) => {
    const query = validate(listQuery, c.req.query());
    await isolateOf(c.env).live.refresh();
    const page = await storeOf(c).list({ limit: query.limit, before: query.before ?? null });
    return c.json({ object: "list", data: page.data, has_more: page.hasMore });
  })
  .get("/versions/:n", async (c) => {
    const n = Number(c.req.param("n"));
    if (!Number.isSafeInteger(n) || n < 1) throw new RouterError({ kind: "not_found", what: `Config version '${c.req.param("n").slice(0, 32)}'` });
    return c.json(versionBody(await versionOf(c, n)));
  })
  .get("/diff", async (c) => {
    const query = validate(diffQuery, c.req.query());
    const from = await versionOf(c, query.from);
    const to = query.to === undefined ? await liveVersion(c) : await versionOf(c, query.to);
    return c.json({ object: "config.diff", from: from.version, to: to.version, changes: diffConfigs(JSON.parse(from.config), JSON.parse(to.config)) });
  })
  .post("/rollback", async (c) => {
    const body = await jsonBody(c, rollbackSchema);
    const live = await liveVersion(c);
    const target = await versionOf(c, body.version);
    const message = body.message || `rollback to version ${target.version}`;
    return store(c, JSON.parse(target.config), { ...body, message, rollbackOf: target.version }, live);
  })
  .get("/schema", (c) => {
    configJsonSchema ??= z.toJSONSchema(routerConfigSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    return c.json(configJsonSchema);
  });
