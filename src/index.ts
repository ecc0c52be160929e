/**
 * Token Router: an OpenAI-compatible LLM router on Cloudflare Workers.
 *
 * The config is validated here, at module load: a bad config stops `wrangler dev`,
 * `wrangler deploy` (Cloudflare runs the module at upload) and `workerd serve` before any
 * request, with a message naming the field.
 */
import { env } from "cloudflare:workers";
import { createApp } from "./app";
import { activeConfig } from "./config/load";
import type { RouterEnv } from "./env";
import { runProbes } from "./health/probe";

activeConfig(env as RouterEnv);

export { TenantDirectory } from "./directory/tenant-directory";
export { OriginMonitor } from "./health/origin-monitor";
export { TenantLedger } from "./ledger/tenant-ledger";
export { DecisionLog } from "./routing/decision-log";

const app = createApp();

export default {
  fetch: app.fetch,
  /** The cron trigger: probe every origin and report to its monitor. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(runProbes(activeConfig(env), env));
  },
} satisfies ExportedHandler<RouterEnv>;
