import type { AdminCaller } from "./auth/admin-token";
import type { RequestLog } from "./observe/request-log";

/**
 * What may be set or not: secrets and local vars, which `wrangler types` cannot see, and optional
 * bindings. An operator who declares one of them in wrangler.toml (an Analytics Engine dataset, a
 * var) gets it typed as required in `worker-configuration.d.ts`; `RouterEnv` keeps it optional,
 * as the code reads it, so that regenerating the types never breaks the build.
 */
interface OptionalEnv {
  /** Bearer token of the admin API. A secret when deployed; unset means the admin API refuses everyone. */
  ADMIN_TOKEN?: string;
  /** Optional bearer token that may read the admin API (every GET) and change nothing. A secret. */
  ADMIN_READ_TOKEN?: string;
  /** Routing config as JSON text; unset means the bundled demo config. */
  ROUTER_CONFIG?: string;
  /**
   * Local runs only (`npm start`, `npm run serve`, the tests): "1" lets origins be on loopback.
   * Never set on a deployed Worker, so the bundled demo config cannot reach the edge.
   */
  ALLOW_LOOPBACK_ORIGINS?: string;
  /** Optional Workers Analytics Engine dataset: one data point per request (see request/log.ts). */
  REQUEST_ANALYTICS?: AnalyticsEngineDataset;
  /** Local runs only: a key (`tr-demo-local`) whose tenant the ledger seeds on first use. */
  DEMO_TENANT_KEY?: string;
  /** Benchmarks only: a compressed day for the router's clock (see `clock.ts`). */
  BENCH_CLOCK?: string;
  /** Benchmarks only: a delay (ms) before every call to a tenant's ledger, as a ledger in another region (see `lease/ledger-client.ts`). */
  BENCH_LEDGER_RTT_MS?: string;
}

/**
 * The Worker's environment: the bindings `wrangler types` generates from wrangler.toml
 * (`worker-configuration.d.ts`), plus what may be set or not (`OptionalEnv`).
 */
export interface RouterEnv extends Omit<Env, keyof OptionalEnv>, OptionalEnv {}

/** Hono's environment type for every route of the router. */
export interface AppEnv {
  Bindings: RouterEnv;
  Variables: {
    requestId: string;
    /** The request's log line (see observe/request-log.ts). */
    log: RequestLog;
    /** Under `/admin`: which admin token the caller presented (set by `adminAuth`). */
    admin?: AdminCaller;
    /** Under `/admin`: the change this request made is in the audit log already. */
    audited?: boolean;
  };
}

/** Reads an origin's API key secret by the name the config gives. */
export function secretReader(env: RouterEnv): (name: string) => string | undefined {
  return (name) => {
    const value = (env as unknown as Record<string, unknown>)[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
}
