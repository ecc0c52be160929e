/**
 * Token Router: an OpenAI-compatible LLM router on Cloudflare Workers.
 *
 * The isolate's state is made here, at module load, and the config validated with it: a bad
 * config stops `wrangler dev`, `wrangler deploy` (Cloudflare runs the module at upload) and
 * `workerd serve` before any request, with a message naming the field.
 */
import { env } from "cloudflare:workers";
import { createApp } from "./app";
import type { RouterEnv } from "./env";
import { runProbes } from "./health/probe";
import { isolateOf } from "./isolate";

isolateOf(env as RouterEnv);

export { TenantDirectory } from "./directory/tenant-directory";
export { OriginMonitor } from "./health/origin-monitor";
export { TenantLedger } from "./ledger/tenant-ledger";
export { DecisionLog } from "./decisions/decision-log";

const app = createApp();

export default {
  fetch: app.fetch,
  /** The cron trigger: probe every origin and report to its monitor. */
  scheduled(_controller, env, ctx) {
    const isolate = isolateOf(env);
    ctx.waitUntil(runProbes(isolate.config, env, isolate.clock.now));
  },
} satisfies ExportedHandler<RouterEnv>;
