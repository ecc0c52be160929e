/**
 * The servers the benchmark measures, each in a process of its own on 127.0.0.1 and a free
 * port: the zero-latency simulated origin, Token Router on workerd, the pass-through Worker on
 * the same workerd binary, and the Portkey gateway on Node.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../lib/local-router";
import { renderWorkerdConfig, type WorkerdConfig } from "../lib/workerd-config";
import { startWorkerd } from "../lib/workerd-process";
import { PROJECT_ROOT, readWranglerWorker, startRouterOnWorkerd } from "../lib/workerd-router";

/** A running server: where it listens and which process does its work (for CPU time). */
export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Sends SIGTERM, then SIGKILL after 5 s; resolves when the child is gone. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Kills `child` if this process exits first (an error, Ctrl-C) so no server outlives the run. */
function killOnExit(child: ChildProcess): () => void {
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  return () => process.off("exit", kill);
}

/** The simulated origins with every delay zeroed, in a child process (`origin.ts`). */
/** A server that is a child process of ours: stopping it stops the process and forgets its exit hook. */
function childServer(url: string, child: ChildProcess, forget: () => void): Server {
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      forget();
      await stopChild(child);
    },
  };
}

export async function startOrigin(): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "scripts/bench/origin.ts")], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const forget = killOnExit(child);
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once("line", (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`the simulated origin exited (code ${code}) before listening`)));
  });
  return childServer(url, child, forget);
}

/**
 * Token Router on bare workerd, its ledger in a fresh directory: on disk as deployed, or on
 * tmpfs (/dev/shm) to see what the disk costs.
 */
export async function startRouter(routerConfig: string, secrets: Record<string, string>, ledger: "disk" | "tmpfs", vars: Record<string, string> = {}): Promise<Server> {
  const stateDir = mkdtempSync(join(ledger === "tmpfs" ? "/dev/shm" : tmpdir(), "token-router-bench-state-"));
  return ownsDir(stateDir, () => startRouterOnWorkerd({ address: "127.0.0.1:0", routerConfig, secrets, stateDir, vars, quiet: true }));
}

/** Starts a server that uses `dir`; the directory goes when the server stops, or when it fails to start. */
async function ownsDir(dir: string, start: () => Promise<{ url: string; pid: number; stop(): Promise<void> }>): Promise<Server> {
  try {
    const running = await start();
    return {
      url: running.url,
      pid: running.pid,
      stop: async () => {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The pass-through Worker (`passthrough-worker.js`) on workerd, with the router's compatibility
 * date and flags so both run the same runtime behaviour; `worker: "metering"` starts the metering
 * Worker (`metering-worker.js`, which names `originModel` to the origin) instead.
 */
export async function startPassthrough(originApiRoot: string, worker: "passthrough" | "metering" = "passthrough", originModel = ""): Promise<Server> {
  const wrangler = await readWranglerWorker();
  const dir = mkdtempSync(join(tmpdir(), `token-router-bench-${worker}-`));
  const name = `${worker}-worker.js`;
  const module = join(dir, name);
  copyFileSync(join(PROJECT_ROOT, "scripts/bench", name), module);
  const config: WorkerdConfig = {
    services: [
      {
        kind: "worker",
        name: worker,
        worker: {
          modules: [{ name, type: "esModule", path: module }],
          compatibilityDate: wrangler.compatibilityDate,
          compatibilityFlags: wrangler.compatibilityFlags,
          bindings: [
            { kind: "text", name: "ORIGIN_URL", value: originApiRoot },
            { kind: "text", name: "ORIGIN_MODEL", value: originModel },
          ],
          globalOutbound: "loopback",
        },
      },
      { kind: "network", name: "loopback", allow: ["local"] },
    ],
    sockets: [{ name: "http", address: "127.0.0.1:0", service: worker }],
  };
  const configPath = join(dir, "config.capnp");
  writeFileSync(configPath, renderWorkerdConfig(config, dir));
  return ownsDir(dir, () => startWorkerd({ configPath, socket: "http", quiet: true }));
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (code ${child.exitCode})`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/**
 * The Portkey AI gateway (`@portkey-ai/gateway`, its own `build/start-server.js`) on Node, headless
 * and in production mode, bound to loopback by `bind-loopback.mjs`.
 */
export async function startPortkey(): Promise<Server> {
  let entry: string;
  try {
    entry = join(createRequire(import.meta.url).resolve("@portkey-ai/gateway/package.json"), "../build/start-server.js");
  } catch {
    throw new Error("@portkey-ai/gateway is not installed (npm install); or leave it out with --targets");
  }
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", join(PROJECT_ROOT, "scripts/bench/bind-loopback.mjs"), entry, `--port=${port}`, "--headless"],
    { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_ENV: "production" } },
  );
  const forget = killOnExit(child);
  let errors = "";
  child.stderr!.on("data", (d: Buffer) => (errors += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(url, child, 30_000);
  } catch (e) {
    forget();
    await stopChild(child);
    throw new Error(`Portkey gateway: ${(e as Error).message}\n${errors}`);
  }
  return childServer(url, child, forget);
}
