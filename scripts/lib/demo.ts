/**
 * The local demo (`npm start`, `npm run serve -- --demo`, the e2e test, the benchmark): its
 * documented credentials, its secrets, and the bundled config pointed at wherever the simulated
 * origins listen. Local runs only: deployed Workers get their secrets from `wrangler secret put`.
 */
import type { RouterConfigInput } from "../../src/config/schema";
import { DEMO_ALPHA_API_KEY, DEMO_BETA_API_KEY } from "../../src/sim/demo";

/** The documented local credentials. Deployed Workers get theirs from secrets, never these. */
export const LOCAL_ADMIN_TOKEN = "admin-local";
export const LOCAL_DEMO_KEY = "tr-demo-local";

/** Where the bundled demo config expects the simulator. */
export const DEMO_SIM_URL = "http://127.0.0.1:8790";

/** The documented admin token and tenant key, and the simulator's API keys, by binding name. */
export const DEMO_SECRETS: Readonly<Record<string, string>> = {
  ADMIN_TOKEN: LOCAL_ADMIN_TOKEN,
  DEMO_TENANT_KEY: LOCAL_DEMO_KEY,
  MAAS_ALPHA_API_KEY: DEMO_ALPHA_API_KEY,
  MAAS_BETA_API_KEY: DEMO_BETA_API_KEY,
};

/**
 * What marks a run as local (never set on a deployed Worker): origins on loopback are allowed, as
 * the simulator and a pool on the same machine are (`config/validate.ts`).
 */
export const LOCAL_VARS: Readonly<Record<string, string>> = { ALLOW_LOOPBACK_ORIGINS: "1" };

/**
 * The config with the origins that point at the demo simulator moved to `simUrl`. It takes and
 * gives the config as written (`loadConfig(...).input`): the Worker parses it again, and parsing
 * is not idempotent (prices in USD become micro-dollars).
 * @example
 * pointAtSim(demoConfig, "http://127.0.0.1:40123").origins["pool-local"].baseUrl; // "http://127.0.0.1:40123/pool-local/v1"
 */
export function pointAtSim(config: RouterConfigInput, simUrl: string): RouterConfigInput {
  const origins = Object.fromEntries(
    Object.entries(config.origins).map(([name, o]) => [
      name,
      o.baseUrl.startsWith(`${DEMO_SIM_URL}/`) ? { ...o, baseUrl: simUrl + o.baseUrl.slice(DEMO_SIM_URL.length) } : o,
    ]),
  );
  return { ...config, origins };
}
