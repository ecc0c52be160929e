/**
 * Where the Worker's config comes from, and turning config text into a validated `RouterConfig`.
 *
 * The config a deployment starts from (its *seed*) is, in order: `ROUTER_CONFIG` (a var, as local
 * runs and small deployments set it), the config `npm run deploy` bundles into the Worker
 * (`ROUTER_CONFIG_BUNDLED`, with no 5 KB cap), else the bundled demo config. The seed is validated
 * at module load (see `index.ts`), so a bad one stops `wrangler deploy` at upload. The config
 * requests are served with is the ConfigStore's live version (`config/live.ts`), which the seed
 * becomes version 1 of.
 */
import demoConfig from "./demo.json";
import type { RouterConfig } from "./schema";
import { validateRouterConfig, type ConfigProblem, type ValidateOptions } from "./validate";

/** Set by `npm run deploy` (esbuild `define`): the operator's config, bundled as JSON text. */
declare const ROUTER_CONFIG_BUNDLED: string | undefined;

/** A config that failed validation; `message` names every offending field. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(readonly found: ConfigProblem[]) {
    const problems = found.map((p) => `${p.path}: ${p.message}`);
    super(`invalid router config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Validates a config given as parsed JSON or as JSON text; throws a {@link ConfigError} listing
 * every problem. Loopback origins are allowed unless the options say otherwise: scripts and tests
 * parse local configs, the Worker passes {@link validateOptionsOf} its env.
 *
 * @example
 * parseRouterConfig('{"version":1,"origins":{},"scenarios":{}}'); // throws ConfigError "origins: declare at least one origin"
 */
export function parseRouterConfig(input: unknown, options: ValidateOptions = { allowLoopback: true }): RouterConfig {
  const result = validateRouterConfig(input, options);
  if (!result.ok) throw new ConfigError(result.problems);
  return result.config;
}

/** How the Worker validates configs: loopback origins only where `ALLOW_LOOPBACK_ORIGINS` is set (local runs). */
export function validateOptionsOf(env: { ALLOW_LOOPBACK_ORIGINS?: string | undefined }, secretIsSet?: (name: string) => boolean): ValidateOptions {
  const allow = env.ALLOW_LOOPBACK_ORIGINS;
  return { allowLoopback: allow === "1" || allow === "true", ...(secretIsSet ? { secretIsSet } : {}) };
}

/** The deployment's seed config: `ROUTER_CONFIG`, else the deploy's bundled config, else the demo config. */
export function activeConfigSource(env: { ROUTER_CONFIG?: string }): string | typeof demoConfig {
  if (env.ROUTER_CONFIG) return env.ROUTER_CONFIG;
  if (typeof ROUTER_CONFIG_BUNDLED === "string" && ROUTER_CONFIG_BUNDLED !== "") return ROUTER_CONFIG_BUNDLED;
  return demoConfig;
}
