/**
 * Token Router: an OpenAI-compatible LLM router on Cloudflare Workers.
 *
 * The config is validated here, at module load: a bad config stops `wrangler dev`, `wrangler deploy`
 * (Cloudflare runs the module at upload) and `workerd serve` before any request, with a message
 * naming the field. The isolate's state is made on the first request (it draws random ids, which
 * the global scope may not).
 */
import { env } from "cloudflare:workers";
import { createApp } from "./app";
import { activeConfigSource, parseRouterConfig, validateOptionsOf } from "./config/load";
import type { RouterEnv } from "./env";
import { runProbes } from "./health/probe";
import { isolateOf } from "./isolate";

parseRouterConfig(activeConfigSource(env as RouterEnv), validateOptionsOf(env as RouterEnv));

export { ConfigStore } from "./config/config-store";
export { TenantDirectory } from "./directory/tenant-directory";
export { OriginMonitor } from "./health/origin-monitor";
export { TenantLedger } from "./ledger/tenant-ledger";
export { DecisionLog } from "./decisions/decision-log";
export { BatchStore } from "./batch/batch-store";

const app = createApp();

export default {
  fetch: app.fetch,
  /** The cron trigger: probe every origin and report to its monitor. */
  scheduled(_controller, env, ctx) {
    const isolate = isolateOf(env);
    ctx.waitUntil(isolate.live.refresh().then(() => runProbes(isolate.config, env, isolate.clock.now)));
  },
} satisfies ExportedHandler<RouterEnv>;
