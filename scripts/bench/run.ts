/**
 * `npm run bench`: Token Router against the floor and a competitor, on this machine.
 *
 * Starts on 127.0.0.1 the simulated origin with zero latency, Token Router on bare workerd, a
 * pass-through Worker on the same workerd binary (the floor for any Worker router), the metering
 * Worker (the floor for one that bills by tokens: it parses, prices and relays, and no more) and the
 * Portkey gateway on Node; then loads each with autocannon at 1 and at 32 connections, in short
 * rounds interleaved round-robin so that drift (thermal, noisy neighbours) hits every target alike.
 *
 *   npm run bench -- [--duration 5] [--rounds 3] [--out <dir>] [--smoke]
 *                    [--targets origin,passthrough,metering,router,router-stream,portkey,passthrough-stream,metering-stream]
 *                    [--ledger disk|tmpfs] [--ledger-rtt <ms>]
 *
 * `--ledger-rtt 50` adds a second router whose every call to a tenant's ledger waits 50 ms first
 * (`BENCH_LEDGER_RTT_MS`), as a ledger in another region would: with leased admission its latency
 * should barely move. The router's calls to ledgers per request are counted in the Worker (its
 * `GET /admin/isolate`) and reported for each run.
 *
 * Writes `results.md` and `results.json` to `--out` (default node_modules/.cache/token-router/bench).
 * The goals print PASS or MISS and never fail the run; errors (a target that does not start,
 * answers other than 2xx, connection errors) do.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, LOCAL_ADMIN_TOKEN, LOCAL_DEMO_KEY } from "../lib/local-router";
import { DEMO_SECRETS, pointAtSim } from "../lib/demo";
import { workerdBinary } from "../lib/workerd-process";
import { PROJECT_ROOT } from "../lib/workerd-router";
import { processCpuSeconds } from "./cpu";
import { runLoad, type LoadRequest } from "./load";
import { chatBody, provisionTenant, SCENARIO } from "./requests";
import { floors, goals, summarize, toMarkdown, type BenchResults, type Cell, type RunRecord } from "./report";
import { startOrigin, startPassthrough, startPortkey, startRouter, type Server } from "./servers";

const CONNECTIONS = [1, 32] as const;
const ALL_TARGETS = ["origin", "passthrough", "metering", "router", "router-stream", "router-rtt", "portkey", "passthrough-stream", "metering-stream"] as const;
type TargetId = (typeof ALL_TARGETS)[number];

interface Target {
  id: TargetId;
  label: string;
  server: Server;
  request: LoadRequest;
  stream: boolean;
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
      out: { type: "string", default: join(PROJECT_ROOT, "node_modules/.cache/token-router/bench") },
      smoke: { type: "boolean", default: false },
      targets: { type: "string", default: ALL_TARGETS.join(",") },
      ledger: { type: "string", default: "disk" },
      "ledger-rtt": { type: "string", default: "0" },
    },
  });
  const ledgerRttMs = Number(values["ledger-rtt"]);
  if (!(ledgerRttMs >= 0)) throw new Error("--ledger-rtt: milliseconds, 0 or more");
  const targets = values.targets.split(",").map((t) => t.trim()).filter((t) => t !== "router-rtt" || ledgerRttMs > 0);
  if (ledgerRttMs > 0 && !targets.includes("router-rtt")) targets.push("router-rtt");
  for (const t of targets) {
    if (!(ALL_TARGETS as readonly string[]).includes(t)) throw new Error(`--targets: unknown target "${t}" (known: ${ALL_TARGETS.join(", ")})`);
  }
  if (values.ledger !== "disk" && values.ledger !== "tmpfs") throw new Error("--ledger: disk or tmpfs");
  const smoke = values.smoke;
  const durationSeconds = Number(values.duration);
  const rounds = smoke ? 1 : Number(values.rounds);
  if (!(durationSeconds > 0) || !Number.isInteger(rounds) || rounds < 1) throw new Error("--duration must be > 0 and --rounds a positive integer");
  return {
    smoke,
    durationSeconds,
    rounds,
    /** Smoke runs count requests instead of seconds: a few seconds in all, whatever the machine. */
    amount: smoke ? 64 : undefined,
    out: resolve(values.out),
    targets: targets as TargetId[],
    ledger: values.ledger as "disk" | "tmpfs",
    ledgerRttMs,
  };
}

/** One request to each target before any load: a target that answers wrongly stops the run here. */
async function check(target: Target): Promise<void> {
  const res = await fetch(target.request.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.request.headers },
    body: target.request.body,
  });
  const text = await res.text();
  const fail = (why: string) => new Error(`${target.label}: ${why}\n${res.status} ${text.slice(0, 400)}`);
  if (res.status !== 200) throw fail("expected 200");
  if (target.stream ? !text.includes("data: [DONE]") : !(JSON.parse(text) as { choices?: unknown[] }).choices?.length) {
    throw fail(target.stream ? "expected an SSE stream ending in [DONE]" : "expected a chat completion");
  }
  if (target.id === "metering" && typeof (JSON.parse(text) as { usage?: { cost?: unknown } }).usage?.cost !== "number") throw fail("expected a priced usage");
  if (target.id.startsWith("router") && res.headers.get("x-router-origin") !== "pool-local") {
    throw fail(`expected x-router-origin: pool-local, got ${res.headers.get("x-router-origin")}`);
  }
}

function git(...args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The router isolate's calls to tenants' ledgers so far (its own count: `GET /admin/isolate`). */
async function ledgerCalls(server: Server): Promise<number> {
  const res = await fetch(`${server.url}/admin/isolate`, { headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`router admin API: GET /admin/isolate answered ${res.status}`);
  return ((await res.json()) as { ledgerCalls: { total: number } }).ledgerCalls.total;
}

async function main(): Promise<number> {
  const opts = options();
  const servers: Server[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => (stopping ??= Promise.allSettled(servers.map((s) => s.stop())).then(() => undefined));
  const interrupted = () => void stopAll().then(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  // Other work on the machine skews every number; the 1-minute load average before and after says how much there was.
  const loadStart = os.loadavg()[0]!;
  try {
    const origin = await startOrigin();
    servers.push(origin);
    const routed = pointAtSim(loadConfig(undefined).input, origin.url);
    const first = routed.scenarios[SCENARIO]?.candidates[0];
    if (!first) throw new Error(`the demo config has no scenario ${SCENARIO}`);
    const apiRoot = routed.origins[first.origin]!.baseUrl;
    const want = new Set(opts.targets);
    const wantAny = (...ids: TargetId[]) => ids.some((id) => want.has(id));

    // The others start side by side (startup is not measured); each is stopped however the run ends.
    const started = (server: Server): Server => {
      servers.push(server);
      return server;
    };
    const starts = await Promise.allSettled([
      wantAny("passthrough", "passthrough-stream") ? startPassthrough(apiRoot).then(started) : undefined,
      wantAny("metering", "metering-stream") ? startPassthrough(apiRoot, "metering", first.model).then(started) : undefined,
      wantAny("router", "router-stream") ? startRouter(JSON.stringify(routed), { ...DEMO_SECRETS }, opts.ledger).then(started) : undefined,
      want.has("portkey") ? startPortkey().then(started) : undefined,
      want.has("router-rtt") ? startRouter(JSON.stringify(routed), { ...DEMO_SECRETS }, opts.ledger, { BENCH_LEDGER_RTT_MS: String(opts.ledgerRttMs) }).then(started) : undefined,
    ]);
    const notStarted = starts.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (notStarted) throw notStarted.reason;
    const [pass, metering, router, portkey, routerRtt] = starts.map((s) => (s.status === "fulfilled" ? s.value : undefined));

    const chat = (server: Server, path: string, headers: Record<string, string>, model: string, stream: boolean) => ({
      server,
      stream,
      request: { url: `${server.url}${path}`, headers, body: chatBody(model, stream) },
    });
    const apiPath = new URL(apiRoot).pathname;
    const asRouter = { authorization: `Bearer ${LOCAL_DEMO_KEY}` };
    // Portkey's OpenAI provider with a custom host: it calls `<host>/chat/completions`.
    const asPortkey = { authorization: "Bearer sk-unused", "x-portkey-provider": "openai", "x-portkey-custom-host": apiRoot };
    const all: (Target | false | undefined)[] = [
      { id: "origin", label: "origin direct", ...chat(origin, `${apiPath}/chat/completions`, {}, first.model, false) },
      pass && { id: "passthrough", label: "pass-through Worker", ...chat(pass, "/v1/chat/completions", {}, first.model, false) },
      metering && { id: "metering", label: "metering Worker", ...chat(metering, "/v1/chat/completions", {}, first.model, false) },
      router && { id: "router", label: "Token Router", ...chat(router, "/v1/chat/completions", asRouter, SCENARIO, false) },
      router && { id: "router-stream", label: "Token Router, stream", ...chat(router, "/v1/chat/completions", asRouter, SCENARIO, true) },
      routerRtt && { id: "router-rtt", label: `Token Router, ledger ${opts.ledgerRttMs} ms away`, ...chat(routerRtt, "/v1/chat/completions", asRouter, SCENARIO, false) },
      portkey && { id: "portkey", label: "Portkey gateway", ...chat(portkey, "/v1/chat/completions", asPortkey, first.model, false) },
      pass && { id: "passthrough-stream", label: "pass-through Worker, stream", ...chat(pass, "/v1/chat/completions", {}, first.model, true) },
      metering && { id: "metering-stream", label: "metering Worker, stream", ...chat(metering, "/v1/chat/completions", {}, first.model, true) },
    ];
    const targets = all.filter((t): t is Target => !!t && want.has(t.id));

    // The first request seeds the demo tenant; then it gets limits a benchmark does not hit.
    for (const t of targets) await check(t);
    if (router) await provisionTenant(router.url);
    if (routerRtt) await provisionTenant(routerRtt.url);
    // Warm-up: JIT, connection pools, the ledger's first objects. Not measured.
    for (const t of targets) {
      await runLoad(t.request, { connections: 32, durationSeconds: Math.min(2, opts.durationSeconds), amount: opts.amount });
    }

    const what = opts.smoke ? `${opts.amount} requests` : `${opts.durationSeconds} s`;
    console.log(`${targets.length} targets × ${CONNECTIONS.join(" and ")} connections × ${opts.rounds} round(s) of ${what}, interleaved`);
    const runs: RunRecord[] = [];
    const samples = new Map<string, number[]>();
    for (let round = 1; round <= opts.rounds; round++) {
      for (const connections of CONNECTIONS) {
        // Each round starts with a different target, so none is always first after a pause.
        const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
        for (const t of order) {
          const isRouter = t.id.startsWith("router");
          const callsBefore = isRouter ? await ledgerCalls(t.server) : 0;
          const before = processCpuSeconds(t.server.pid);
          const r = await runLoad(t.request, { connections, durationSeconds: opts.durationSeconds, amount: opts.amount });
          // Work a response leaves behind (the router settles usage in waitUntil) belongs to it.
          await sleep(100);
          const after = processCpuSeconds(t.server.pid);
          const cpuSeconds = before !== null && after !== null ? after - before : null;
          const calls = isRouter ? (await ledgerCalls(t.server)) - callsBefore : null;
          runs.push({ round, target: t.id, connections, ok: r.ok, non2xx: r.non2xx, errors: r.errors, seconds: r.seconds, cpuSeconds, ledgerCalls: calls });
          const key = `${t.id}@${connections}`;
          samples.set(key, (samples.get(key) ?? []).concat(r.latenciesMs));
          const one = summarize(t.id, t.label, connections, runs.slice(-1), r.latenciesMs);
          console.log(
            `[round ${round}/${opts.rounds} · ${String(connections).padStart(2)} conn] ${t.label.padEnd(28)} ${one.rps.toFixed(0).padStart(6)} req/s` +
              `  p50 ${one.p50Ms.toFixed(2)}  p90 ${one.p90Ms.toFixed(2)}  p99 ${one.p99Ms.toFixed(2)} ms` +
              (one.cpuMsPerRequest !== null ? `  cpu ${one.cpuMsPerRequest.toFixed(3)} ms/req` : "") +
              (one.ledgerCallsPerRequest !== null ? `  ledger calls ${one.ledgerCallsPerRequest.toFixed(3)}/req` : "") +
              (r.non2xx || r.errors ? `  ✘ ${r.errors} errors, non-2xx by status: ${JSON.stringify(r.otherStatuses)}` : ""),
          );
        }
      }
    }

    const cells: Cell[] = [];
    for (const t of targets) {
      for (const c of CONNECTIONS) cells.push(summarize(t.id, t.label, c, runs, samples.get(`${t.id}@${c}`) ?? []));
    }
    // Where the router's ledger calls went, over the whole run (warm-up included).
    const callsByKind = router
      ? (((await (await fetch(`${router.url}/admin/isolate`, { headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` } })).json()) as { ledgerCalls: { byKind: Record<string, number> } }).ledgerCalls.byKind)
      : {};
    const commit = git("rev-parse", "--short", "HEAD");
    const results: BenchResults = {
      meta: {
        date: new Date().toISOString(),
        commit: `${commit || "unknown"}${git("status", "--porcelain", "--", "src") ? " (src modified)" : ""}`,
        node: process.version,
        workerd: workerdBinary().version,
        cpu: os.cpus()[0]?.model.trim() ?? "unknown",
        cores: os.cpus().length,
        smoke: opts.smoke,
        rounds: opts.rounds,
        durationSeconds: opts.durationSeconds,
        amount: opts.amount ?? 0,
        connections: [...CONNECTIONS],
        ledger: opts.ledger,
        ledgerRttMs: opts.ledgerRttMs,
        routerLedgerCallsByKind: Object.entries(callsByKind).map(([k, n]) => `${k} ${n}`),
        targets: targets.map((t) => t.id),
        loadAverage: [loadStart, os.loadavg()[0]!].map((l) => Math.round(l * 100) / 100),
      },
      cells,
      goals: goals(cells, CONNECTIONS[0], CONNECTIONS[1]),
      floors: floors(cells, CONNECTIONS[1]),
      runs,
    };
    const markdown = toMarkdown(results);
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, "results.md"), markdown);
    writeFileSync(join(opts.out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${markdown}\nwritten to ${opts.out}/results.{md,json}`);

    const failed = cells.filter((c) => c.non2xx > 0 || c.errors > 0);
    if (failed.length > 0) {
      console.error(`✘ errors under load: ${failed.map((c) => `${c.label} @${c.connections}: ${c.non2xx} non-2xx, ${c.errors} errors`).join("; ")}`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`\n✘ ${(e as Error).message}`);
    process.exit(1);
  },
);
