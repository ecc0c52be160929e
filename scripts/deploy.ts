/**
 * `npm run deploy`: validates a routing config as the edge will run it, then `wrangler deploy`
 * with the config bundled into the Worker. `npm run deploy -- --help` says how.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ConfigError, parseRouterConfig } from "../src/config/load";

const HELP = `Deploys Token Router to Cloudflare with your routing config.

  ROUTER_CONFIG=./router.json npm run deploy [-- <wrangler deploy options>]

  e.g.  ROUTER_CONFIG=./router.json npm run deploy -- --dry-run --outdir dist
        ROUTER_CONFIG=./router.json npm run deploy -- --env staging

What it does:
  1. Validates the config as the Worker will at the edge, listing every problem at once: its
     shape, unknown origins, overlapping price windows, and origins on loopback (the bundled
     demo config points at 127.0.0.1 and is refused).
  2. Bundles the config into the Worker (no 5 KB cap, unlike a var) and runs \`wrangler deploy\`.
     The Worker validates it again when Cloudflare loads it: a plain \`wrangler deploy\` of the demo
     config fails at upload, not at the first request.
  3. The config becomes a new version in the ConfigStore if it differs from every config deployed
     before; from then on change it live with PUT /admin/config (versions, diff, rollback).

Before the first deploy (once each; never put a secret in the config):
  npx wrangler secret put ADMIN_TOKEN          # the admin API's token
  npx wrangler secret put ADMIN_READ_TOKEN     # optional: a read-only token for dashboards
  npx wrangler secret put <NAME>               # each origin's apiKeySecret

Rolling back: \`npx wrangler rollback\` returns to an earlier upload of the code; the routing
config is rolled back separately, with POST /admin/config/rollback.
`;

/** Linux caps one command-line argument at 128 KiB; the bundled config travels as one. */
const MAX_BUNDLED_BYTES = 120 * 1024;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}

const configPath = process.env.ROUTER_CONFIG;
if (!configPath) {
  console.error("✘ set ROUTER_CONFIG to your config file (see `npm run deploy -- --help`): the bundled demo config points at a local simulator.");
  process.exit(1);
}

let text: string;
try {
  text = readFileSync(configPath, "utf8");
} catch (e) {
  console.error(`✘ ${configPath}: ${(e as Error).message}`);
  process.exit(1);
}
let config: ReturnType<typeof parseRouterConfig>;
try {
  config = parseRouterConfig(text, { allowLoopback: false });
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`✘ ${configPath}: ${e.message}`);
  process.exit(1);
}

const canonical = JSON.stringify(JSON.parse(text));
if (Buffer.byteLength(canonical) > MAX_BUNDLED_BYTES) {
  console.error(
    `✘ ${configPath} is ${Buffer.byteLength(canonical)} bytes; at most ${MAX_BUNDLED_BYTES} can be bundled. Deploy a smaller seed and PUT the full config to /admin/config.`,
  );
  process.exit(1);
}
const secrets = new Set(Object.values(config.origins).flatMap((o) => (o.apiKeySecret ? [o.apiKeySecret] : [])));
console.log(`✔ ${configPath} is valid: ${Object.keys(config.origins).length} origins, ${Object.keys(config.scenarios).length} scenarios.`);
console.log(`  secrets it needs (wrangler secret put NAME): ADMIN_TOKEN${[...secrets].map((s) => `, ${s}`).join("")}`);

// esbuild's `define` takes an expression: the config's JSON text as a string literal.
const result = spawnSync("npx", ["wrangler", "deploy", "--define", `ROUTER_CONFIG_BUNDLED:${JSON.stringify(canonical)}`, ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
