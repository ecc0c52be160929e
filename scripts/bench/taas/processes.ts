/**
 * The processes of one benchmark run: the simulated origins (a child Node process, restarted per
 * policy with that run's clock) and Token Router on bare `workerd serve` (built once, started per
 * policy on a fresh state directory, with its config, secrets and `BENCH_CLOCK`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { SimOptions } from "../../../src/sim/options";
import { LOCAL_ADMIN_TOKEN } from "../../lib/demo";
import { renderWorkerdConfig } from "../../lib/workerd-config";
import { startWorkerd, workerdBinary } from "../../lib/workerd-process";
import { buildWorker, PROJECT_ROOT, readWranglerWorker, routerWorkerdConfig } from "../../lib/workerd-router";

export interface Running {
  url: string;
  /** Its process: what the load probe reads the CPU time of. */
  pid: number;
  stop(): Promise<void>;
}

/** Starts the simulator in a child process; resolves once it listens. */
export async function startSim(options: SimOptions): Promise<Running> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "scripts/bench/taas/sim-server.ts"), JSON.stringify(options), "0"], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const lines = createInterface({ input: child.stdout! });
  const { url } = await new Promise<{ url: string }>((ok, fail) => {
    lines.once("line", (line) => ok(JSON.parse(line) as { url: string }));
    child.once("exit", (code) => fail(new Error(`the simulator exited (code ${code}) before listening`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      process.off("exit", kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface RouterLaunch {
  /** The routing config, JSON text. */
  config: string;
  /** Origins' API keys by secret name (with the admin token, passed through the environment). */
  secrets: Record<string, string>;
  /** Text variables: `BENCH_CLOCK`. */
  vars: Record<string, string>;
}

/** Builds the router once; `start` launches it per policy on a fresh state directory. */
export async function prepareRouter(): Promise<{ start(launch: RouterLaunch): Promise<Running>; dispose(): void; workerd: string }> {
  const workDir = mkdtempSync(join(os.tmpdir(), "token-router-bench-taas-"));
  const dispose = () => rmSync(workDir, { recursive: true, force: true });
  try {
    const [worker, modules] = await Promise.all([readWranglerWorker(), buildWorker(join(workDir, "build"))]);
    const binary = workerdBinary();
    if (worker.compatibilityDate > binary.compatibilityDate) {
      throw new Error(`wrangler.toml's compatibility_date ${worker.compatibilityDate} is newer than workerd ${binary.version} supports`);
    }
    let runs = 0;
    const start = async (launch: RouterLaunch): Promise<Running> => {
      const runDir = join(workDir, `run-${runs++}`);
      const stateDir = join(runDir, "state");
      mkdirSync(stateDir, { recursive: true });
      const secrets = { ADMIN_TOKEN: LOCAL_ADMIN_TOKEN, ...launch.secrets };
      const config = routerWorkerdConfig(worker, modules, { address: "127.0.0.1:0", routerConfig: launch.config, secrets, stateDir, vars: launch.vars });
      const configPath = join(runDir, "config.capnp");
      writeFileSync(configPath, renderWorkerdConfig(config, runDir), { mode: 0o600 });
      const running = await startWorkerd({ configPath, socket: "http", host: "127.0.0.1", env: secrets, quiet: true });
      return {
        url: running.url,
        pid: running.pid,
        stop: async () => {
          await running.stop();
          rmSync(runDir, { recursive: true, force: true });
        },
      };
    };
    return { start, dispose, workerd: binary.version };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** GET or POST to the simulator's control endpoints. */
export async function simControl(url: string, what: "stats" | "reset"): Promise<unknown> {
  const res = await fetch(`${url}/_sim/${what}`, { method: what === "reset" ? "POST" : "GET" });
  const text = await res.text();
  if (!res.ok) throw new Error(`/_sim/${what} answered ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}
