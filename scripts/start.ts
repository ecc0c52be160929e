/**
 * `npm start`: the router on http://127.0.0.1:8787 with the demo origins (simulated, on
 * 127.0.0.1:8790) and the demo tenant, and its console at /console. No cloud account, no network.
 *
 *   PORT=8787 SIM_PORT=8790 ROUTER_CONFIG=./my-config.json ADMIN_READ_TOKEN=… npm start
 */
import { LOCAL_ADMIN_TOKEN, LOCAL_DEMO_KEY, startLocalRouter } from "./lib/local-router";

const port = Number(process.env.PORT ?? 8787);
const simPort = Number(process.env.SIM_PORT ?? 8790);

try {
  // The read-only admin token is optional, as in production: set, it signs in to the console too.
  const vars = process.env.ADMIN_READ_TOKEN ? { ADMIN_READ_TOKEN: process.env.ADMIN_READ_TOKEN } : undefined;
  const router = await startLocalRouter({ port, simPort, configPath: process.env.ROUTER_CONFIG || undefined, vars });
  console.log(`
Token Router is up at ${router.url}/v1  (simulated origins at ${router.simUrl})
  API key (demo tenant): ${LOCAL_DEMO_KEY}
  Admin token:           ${LOCAL_ADMIN_TOKEN}
  Console:               ${router.url}/console  (sign in with the admin token, or the API key)

  curl -N ${router.url}/v1/chat/completions \\
    -H "Authorization: Bearer ${LOCAL_DEMO_KEY}" -H "content-type: application/json" \\
    -d '{"model":"chat-default","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'
`);
  const shutdown = () => void router.stop().then(() => process.exit(0));
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  const code = await router.exited;
  await router.stop();
  process.exit(code ?? 0);
} catch (e) {
  console.error(`\n✘ ${(e as Error).message}`);
  process.exit(1);
}
