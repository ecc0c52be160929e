/**
 * `npm run bench:affinity`: does prefix-cache affinity pay, on a replayed multi-tenant trace?
 *
 * Generates one seeded trace (workload.ts), computes its ideal hit rate and working set
 * (ideal.ts), starts K simulated self-hosted vLLM origins with bounded prefix caches and FIFO
 * prefill queues (sim-server.ts), and for each placement policy starts Token Router on bare
 * workerd with a fresh state directory and a config whose scenario uses that policy, provisions
 * the tenants and their keys through the admin API, resets the simulator and replays the SAME
 * trace open loop (driver.ts). Everything listens on 127.0.0.1.
 *
 *   npm run bench:affinity -- [--duration 30] [--seed 1] [--rate 20] [--tenants 6] [--origins 4]
 *        [--policies round-robin,least-loaded,session-hash,affinity] [--epsilon 0.25]
 *        [--cache-fill 0.75] [--prefill-slots 4] [--max-in-flight 256] [--out <dir>]
 *        [--session-share 0.95] [--turns 16-48] [--think-ms 1000-1400] [--context-tokens 16000-40000]
 *        [--smoke] [--no-policy-field] [--no-model] [--no-cache-size]
 *
 * Reports per policy: token-weighted cache hit rate (Σ cached / Σ prompt tokens from the usage
 * chunks), client TTFT p50/p90/p99, cost per 1,000 requests (usage × the configured prices, in
 * integer µ$ as the router computes it), load imbalance (max/mean requests per origin, from
 * `x-router-origin`), the router's calls to tenants' ledgers per request (its own count, from
 * `GET /admin/isolate`: with leased admission, the calls a prompt the isolate knows nothing of makes
 * to the ledger's prefix index are among them) and errors; plus the trace's ideal hit rate and, for reference, what an
 * offline model of the same origins predicts for each policy (model.ts). Writes results.md,
 * results.json and results.png to --out (default node_modules/.cache/token-router/bench-affinity)
 * and prints the table and the target checks (PASS/MISS; they never fail the run). Errors do.
 *
 * --no-policy-field leaves the scenario's `affinity` field out, for a router that does not know
 * it: every run then uses the router's default placement, and the labels say so.
 * --no-cache-size leaves out the origins' `cache.capacityTokens` (the router then has no cache model).
 * --smoke: a few seconds of trace at a lower rate, for CI.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ConfigError, parseRouterConfig } from "../../../src/config/load";
import { pricingSchema, type PricingInput } from "../../../src/pricing/schema";
import type { PriceRates } from "../../../src/pricing/price-at";
import { LOCAL_ADMIN_TOKEN } from "../../lib/demo";
import { freePort } from "../../lib/local-router";
import { renderWorkerdConfig } from "../../lib/workerd-config";
import { startWorkerd, workerdBinary } from "../../lib/workerd-process";
import { buildWorker, PROJECT_ROOT, readWranglerWorker, routerWorkerdConfig } from "../../lib/workerd-router";
import { replay } from "./driver";
import { idealHitRate, promptBlocks, workingSet, BLOCK_TOKENS } from "./ideal";
import { modelPolicy, POLICIES, type ModelResult, type Policy } from "./model";
import { chartPng, markdownTable, modelTable, summarize, targetChecks, usd, type PolicySummary } from "./report";
import { DEFAULT_WORKLOAD, generateTrace, parseRange, type WorkloadOptions } from "./workload";

/** The model name the origins receive (the scenario's candidates' `model`). */
const UPSTREAM_MODEL = "llama-3.1-8b-instruct";
/** The origins' timing: a full-miss 3k-token prompt prefills in 20 + 3000 × 0.025 = 95 ms. */
const TTFT_BASE_MS = 20;
const PREFILL_MS_PER_TOKEN = 0.025;
const DECODE_TOKENS_PER_SEC = 1000;
/** Every origin's prices (USD per million tokens): a cached prompt token costs a tenth. */
const PRICING: PricingInput = { input: 0.2, cachedInput: 0.02, output: 0.6 };
/** In flight per prefill slot that an origin carries comfortably (its router `capacity`). */
const CAPACITY_PER_SLOT = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string" },
      seed: { type: "string", default: "1" },
      rate: { type: "string" },
      tenants: { type: "string", default: String(DEFAULT_WORKLOAD.tenants) },
      origins: { type: "string", default: "4" },
      policies: { type: "string", default: POLICIES.join(",") },
      epsilon: { type: "string", default: "0.25" },
      "cache-fill": { type: "string", default: "0.75" },
      "prefill-slots": { type: "string", default: "4" },
      "max-in-flight": { type: "string", default: "256" },
      out: { type: "string", default: join(PROJECT_ROOT, "node_modules/.cache/token-router/bench-affinity") },
      smoke: { type: "boolean", default: false },
      "no-policy-field": { type: "boolean", default: false },
      "no-model": { type: "boolean", default: false },
      "no-cache-size": { type: "boolean", default: false },
      "session-share": { type: "string", default: String(DEFAULT_WORKLOAD.sessionShare) },
      turns: { type: "string", default: DEFAULT_WORKLOAD.turns.join("-") },
      "think-ms": { type: "string", default: DEFAULT_WORKLOAD.thinkMs.join("-") },
      "context-tokens": { type: "string", default: DEFAULT_WORKLOAD.contextTokens.join("-") },
    },
  });
  const num = (name: string, text: string, check: (n: number) => boolean) => {
    const n = Number(text);
    if (!Number.isFinite(n) || !check(n)) throw new Error(`--${name}: invalid value "${text}"`);
    return n;
  };
  const smoke = values.smoke;
  const policies = values.policies.split(",").map((p) => p.trim()).filter(Boolean);
  for (const p of policies) if (!(POLICIES as readonly string[]).includes(p)) throw new Error(`--policies: unknown policy "${p}" (known: ${POLICIES.join(", ")})`);
  const workload: WorkloadOptions = {
    ...DEFAULT_WORKLOAD,
    seed: num("seed", values.seed, Number.isInteger),
    tenants: num("tenants", values.tenants, (n) => Number.isInteger(n) && n >= 1 && n <= 1000),
    durationMs: num("duration", values.duration ?? (smoke ? "3" : "30"), (n) => n > 0 && n <= 3600) * 1000,
    rate: num("rate", values.rate ?? (smoke ? "8" : String(DEFAULT_WORKLOAD.rate)), (n) => n > 0 && n <= 1000),
    sessionShare: num("session-share", values["session-share"], (n) => n >= 0 && n <= 1),
    turns: parseRange(values.turns, "--turns"),
    thinkMs: parseRange(values["think-ms"], "--think-ms"),
    contextTokens: parseRange(values["context-tokens"], "--context-tokens"),
  };
  if (workload.turns[0] < 1 || !workload.turns.every(Number.isInteger)) throw new Error("--turns: whole numbers, at least 1");
  return {
    smoke,
    workload,
    policies: policies as Policy[],
    origins: num("origins", values.origins, (n) => Number.isInteger(n) && n >= 1 && n <= 64),
    epsilon: num("epsilon", values.epsilon, (n) => n >= 0 && n <= 10),
    cacheFill: num("cache-fill", values["cache-fill"], (n) => n > 0 && n <= 10),
    prefillSlots: num("prefill-slots", values["prefill-slots"], (n) => Number.isInteger(n) && n >= 0),
    maxInFlight: num("max-in-flight", values["max-in-flight"], (n) => Number.isInteger(n) && n >= 1),
    out: resolve(values.out),
    policyField: !values["no-policy-field"],
    model: !values["no-model"],
    cacheSize: !values["no-cache-size"],
  };
}
type Options = ReturnType<typeof options>;

// ---------------------------------------------------------------------------------------------
// The simulator, in a child process.

interface SimProcess {
  url: string;
  /** Options the simulator did not know and ran without. */
  dropped: string[];
  stop(): Promise<void>;
}

async function startSim(simOptions: unknown, port: number): Promise<SimProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(PROJECT_ROOT, "scripts/bench/affinity/sim-server.ts"), JSON.stringify(simOptions), String(port)],
    { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<{ url: string; dropped: string[] }>((ok, fail) => {
    lines.once("line", (line) => ok(JSON.parse(line) as { url: string; dropped: string[] }));
    child.once("exit", (code) => fail(new Error(`the simulator exited (code ${code}) before listening`)));
  });
  return {
    ...first,
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

/** POST /_sim/reset; false when this simulator has no such endpoint. */
async function resetSim(url: string): Promise<boolean> {
  const res = await fetch(`${url}/_sim/reset`, { method: "POST" });
  await res.text();
  if (res.status === 404) return false;
  if (!res.ok) throw new Error(`POST /_sim/reset answered ${res.status}`);
  return true;
}

async function simStats(url: string): Promise<unknown> {
  const res = await fetch(`${url}/_sim/stats`);
  const text = await res.text();
  return res.ok ? (JSON.parse(text) as unknown) : null;
}

// ---------------------------------------------------------------------------------------------
// The router: built once, started per policy on a fresh state directory.

interface RouterProcess {
  url: string;
  stop(): Promise<void>;
}

async function prepareRouter(): Promise<{ start(config: string): Promise<RouterProcess>; dispose(): void }> {
  const workDir = mkdtempSync(join(os.tmpdir(), "token-router-bench-affinity-"));
  const dispose = () => rmSync(workDir, { recursive: true, force: true });
  try {
    const [worker, modules] = await Promise.all([readWranglerWorker(), buildWorker(join(workDir, "build"))]);
    const binary = workerdBinary();
    if (worker.compatibilityDate > binary.compatibilityDate) {
      throw new Error(`wrangler.toml's compatibility_date ${worker.compatibilityDate} is newer than workerd ${binary.version} supports`);
    }
    let runs = 0;
    const start = async (routerConfig: string): Promise<RouterProcess> => {
      const runDir = join(workDir, `run-${runs++}`);
      const stateDir = join(runDir, "state");
      mkdirSync(stateDir, { recursive: true });
      const secrets = { ADMIN_TOKEN: LOCAL_ADMIN_TOKEN };
      const config = routerWorkerdConfig(worker, modules, { address: "127.0.0.1:0", routerConfig, secrets, stateDir });
      const configPath = join(runDir, "config.capnp");
      writeFileSync(configPath, renderWorkerdConfig(config, runDir), { mode: 0o600 });
      const running = await startWorkerd({ configPath, socket: "http", host: "127.0.0.1", env: secrets, quiet: true });
      return {
        url: running.url,
        stop: async () => {
          await running.stop();
          rmSync(runDir, { recursive: true, force: true });
        },
      };
    };
    return { start, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

const originName = (i: number) => `pool-${i}`;

/** The routing config of one run: K self-hosted vLLM origins on the simulator, one scenario. */
function routerConfig(opts: Options, simUrl: string, policy: Policy, cacheTokens: number): string {
  const origins: Record<string, unknown> = {};
  for (let i = 0; i < opts.origins; i++) {
    origins[originName(i)] = {
      baseUrl: `${simUrl}/${originName(i)}/v1`,
      provider: "vllm",
      kind: "self-hosted",
      region: "local",
      capacity: Math.max(1, opts.prefillSlots) * CAPACITY_PER_SLOT,
      expectedTtftMs: 200,
      timeouts: { firstByteMs: 60_000, totalMs: 120_000 },
      pricing: PRICING,
      // What vLLM logs at start ("GPU KV cache size: N tokens"): the router models each cache by it.
      ...(opts.cacheSize ? { cache: { capacityTokens: cacheTokens } } : {}),
    };
  }
  const scenario: Record<string, unknown> = {
    description: "The affinity benchmark's scenario: K interchangeable self-hosted pools.",
    candidates: Object.keys(origins).map((origin) => ({ origin, model: UPSTREAM_MODEL })),
    maxOutputTokens: 256,
  };
  if (opts.policyField) scenario.affinity = { policy, epsilon: opts.epsilon };
  const config = { version: 1, origins, scenarios: { [opts.workload.model]: scenario } };
  try {
    parseRouterConfig(config);
  } catch (e) {
    if (e instanceof ConfigError && opts.policyField && e.message.includes("affinity")) {
      throw new Error(`${e.message}\nthis router does not accept the scenario's \`affinity\` field yet: run with --no-policy-field`);
    }
    throw e;
  }
  return JSON.stringify(config);
}

/** Creates the tenants with limits a benchmark does not hit, and one key each. */
async function provision(routerUrl: string, tenants: readonly string[]): Promise<Map<string, string>> {
  const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json" };
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${routerUrl}/admin${path}`, { method, headers: admin, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`router admin API: ${method} ${path} answered ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const keys = new Map<string, string>();
  await Promise.all(
    tenants.map(async (id) => {
      await call("POST", "/tenants", { id });
      await call("PUT", `/tenants/${id}/limits`, { rpm: 10_000_000, tpm: 10_000_000_000, concurrency: 100_000 });
      const key = await call("POST", `/tenants/${id}/keys`, { name: "bench" });
      keys.set(id, String(key.key));
    }),
  );
  return keys;
}

/** One small request per tenant before the replay (isolate, JIT, ledger objects); not measured. */
async function warmUp(routerUrl: string, keys: ReadonlyMap<string, string>, model: string): Promise<string[]> {
  const seen = new Set<string>();
  for (const [tenant, key] of keys) {
    const res = await fetch(`${routerUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, max_tokens: 4, stream: true, stream_options: { include_usage: true }, user: `warmup-${tenant}`, messages: [{ role: "user", content: `warm-up ${tenant}` }] }),
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes("[DONE]")) throw new Error(`warm-up request for ${tenant}: ${res.status} ${text.slice(0, 300)}`);
    seen.add(res.headers.get("x-router-origin") ?? "?");
  }
  return [...seen];
}

// ---------------------------------------------------------------------------------------------

type LedgerCalls = { total: number; byKind: Record<string, number> };

/** The router's calls to tenants' ledgers so far, in all and by kind (its `GET /admin/isolate`); null when it does not say. */
async function ledgerCalls(routerUrl: string): Promise<LedgerCalls | null> {
  const res = await fetch(`${routerUrl}/admin/isolate`, { headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` } }).catch(() => null);
  if (!res?.ok) return null;
  const calls = ((await res.json()) as { ledgerCalls?: Partial<LedgerCalls> }).ledgerCalls;
  return typeof calls?.total === "number" ? { total: calls.total, byKind: calls.byKind ?? {} } : null;
}

/** The calls made between two counts, by kind (`admit 12, reportLease 40`). */
function callsBetween(before: LedgerCalls, after: LedgerCalls): string {
  return Object.entries(after.byKind)
    .map(([kind, n]) => [kind, n - (before.byKind[kind] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
}

async function main(): Promise<number> {
  const opts = options();
  const startedAt = Date.now();
  const w = opts.workload;
  const k = opts.origins;

  // The trace and what it allows.
  const trace = generateTrace(w);
  const blocks = promptBlocks(trace, UPSTREAM_MODEL);
  const ideal = idealHitRate(blocks);
  const windowMs = (w.thinkMs[0] + w.thinkMs[1]) / 2;
  const ws = workingSet(trace, blocks, windowMs);
  const cacheBlocks = Math.max(1, Math.ceil(ws.meanBlocks / (opts.cacheFill * k)));
  const meanPrompt = ideal.promptTokens / Math.max(1, trace.entries.length);
  const sharedTokens = trace.tenants.reduce((a, t) => a + t.weight * (t.systemTokens + t.toolTokens), 0) / trace.tenants.reduce((a, t) => a + t.weight, 0);
  console.log(
    `trace: seed ${w.seed}, ${trace.entries.length} requests over ${w.durationMs / 1000} s (${w.rate}/s), ${w.tenants} tenants, ` +
      `${trace.sessions} sessions + ${trace.calls} single calls; mean prompt ${Math.round(meanPrompt)} tokens ` +
      `(tenant prefix ≈ ${Math.round(sharedTokens)}), ${(ideal.promptTokens / 1e6).toFixed(1)} M prompt tokens`,
  );
  console.log(
    `working set: ${ws.meanBlocks} blocks of ${BLOCK_TOKENS} tokens (mean distinct in ${windowMs} ms windows; peak ${ws.peakBlocks}, whole trace ${ws.totalBlocks}) ` +
      `→ ${k} origins × ${cacheBlocks} blocks (working set = ${Math.round(opts.cacheFill * 100)} % of ${k * cacheBlocks})`,
  );
  console.log(`ideal hit rate (one unbounded cache): ${(ideal.rate * 100).toFixed(1)} %`);

  const timing = { ttftBaseMs: TTFT_BASE_MS, prefillMsPerToken: PREFILL_MS_PER_TOKEN, prefillSlots: opts.prefillSlots, decodeTokensPerSec: DECODE_TOKENS_PER_SEC, cacheBlocks };
  const models: ModelResult[] = opts.model ? opts.policies.map((p) => modelPolicy(trace, blocks, k, timing, p, opts.epsilon)) : [];
  if (models.length > 0) console.log(`\n${modelTable(models)}\n`);

  const simOptions = {
    recordLimit: 0,
    origins: Object.fromEntries(
      Array.from({ length: k }, (_, i) => [
        originName(i),
        {
          profile: "vllm",
          models: [UPSTREAM_MODEL],
          ttftBaseMs: TTFT_BASE_MS,
          prefillMsPerToken: PREFILL_MS_PER_TOKEN,
          prefillSlots: opts.prefillSlots,
          decodeTokensPerSec: DECODE_TOKENS_PER_SEC,
          cacheBlocks,
        },
      ]),
    ),
  };
  const prices: PriceRates = pricingSchema.parse(PRICING);
  const priceOf = new Map(Array.from({ length: k }, (_, i) => [originName(i), prices]));

  let sim: SimProcess | undefined;
  let router: RouterProcess | undefined;
  let built: Awaited<ReturnType<typeof prepareRouter>> | undefined;
  const stopAll = async () => {
    await router?.stop().catch(() => {});
    await sim?.stop().catch(() => {});
    built?.dispose();
  };
  const interrupted = () => void stopAll().then(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  const loadStart = os.loadavg()[0]!;
  const summaries: PolicySummary[] = [];
  const notes: string[] = [];
  try {
    const simPort = await freePort();
    [sim, built] = await Promise.all([startSim(simOptions, simPort), prepareRouter()]);
    if (sim.dropped.length > 0) notes.push(`the simulator does not know ${sim.dropped.join(", ")}: ran without (no prefill queueing)`);
    let canReset = true;
    if (!opts.policyField) notes.push("--no-policy-field: the scenario has no `affinity` field, every run uses the router's default placement");
    if (!opts.cacheSize) notes.push("--no-cache-size: the origins do not declare `cache.capacityTokens`; the router has no cache model");
    for (const n of notes) console.log(`note: ${n}`);

    for (const policy of opts.policies) {
      const label = opts.policyField ? policy : `${policy} (no policy field)`;
      // A fresh simulator state: reset it, or (an older simulator) start a new one on the same port.
      if (!(canReset && (await resetSim(sim.url)))) {
        canReset = false;
        await sim.stop();
        sim = await startSim(simOptions, simPort);
      }
      const t0 = Date.now();
      router = await built.start(routerConfig(opts, sim.url, policy, cacheBlocks * BLOCK_TOKENS));
      const keys = await provision(router.url, trace.tenants.map((t) => t.id));
      await warmUp(router.url, keys, w.model);
      if (canReset) await resetSim(sim.url);
      console.log(`[${label}] router up and tenants provisioned in ${((Date.now() - t0) / 1000).toFixed(1)} s; replaying ${trace.entries.length} requests`);
      const callsBefore = await ledgerCalls(router.url);
      const run = await replay(trace.entries, { baseUrl: router.url, keys, maxInFlight: opts.maxInFlight, label, timeoutMs: 120_000 });
      // Let the router settle (waitUntil work) before it stops; the simulator's counters are final.
      const stats = canReset ? await simStats(sim.url) : null;
      await sleep(200);
      const callsAfter = callsBefore === null ? null : await ledgerCalls(router.url);
      const calls = callsBefore && callsAfter ? callsAfter.total - callsBefore.total : null;
      await router.stop();
      router = undefined;
      const s = summarize(policy, run.results, [...priceOf.keys()], priceOf, { wallMs: run.wallMs, maxInFlight: run.maxInFlight, simStats: stats, ledgerCalls: calls });
      // Every request's outcome, for looking into where a policy loses (not part of the report).
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, `requests-${policy}.json`), JSON.stringify(run.results));
      summaries.push(s);
      console.log(
        `[${label}] hit ${(s.hitRate * 100).toFixed(1)} %  TTFT p50 ${s.ttftP50.toFixed(0)} p90 ${s.ttftP90.toFixed(0)} p99 ${s.ttftP99.toFixed(0)} ms  ` +
          `${usd(s.costMicrosPer1k)}/1k req  load ${s.imbalance.toFixed(2)} (${Object.values(s.perOrigin).join("/")})  errors ${s.errors}` +
          (s.ledgerCallsPerRequest === null ? "" : `  ledger calls ${s.ledgerCallsPerRequest.toFixed(3)}/req (${callsBetween(callsBefore!, callsAfter!)})`) +
          (Object.keys(s.affinityHeader).length ? `  x-router-affinity ${JSON.stringify(s.affinityHeader)}` : "") +
          (s.lagMaxMs > 50 ? `  send lag p99 ${s.lagP99Ms} max ${s.lagMaxMs} ms` : ""),
      );
      for (const e of s.errorSamples) console.log(`    ✘ ${e.count}× ${e.message}`);
      // The ideal assumes the origins render prompts as ideal.ts does; the usage says whether they did.
      if (s.errors === 0 && s.promptTokens !== ideal.promptTokens && !notes.some((n) => n.startsWith("prompt tokens"))) {
        notes.push(`prompt tokens differ: the origins counted ${s.promptTokens}, ideal.ts ${ideal.promptTokens} (has the simulator's rendering changed?)`);
        console.log(`note: ${notes.at(-1)}`);
      }
    }
  } finally {
    await stopAll();
  }

  const checks = targetChecks(summaries, ideal.rate, opts.epsilon);
  const table = markdownTable(
    summaries.map((s) => ({ ...s, policy: opts.policyField ? s.policy : `${s.policy} (no policy field)` })),
    ideal.rate,
  );
  const workloadLine =
    `seed ${w.seed}; ${trace.entries.length} requests over ${w.durationMs / 1000} s at ${w.rate}/s; ${w.tenants} tenants; ` +
    `${trace.sessions} sessions (${w.turns.join("-")} turns, think ${w.thinkMs.join("-")} ms, first-turn context ${w.contextTokens.join("-")} tokens) + ${trace.calls} single calls; ` +
    `mean prompt ${Math.round(meanPrompt)} tokens; ${k} vLLM origins × ${cacheBlocks} cache blocks, ${opts.prefillSlots} prefill slots, ` +
    `${PREFILL_MS_PER_TOKEN} ms/token prefill + ${TTFT_BASE_MS} ms; prices ${PRICING.input}/${PRICING.cachedInput}/${PRICING.output} USD per Mtok (input/cached/output); ε = ${opts.epsilon}`;
  const checkLines = checks.map((c) => `- ${c.pass ? "PASS" : "MISS"} ${c.name}: ${c.detail}`);
  const markdown = [
    "# Prefix-cache affinity benchmark",
    "",
    workloadLine,
    "",
    table,
    "",
    ...(checkLines.length ? [`Targets${opts.policyField ? "" : " (meaningless here: every run used the same default placement)"}:`, "", ...checkLines, ""] : []),
    ...(models.length ? ["What an offline model of the same origins predicts (model.ts; its affinity reads the caches directly):", "", modelTable(models), ""] : []),
    ...notes.map((n) => `Note: ${n}`),
  ].join("\n");

  mkdirSync(opts.out, { recursive: true });
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      workerd: workerdBinary().version,
      cpu: os.cpus()[0]?.model.trim() ?? "unknown",
      cores: os.cpus().length,
      loadAverage: [loadStart, os.loadavg()[0]!].map((l) => Math.round(l * 100) / 100),
      seconds: Math.round((Date.now() - startedAt) / 1000),
      smoke: opts.smoke,
      policyField: opts.policyField,
      notes,
    },
    workload: { ...w, requests: trace.entries.length, sessions: trace.sessions, calls: trace.calls, meanPromptTokens: Math.round(meanPrompt), tenants: trace.tenants },
    origins: { count: k, cacheBlocks, prefillSlots: opts.prefillSlots, ttftBaseMs: TTFT_BASE_MS, prefillMsPerToken: PREFILL_MS_PER_TOKEN, decodeTokensPerSec: DECODE_TOKENS_PER_SEC, pricing: PRICING },
    workingSet: { ...ws, cacheFill: opts.cacheFill },
    ideal,
    policies: summaries,
    checks,
    model: models,
  };
  const title = `PREFIX-CACHE AFFINITY: ${trace.entries.length} REQUESTS, ${w.tenants} TENANTS, ${k} ORIGINS, SEED ${w.seed}${opts.policyField ? "" : " (NO POLICY FIELD)"}`;
  const files = { md: join(opts.out, "results.md"), json: join(opts.out, "results.json"), png: join(opts.out, "results.png") };
  writeFileSync(files.md, `${markdown}\n`);
  writeFileSync(files.json, `${JSON.stringify(results, null, 2)}\n`);
  if (summaries.length > 0) writeFileSync(files.png, chartPng(title, summaries, ideal.rate, opts.epsilon));
  console.log(`\n${markdown}\n`);
  console.log(`written: ${files.md}\n         ${files.json}${summaries.length > 0 ? `\n         ${files.png}` : ""}`);
  console.log(`${Math.round((Date.now() - startedAt) / 1000)} s in all`);

  const failed = summaries.filter((s) => s.errors > 0);
  if (failed.length > 0) {
    console.error(`✘ errors: ${failed.map((s) => `${s.policy}: ${s.errors} of ${s.requests}`).join("; ")}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`\n✘ ${(e as Error).stack ?? (e as Error).message}`);
    process.exit(1);
  },
);
