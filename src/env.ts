import type { RouterConfig } from "./config/schema";
import { configuredScrubber, type Scrub } from "./proxy/scrub";

/**
 * The Worker's environment: the bindings `wrangler types` generates from wrangler.toml
 * (`worker-configuration.d.ts`), plus what is set as secrets or local vars, which it cannot see.
 */
export interface RouterEnv extends Env {
  /** Bearer token of the admin API. A secret when deployed; unset means the admin API refuses everyone. */
  ADMIN_TOKEN?: string;
  /** Routing config as JSON text; unset means the bundled demo config. */
  ROUTER_CONFIG?: string;
  /** Local runs only: a key (`tr-demo-local`) whose tenant the ledger seeds on first use. */
  DEMO_TENANT_KEY?: string;
}

/** Hono's environment type for every route of the router. */
export interface AppEnv {
  Bindings: RouterEnv;
  Variables: { requestId: string };
}

/** Reads an origin's API key secret by the name the config gives. */
export function secretReader(env: RouterEnv): (name: string) => string | undefined {
  return (name) => {
    const value = (env as unknown as Record<string, unknown>)[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
}

/** What scrubs origin text before it reaches a client: origin keys and the router's own tokens. */
export function scrubberOf(config: RouterConfig, env: RouterEnv): Scrub {
  return configuredScrubber(config, secretReader(env), [env.ADMIN_TOKEN, env.DEMO_TENANT_KEY]);
}
