/**
 * `npm run deploy`: validates the routing config, then `wrangler deploy` with it.
 *
 *   ROUTER_CONFIG=./router.json npm run deploy [-- --dry-run --outdir dist]
 *
 * The config travels as the `ROUTER_CONFIG` var; the Worker validates it again at load, so even a
 * deploy that skipped this script cannot start with a bad config. Secrets (ADMIN_TOKEN and each
 * origin's `apiKeySecret`) are set with `wrangler secret put NAME`, never in the config.
 */
import { spawnSync } from "node:child_process";
import { loadConfig } from "./lib/local-router";

const configPath = process.env.ROUTER_CONFIG;
if (!configPath) {
  console.error("✘ set ROUTER_CONFIG to your config file: the bundled demo config points at a local simulator.");
  process.exit(1);
}
let source: string;
try {
  ({ source } = loadConfig(configPath));
} catch (e) {
  console.error(`✘ ${(e as Error).message}`);
  process.exit(1);
}
const secrets = new Set(Object.values(loadConfig(configPath).config.origins).flatMap((o) => (o.apiKeySecret ? [o.apiKeySecret] : [])));
console.log(`config ${configPath} is valid; origins' secrets to set with \`wrangler secret put\`: ADMIN_TOKEN${[...secrets].map((s) => `, ${s}`).join("")}`);
const result = spawnSync("npx", ["wrangler", "deploy", "--var", `ROUTER_CONFIG:${JSON.stringify(JSON.parse(source))}`, ...process.argv.slice(2)], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
