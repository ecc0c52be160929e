/**
 * Running the router locally: the simulated origins in this process, the Worker under
 * `wrangler dev` (workerd), the demo tenant and admin token set as local vars. Used by
 * `npm start` and by the end-to-end test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { ConfigError, parseRouterConfig } from "../../src/config/load";
import type { RouterConfig, RouterConfigInput } from "../../src/config/schema";
import demoConfig from "../../src/config/demo.json";
import { demoSimOptions, zeroLatency } from "../../src/sim/demo";
import { DEMO_SECRETS, LOCAL_VARS, pointAtSim } from "./demo";

export { LOCAL_ADMIN_TOKEN, LOCAL_DEMO_KEY } from "./demo";
import { startSimServer, type SimServer } from "../../src/sim/node";



export interface LocalRouterOptions {
  port: number;
  simPort: number;
  /** A config file to use instead of the bundled demo config (`ROUTER_CONFIG`). */
  configPath?: string;
  /** Zero simulated latency (tests); the demo default paces tokens so a person can watch them. */
  zeroLatency?: boolean;
  /** Directory for Durable Object state; default `.wrangler/state`. */
  persistTo?: string;
  /** Inherit stdio (interactive `npm start`) or keep quiet (tests). */
  quiet?: boolean;
  /** More local vars (`npm start` passes `ADMIN_READ_TOKEN` from its environment). */
  vars?: Readonly<Record<string, string>>;
}

export interface LocalRouter {
  url: string;
  simUrl: string;
  stop(): Promise<void>;
  /** Resolves when wrangler exits on its own. */
  exited: Promise<number | null>;
}

/**
 * Reads and validates the config before anything starts, so a bad one stops here with every
 * offending field named.
 */
export function loadConfig(configPath: string | undefined): { config: RouterConfig; input: RouterConfigInput; source: string } {
  const source = configPath ? readFileSync(configPath, "utf8") : JSON.stringify(demoConfig);
  try {
    const config = parseRouterConfig(source);
    // Validated above, so the text is the schema's input form.
    return { config, input: JSON.parse(source) as RouterConfigInput, source };
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new Error(`${configPath ?? "bundled demo config"}: ${e.message}`);
    }
    throw e;
  }
}


/** Fails fast, with a clear message, when a port is taken. */
export async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", () => reject(new Error(`port ${port} is in use; set PORT (router) or SIM_PORT (simulator) to another one`)));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

/** A free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error("wrangler dev exited before the router came up (see its output above)");
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the router did not answer at ${url} within ${timeoutMs / 1000} s`);
}

/** Starts the simulator and the router; resolves once the router answers. */
export async function startLocalRouter(options: LocalRouterOptions): Promise<LocalRouter> {
  const { input } = loadConfig(options.configPath);
  await assertPortFree(options.port);
  await assertPortFree(options.simPort);
  const sim: SimServer = await startSimServer({
    host: "127.0.0.1",
    port: options.simPort,
    sim: options.zeroLatency ? zeroLatency(demoSimOptions) : demoSimOptions,
  });
  const effective = options.configPath ? input : pointAtSim(input, sim.url);

  const vars: Record<string, string> = { ...DEMO_SECRETS, ...LOCAL_VARS, ...options.vars, ROUTER_CONFIG: JSON.stringify(effective) };
  const args = [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--persist-to",
    options.persistTo ?? ".wrangler/state",
    "--show-interactive-dev-session=false",
    // `curl http://127.0.0.1:8787/__scheduled` fires the cron trigger (origin probes) by hand.
    "--test-scheduled",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child: ChildProcess = spawn("npx", args, {
    stdio: options.quiet ? ["ignore", "pipe", "pipe"] : "inherit",
    // Offline by design: no telemetry, and no fetch of Cloudflare's `request.cf` sample data.
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    await sim.close();
  };

  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitUntilUp(url, exited, 90_000);
  } catch (e) {
    await stop();
    if (options.quiet) process.stderr.write(output);
    throw e;
  }
  return { url, simUrl: sim.url, stop, exited };
}
