/**
 * `npm run serve`: Token Router on bare `workerd serve`, for on-premise deployments where data
 * may not leave the boundary (DESIGN §7). The bundle is the one `wrangler deploy` uploads; the
 * ledger's objects are SQLite files on local disk.
 *
 *   ADMIN_TOKEN=... DEEPSEEK_API_KEY=... ROUTER_CONFIG=./router.json npm run serve
 *   npm run serve -- --demo          # the local demo: simulated origins, demo tenant and admin token
 *
 * Environment: PORT (8787), HOST (127.0.0.1), ROUTER_CONFIG (a JSON file; default the bundled demo
 * config), STATE_DIR (default .wrangler/workerd-state), ADMIN_TOKEN, ADMIN_READ_TOKEN (optional,
 * read-only admin), DEMO_TENANT_KEY, and each
 * origin's `apiKeySecret`; with --demo, SIM_PORT (8790). Flags: --demo, --state <dir>,
 * --inspect <host:port> (V8 inspector, for profiling).
 */
import { parseArgs } from "node:util";
import type { RouterConfig } from "../src/config/schema";
import { demoSimOptions } from "../src/sim/demo";
import { startSimServer, type SimServer } from "../src/sim/node";
import { assertPortFree, loadConfig, LOCAL_ADMIN_TOKEN, LOCAL_DEMO_KEY } from "./lib/local-router";
import { DEMO_SECRETS, pointAtSim } from "./lib/demo";
import { PROJECT_ROOT, startRouterOnWorkerd } from "./lib/workerd-router";

/**
 * The secrets to bind: the admin tokens, the demo key and every origin's `apiKeySecret`, from the
 * environment (demo values first when `demo`). Unset ones are left out, and said so.
 */
function secretsFor(config: RouterConfig, demo: boolean): { secrets: Record<string, string>; warnings: string[] } {
  const names = new Set(["ADMIN_TOKEN", "ADMIN_READ_TOKEN", "DEMO_TENANT_KEY"]);
  for (const origin of Object.values(config.origins)) if (origin.apiKeySecret) names.add(origin.apiKeySecret);
  const secrets: Record<string, string> = {};
  const warnings: string[] = [];
  for (const name of names) {
    const value = process.env[name] || (demo ? DEMO_SECRETS[name] : undefined);
    if (value) secrets[name] = value;
  }
  if (!secrets.ADMIN_TOKEN) warnings.push("ADMIN_TOKEN is not set: the admin API refuses every caller");
  for (const [name, origin] of Object.entries(config.origins)) {
    if (origin.apiKeySecret && !secrets[origin.apiKeySecret]) {
      warnings.push(`${origin.apiKeySecret} is not set: origin ${name} is skipped (no_credentials)`);
    }
  }
  return { secrets, warnings };
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: { demo: { type: "boolean", default: false }, state: { type: "string" }, inspect: { type: "string" } },
  });
  const demo = flags.demo === true;
  const host = process.env.HOST || "127.0.0.1";
  const port = Number(process.env.PORT || 8787);
  const stateDir = flags.state ?? (process.env.STATE_DIR || `${PROJECT_ROOT}/.wrangler/workerd-state`);
  const configPath = process.env.ROUTER_CONFIG || undefined;

  const { config, input } = loadConfig(configPath);
  // The Worker gets the config as written and parses it itself.
  let routerConfig = input;
  await assertPortFree(port);
  let sim: SimServer | undefined;
  if (demo) {
    const simPort = Number(process.env.SIM_PORT || 8790);
    await assertPortFree(simPort);
    sim = await startSimServer({ host: "127.0.0.1", port: simPort, sim: demoSimOptions });
    if (!configPath) routerConfig = pointAtSim(input, sim.url);
  }
  const { secrets, warnings } = secretsFor(config, demo);
  for (const w of warnings) console.warn(`! ${w}`);

  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  let router;
  try {
    router = await startRouterOnWorkerd({
      address,
      routerConfig: JSON.stringify(routerConfig),
      secrets,
      stateDir,
      inspectorAddr: flags.inspect,
    });
  } catch (e) {
    await sim?.close();
    throw e;
  }
  console.log(`
Token Router (workerd) is up at ${router.url}/v1
  config:  ${configPath ?? "bundled demo config"}${sim ? `  (simulated origins at ${sim.url})` : ""}
  ledger:  ${stateDir}
  console: ${router.url}/console  (HTTPS, or a browser on this machine: its session cookie is Secure)
  workerd: ${router.configPath}${
    demo
      ? `
  API key (demo tenant): ${LOCAL_DEMO_KEY}
  Admin token:           ${LOCAL_ADMIN_TOKEN}`
      : ""
  }
`);

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await router.stop();
    await sim?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  const code = await router.exited;
  if (!stopping) {
    console.error(`✘ workerd exited (code ${code})`);
    await shutdown(code ?? 1);
  }
}

main().catch((e: unknown) => {
  console.error(`\n✘ ${(e as Error).message}`);
  process.exit(1);
});
