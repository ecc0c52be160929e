/**
 * `npm run bench:taas`: does routing by priority, time of day and budget pay, over a whole day?
 * (issue #15)
 *
 * Generates one seeded day (trace.ts: tenants with a diurnal curve and a spike; interactive,
 * standard and batch requests), sizes the budgeted tenant's daily budget from it (budget.ts), and
 * replays it once per policy (policies.ts) through Token Router on bare workerd against simulated
 * origins (origins.ts), a day compressed into `--day-seconds` of wall clock. The router and the
 * origins read the same virtual clock (clock.ts): the router from `BENCH_CLOCK`, or, until the
 * router reads it, from a shim in front of its entry (`--clock shim`, clock-shim.ts).
 *
 *   npm run bench:taas -- [--seed 1] [--day-seconds 240] [--requests 3000] [--policies a,b]
 *        [--clock binding|shim] [--lead-seconds 8] [--max-in-flight 512] [--out <dir>] [--smoke]
 *
 * --smoke: a 4-second day of 80 requests, Token Router and MaaS-only only (every policy's config
 * is still validated), for `npm test`: it proves the benchmark runs, its figures mean little.
 *
 * Costs and usage come from the router's own usage log (admin API), cross-checked against the
 * client's usage chunks priced the same way and the simulator's counters. Writes results.md,
 * results.json, results.png and requests-<policy>.json (every request with the router's decision)
 * to --out (default node_modules/.cache/token-router/bench-taas). Goal checks print PASS/MISS and
 * never fail the run; a policy that answers nothing, or a broken harness, does (exit 1).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../../lib/workerd-router";
import { sizeBudget } from "./budget";
import { dayDate } from "./clock";
import { dayChartPng } from "./chart";
import { runPolicy, type ClockMode, type PolicyRun } from "./collect";
import { checkGoals } from "./goals";
import { routerOrigins, simOrigins } from "./origins";
import { POLICIES, policyConfig, SCENARIO, SLO_TTFT_MS, type Policy } from "./policies";
import { prepareRouter } from "./processes";
import { crossCheckTable, goalLines, originTable, policyTable, poolTable, usd } from "./report";
import { summarize, type PolicySummary } from "./summary";
import { generateTrace } from "./trace";

function options() {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "1" },
      smoke: { type: "boolean", default: false },
      "day-seconds": { type: "string" },
      requests: { type: "string" },
      policies: { type: "string" },
      clock: { type: "string", default: "binding" },
      "lead-seconds": { type: "string" },
      "max-in-flight": { type: "string", default: "512" },
      out: { type: "string", default: join(PROJECT_ROOT, "node_modules/.cache/token-router/bench-taas") },
    },
  });
  const num = (name: string, text: string, ok: (n: number) => boolean) => {
    const n = Number(text);
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${name}: invalid value "${text}"`);
    return n;
  };
  const smoke = values.smoke;
  // The smoke run replays the goals' main comparison only; every policy's config is still validated.
  const policies = (values.policies ?? (smoke ? "token-router,maas-cheapest" : POLICIES.join(","))).split(",").map((p) => p.trim()).filter(Boolean);
  for (const p of policies) if (!(POLICIES as readonly string[]).includes(p)) throw new Error(`--policies: unknown policy "${p}" (known: ${POLICIES.join(", ")})`);
  if (values.clock !== "binding" && values.clock !== "shim") throw new Error(`--clock: "binding" or "shim", not "${values.clock}"`);
  return {
    smoke,
    seed: num("seed", values.seed, Number.isInteger),
    daySeconds: num("day-seconds", values["day-seconds"] ?? (smoke ? "4" : "240"), (n) => n >= 1 && n <= 86_400),
    requests: num("requests", values.requests ?? (smoke ? "80" : "3000"), (n) => Number.isInteger(n) && n >= 10 && n <= 1_000_000),
    policies: policies as Policy[],
    clockMode: values.clock as ClockMode,
    leadMs: num("lead-seconds", values["lead-seconds"] ?? (smoke ? "4" : "8"), (n) => n >= 1 && n <= 600) * 1000,
    maxInFlight: num("max-in-flight", values["max-in-flight"], (n) => Number.isInteger(n) && n >= 1),
    out: resolve(values.out),
  };
}

async function main(): Promise<number> {
  const opts = options();
  const startedAt = Date.now();
  const loadStart = os.loadavg()[0]!;
  for (const p of POLICIES) policyConfig(p, "http://127.0.0.1:1");
  const trace = generateTrace({ seed: opts.seed, requests: opts.requests, model: SCENARIO });
  const budget = sizeBudget(trace);
  const counts: Record<string, number> = {};
  for (const e of trace.entries) counts[`${e.tenant}/${e.cls}`] = (counts[`${e.tenant}/${e.cls}`] ?? 0) + 1;
  const speed = 86_400 / opts.daySeconds;
  console.log(`trace: seed ${opts.seed}, ${trace.entries.length} requests in one day replayed in ${opts.daySeconds} s (×${Math.round(speed)}); ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  if (budget) console.log(`budget: ${budget.tenant} ${usd(budget.limitMicros)} a day (soft ${usd(budget.softLimitMicros)}): half its day at maas-lowcost's list price (${usd(budget.dayCostMicros)})`);
  if (opts.clockMode === "shim") console.log("clock: shim (Date.now replaced in the router's isolate; see clock-shim.ts)");

  const router = await prepareRouter();
  const runs = new Map<Policy, PolicyRun>();
  const summaries: PolicySummary[] = [];
  const notes: string[] = [];
  const interrupted = () => {
    router.dispose();
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    for (const policy of opts.policies) {
      const run = await runPolicy(policy, trace, budget, router, { daySeconds: opts.daySeconds, leadMs: opts.leadMs, clockMode: opts.clockMode, maxInFlight: opts.maxInFlight, seed: opts.seed });
      runs.set(policy, run);
      const s = summarize(run, budget);
      summaries.push(s);
      console.log(
        `[${policy}] cost ${usd(s.costMicros)} (${usd(s.costMicrosPer1k)}/1k)  interactive p50 ${s.interactive.p50?.toFixed(0) ?? "-"} p99 ${s.interactive.p99?.toFixed(0) ?? "-"} ms CV ${s.interactive.cv?.toFixed(2) ?? "-"} SLO ${s.interactive.slo === null ? "-" : (s.interactive.slo * 100).toFixed(1)} %  ` +
          `batch on time ${s.batch.deadlineMet === null ? "-" : (s.batch.deadlineMet * 100).toFixed(0)} % cheap ${s.batch.cheapShare === null ? "-" : (s.batch.cheapShare * 100).toFixed(0)} %  errors ${s.errors}  refused ${s.refused}` +
          (s.clock.follows ? "" : `  (router clock off by ${((s.clock.skewMs ?? NaN) / 3_600_000).toFixed(1)} virtual h)`),
      );
      for (const e of s.errorSamples) console.log(`    ✘ ${e.count}× ${e.message}`);
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, `requests-${policy}.json`), JSON.stringify({ outcomes: run.outcomes, budgetSamples: run.budgetSamples }));
      if (!s.clock.follows && !notes.some((n) => n.startsWith("the router did not follow"))) {
        notes.push(
          `the router did not follow BENCH_CLOCK (its decisions' clock was ${((s.clock.skewMs ?? NaN) / 3_600_000).toFixed(1)} virtual hours off): windows, prices, budget days and the health profile's hour followed its real clock, so the time-of-day figures describe another day. Run with --clock shim until the router reads BENCH_CLOCK.`,
        );
      }
      if (run.shimClamped.length > 0 && !notes.some((n) => n.startsWith("clock shim"))) {
        notes.push(`clock shim: at ×${Math.round(run.clock.speed)} the config's maxima clamp ${run.shimClamped.join(", ")} (in real ms): use a day of 144 s or more for figures`);
      }
      if (s.clock.lateStartMs > 0) notes.push(`${policy}: setup overran the lead by ${s.clock.lateStartMs} ms; the day's first requests left late (raise --lead-seconds)`);
      if (s.lateSends > 0) notes.push(`${policy}: ${s.lateSends} requests left more than 1 s late (the driver was behind)`);
    }
  } finally {
    router.dispose();
  }

  const first = runs.values().next().value;
  if (!first) throw new Error("no policy ran");
  const { clock } = first;
  const { epochMs } = clock;
  const checks = checkGoals(summaries, runs);
  const day = dayDate(epochMs);
  const workload =
    `seed ${opts.seed}; ${trace.entries.length} requests over one virtual day (${day}, UTC) replayed in ${opts.daySeconds} s of wall clock (×${Math.round(speed)}); ` +
    `clock: ${opts.clockMode === "shim" ? "shim in the router's isolate" : "BENCH_CLOCK binding"}; interactive SLO ${SLO_TTFT_MS} ms (real); ${trace.tenants.map((t) => t.id).join(", ")}` +
    (budget ? `; ${budget.tenant}'s daily budget ${usd(budget.limitMicros)} (soft ${usd(budget.softLimitMicros)})` : "");
  const markdown = [
    `# TaaS benchmark: one day, ${summaries.length} policies`,
    "",
    workload,
    "",
    policyTable(summaries, clock),
    "",
    "Where requests and tokens went:",
    "",
    originTable(summaries),
    "",
    "The pool's prefill load by virtual hour: the prefill work sent to it ÷ its slots' capacity in that hour, % (over 100: a queue builds):",
    "",
    poolTable(summaries),
    "",
    "The router's accounting (usage log) against the client and the simulator:",
    "",
    crossCheckTable(summaries),
    "",
    "Goals (Token Router):",
    "",
    ...goalLines(checks),
    "",
    ...(opts.smoke ? ["Note: a smoke run (a 4-second day): it proves the benchmark runs; at this speed a request's real second is hours of the day, so deadlines and budgets mean nothing."] : []),
    ...notes.map((n) => `Note: ${n}`),
  ].join("\n");

  mkdirSync(opts.out, { recursive: true });
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      workerd: router.workerd,
      cpu: os.cpus()[0]?.model.trim() ?? "unknown",
      cores: os.cpus().length,
      loadAverage: [loadStart, os.loadavg()[0]!].map((l) => Math.round(l * 100) / 100),
      seconds: Math.round((Date.now() - startedAt) / 1000),
      smoke: opts.smoke,
      clockMode: opts.clockMode,
      daySeconds: opts.daySeconds,
      speed,
      virtualDay: day,
      notes,
    },
    trace: { seed: opts.seed, requests: trace.entries.length, counts, tenants: trace.tenants, budget },
    origins: { router: routerOrigins("http://sim"), simulator: simOrigins(opts.seed) },
    sloTtftMs: SLO_TTFT_MS,
    policies: summaries,
    checks,
  };
  const files = { md: join(opts.out, "results.md"), json: join(opts.out, "results.json"), png: join(opts.out, "results.png") };
  writeFileSync(files.md, `${markdown}\n`);
  writeFileSync(files.json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(files.png, dayChartPng(`TAAS: ONE DAY (${day}), ${trace.entries.length} REQUESTS, SEED ${opts.seed}, ${opts.daySeconds} S`, summaries, epochMs));
  console.log(`\n${markdown}\n`);
  console.log(`written: ${files.md}\n         ${files.json}\n         ${files.png}\n         ${join(opts.out, "requests-<policy>.json")}`);
  console.log(`${Math.round((Date.now() - startedAt) / 1000)} s in all`);
  const silent = summaries.filter((s) => s.ok === 0);
  if (silent.length > 0) {
    console.error(`✘ answered nothing: ${silent.map((s) => s.policy).join(", ")}`);
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
