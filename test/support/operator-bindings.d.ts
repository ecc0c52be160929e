/**
 * A type-level test. An operator may declare the optional Analytics Engine dataset in
 * wrangler.toml, or set a secret's name as a var there; `npm run types` then types it as required
 * in `worker-configuration.d.ts`. This file declares both that way, so `npm run typecheck` fails
 * should `RouterEnv` (src/env.ts) stop keeping them optional. Types only: the tests bind neither.
 */
declare namespace Cloudflare {
  interface Env {
    REQUEST_ANALYTICS: AnalyticsEngineDataset;
    ADMIN_TOKEN: string;
  }
}
