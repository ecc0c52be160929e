/**
 * Token Router on bare `workerd serve`: the bundle wrangler builds (`wrangler deploy --dry-run`),
 * the Worker's settings as wrangler.toml declares them (read by wrangler's own config reader),
 * and a workerd config that binds the routing config, the secrets and the Durable Objects' storage.
 * Used by `scripts/serve.ts` (on-premise runs) and by the benchmark.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import type { Unstable_Config } from "wrangler";
import { LOCAL_VARS } from "./demo";
import { renderWorkerdConfig, type WorkerdBinding, type WorkerdConfig, type WorkerdModule } from "./workerd-config";
import { startWorkerd, workerdBinary, type WorkerdProcess } from "./workerd-process";

/** The repository root (this file is scripts/lib/workerd-router.ts). */
export const PROJECT_ROOT = resolve(import.meta.dirname, "../..");

/** What wrangler.toml says about the Worker, as far as workerd needs it. */
export interface WranglerWorker {
  name: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  durableObjects: { binding: string; className: string; sqlite: boolean }[];
  /** `[vars]`: strings become text bindings, anything else JSON. */
  vars: Record<string, unknown>;
}

/** Binding kinds of wrangler.toml that this runner does not translate (it refuses rather than drop them). */
const UNSUPPORTED_BINDINGS = [
  "kv_namespaces",
  "r2_buckets",
  "d1_databases",
  "services",
  "analytics_engine_datasets",
  "vectorize",
  "hyperdrive",
  "workflows",
  "dispatch_namespaces",
  "mtls_certificates",
  "send_email",
] as const;

/**
 * Runs wrangler's own config reader in a child process and returns what it read, with the
 * classes its migrations make SQLite-backed. A child because importing wrangler installs signal
 * handlers that exit the importing process on SIGTERM, before its own cleanup can run.
 */
async function readWithWrangler(configPath: string): Promise<{ config: Unstable_Config; sqlite: Record<string, boolean> }> {
  const script = `
    const wrangler = await import("wrangler");
    const config = wrangler.unstable_readConfig({ config: process.argv[1] }, { hideWarnings: true });
    const sqlite = Object.fromEntries(wrangler.unstable_getDurableObjectClassNameToUseSQLiteMap(config.migrations));
    process.stdout.write(JSON.stringify({ config, sqlite }));
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script, configPath], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0) throw new Error(`reading ${configPath} failed:\n${stderr}`);
  return JSON.parse(stdout) as { config: Unstable_Config; sqlite: Record<string, boolean> };
}

/** Reads wrangler.toml with wrangler's own reader, so defaults and validation are wrangler's. */
export async function readWranglerWorker(configPath = join(PROJECT_ROOT, "wrangler.toml")): Promise<WranglerWorker> {
  const { config, sqlite } = await readWithWrangler(configPath);
  const problems: string[] = [];
  for (const key of UNSUPPORTED_BINDINGS) {
    const value: unknown = config[key];
    if (Array.isArray(value) && value.length > 0) problems.push(`${key} bindings are not supported on bare workerd here`);
  }
  if (config.queues.producers?.length) problems.push("queue producers are not supported on bare workerd here");
  if (config.ai) problems.push("the AI binding needs Cloudflare's network");
  if (!config.compatibility_date) problems.push("compatibility_date is not set");
  const durableObjects = config.durable_objects.bindings.map((b) => {
    if (b.script_name) problems.push(`durable object ${b.name} lives in another Worker (${b.script_name})`);
    return { binding: b.name, className: b.class_name, sqlite: sqlite[b.class_name] === true };
  });
  if (problems.length > 0) throw new Error(`${configPath}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return {
    name: config.name ?? "worker",
    compatibilityDate: config.compatibility_date!,
    compatibilityFlags: config.compatibility_flags,
    durableObjects,
    vars: config.vars,
  };
}

/** Module types by file extension, as wrangler's default module rules assign them. */
const MODULE_TYPES: Record<string, WorkerdModule["type"]> = {
  ".js": "esModule",
  ".mjs": "esModule",
  ".cjs": "commonJsModule",
  ".wasm": "wasm",
  ".txt": "text",
  ".html": "text",
  ".sql": "text",
  ".bin": "data",
};

/** The modules of a wrangler build directory, the main module (`index.js`) first. */
export function buildModules(dir: string): WorkerdModule[] {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => join(f.parentPath, f.name).slice(dir.length + 1).split("\\").join("/"))
    // Source maps and the README wrangler writes beside the bundle are not modules.
    .filter((name) => !name.endsWith(".map") && name !== "README.md");
  if (!files.includes("index.js")) throw new Error(`${dir}: no index.js in the build`);
  const modules = files.map((name): WorkerdModule => {
    const type = MODULE_TYPES[extname(name)];
    if (!type) throw new Error(`${dir}/${name}: no module type for this extension`);
    return { name, type, path: join(dir, name) };
  });
  return [modules.find((m) => m.name === "index.js")!, ...modules.filter((m) => m.name !== "index.js")];
}

/** Bundles the Worker as `wrangler deploy` would, into `outDir`, without uploading anything. */
export async function buildWorker(outDir: string): Promise<WorkerdModule[]> {
  const wranglerBin = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
  const child = spawn(process.execPath, [wranglerBin, "deploy", "--dry-run", "--outdir", outDir], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${code}):\n${output}`);
  return buildModules(outDir);
}

export interface RouterOnWorkerdOptions {
  /** `host:port` to listen on; port 0 picks a free one. */
  address: string;
  /** The routing config as JSON text (validated by the caller). */
  routerConfig: string;
  /**
   * Secrets by binding name (ADMIN_TOKEN, DEMO_TENANT_KEY, origins' apiKeySecret names). They
   * reach workerd through its environment (`fromEnvironment` bindings), never the config file.
   */
  secrets: Record<string, string>;
  /**
   * Directory of the Durable Objects' SQLite files (created if missing), one subdirectory per
   * class. Always a directory: workerd's in-memory storage has no SQL API, and the router's
   * objects are SQLite-backed. For throwaway state put it on tmpfs.
   */
  stateDir: string;
  /** Extra text bindings (benchmarks: `BENCH_CLOCK`, `BENCH_LEDGER_RTT_MS`). */
  vars?: Record<string, string>;
  inspectorAddr?: string;
  quiet?: boolean;
}

export interface RouterOnWorkerd extends WorkerdProcess {
  /** The generated config, kept while the router runs. */
  configPath: string;
}

/**
 * The workerd config of the router. The global outbound may reach private and loopback
 * addresses as well as public ones: self-hosted pools live on the LAN, and workerd's default
 * "internet" service refuses those (SSRF protection meant for multi-tenant hosts).
 */
export function routerWorkerdConfig(
  worker: WranglerWorker,
  modules: WorkerdModule[],
  options: Pick<RouterOnWorkerdOptions, "address" | "routerConfig" | "secrets" | "stateDir" | "vars">,
): WorkerdConfig {
  const bindings: WorkerdBinding[] = [];
  // workerd serve runs on the operator's machine: a pool on the same host is a loopback origin.
  // A name is bound once; the caller's vars win over LOCAL_VARS, which win over wrangler.toml's.
  const text: Record<string, string> = { ...LOCAL_VARS, ...options.vars };
  for (const [name, value] of Object.entries(worker.vars)) {
    if (Object.hasOwn(text, name)) continue;
    bindings.push(typeof value === "string" ? { kind: "text", name, value } : { kind: "json", name, value: JSON.stringify(value) });
  }
  for (const [name, value] of Object.entries(text)) bindings.push({ kind: "text", name, value });
  bindings.push({ kind: "text", name: "ROUTER_CONFIG", value: options.routerConfig });
  for (const name of Object.keys(options.secrets).sort()) bindings.push({ kind: "fromEnvironment", name, variable: name });
  for (const d of worker.durableObjects) bindings.push({ kind: "durableObjectNamespace", name: d.binding, className: d.className });

  const uniqueClasses = [...new Map(worker.durableObjects.map((d) => [d.className, d])).values()];
  return {
    services: [
      {
        kind: "worker",
        name: worker.name,
        worker: {
          modules,
          compatibilityDate: worker.compatibilityDate,
          compatibilityFlags: worker.compatibilityFlags,
          bindings,
          // `<worker>-<class>` is the key miniflare (wrangler dev) uses, so the layout matches its.
          durableObjectNamespaces: uniqueClasses.map((d) => ({
            className: d.className,
            uniqueKey: `${worker.name}-${d.className}`,
            enableSql: d.sqlite,
          })),
          durableObjectStorage: { kind: "localDisk", service: "do-storage" },
          globalOutbound: "origins",
        },
      },
      { kind: "network", name: "origins", allow: ["public", "private", "local"], trustBrowserCas: true },
      { kind: "disk", name: "do-storage", path: options.stateDir, writable: true },
    ],
    sockets: [{ name: "http", address: options.address, service: worker.name }],
  };
}

/** The host part of `host:port` (`[::1]:8787` gives `::1`). */
export function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(":"));
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/** A built router and its workerd config, ready to start, and to start again on the same state. */
export interface PreparedRouter {
  configPath: string;
  /** Starts workerd on the prepared config; may be called again after the process died. */
  start(): Promise<WorkerdProcess>;
  /** Removes the build and the config (not the state directory). */
  remove(): void;
}

/**
 * Builds the router and writes its workerd config to a private temporary directory, without
 * starting it. A crash test restarts the same build on the same state (`scripts/chaos.ts`).
 */
export async function prepareRouterOnWorkerd(options: RouterOnWorkerdOptions): Promise<PreparedRouter> {
  const workDir = mkdtempSync(join(tmpdir(), "token-router-workerd-"));
  const remove = () => rmSync(workDir, { recursive: true, force: true });
  try {
    // Reading wrangler.toml and bundling take about a second each: side by side.
    const [worker, modules] = await Promise.all([readWranglerWorker(), buildWorker(join(workDir, "build"))]);
    const binary = workerdBinary();
    if (worker.compatibilityDate > binary.compatibilityDate) {
      throw new Error(
        `wrangler.toml's compatibility_date ${worker.compatibilityDate} is newer than workerd ${binary.version} supports (${binary.compatibilityDate})`,
      );
    }
    const stateDir = resolve(options.stateDir);
    mkdirSync(stateDir, { recursive: true });
    const config = routerWorkerdConfig(worker, modules, { ...options, stateDir });
    const configPath = join(workDir, "config.capnp");
    // The routing config names secrets but holds none; still, nobody else needs to read it.
    writeFileSync(configPath, renderWorkerdConfig(config, workDir), { mode: 0o600 });
    const start = () =>
      startWorkerd({
        configPath,
        socket: "http",
        host: hostOf(options.address),
        env: options.secrets,
        inspectorAddr: options.inspectorAddr,
        quiet: options.quiet,
      });
    return { configPath, start, remove };
  } catch (e) {
    remove();
    throw e;
  }
}

/**
 * Builds the router, writes its workerd config to a private temporary
 * directory and starts workerd on it.
 */
export async function startRouterOnWorkerd(options: RouterOnWorkerdOptions): Promise<RouterOnWorkerd> {
  const prepared = await prepareRouterOnWorkerd(options);
  try {
    const running = await prepared.start();
    return {
      ...running,
      configPath: prepared.configPath,
      stop: async () => {
        await running.stop();
        prepared.remove();
      },
    };
  } catch (e) {
    prepared.remove();
    throw e;
  }
}
