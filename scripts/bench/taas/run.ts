/**
 * `npm run bench:taas`: does routing by priority, time of day and budget pay, over a whole day?
 * (issue #15)
 *
 * Generates one seeded day (trace.ts: tenants with a diurnal curve and a spike; interactive,
 * standard and batch requests), sizes the budgeted tenant's daily budget from it (budget.ts), and
 * replays it once per policy (policies.ts) through Token Router on bare workerd against simulated
 * origins (origins.ts), a day compressed into `--day-seconds` of wall clock. The router and the
 * origins read the same virtual clock (clock.ts): the router from its `BENCH_CLOCK` variable.
 *
 *   npm run bench:taas -- [--seed 1] [--day-seconds 240] [--requests 3000] [--policies a,b]
 *        [--lead-seconds 8] [--max-in-flight 512] [--out <dir>] [--smoke]
 *        [--nice 0] [--min-idle 0] [--max-wait-minutes 30] [--replays 2] [--max-stall-share 0.05]
 *   npm run bench:taas -- --seeds 1,2,3     # one run per seed into <out>/seed-<n>, then combined.md
 *   npm run bench:taas -- --from <dir>     # the report again from a run's saved requests-<policy>.json
 *   npm run bench:taas -- --combine <dir>,<dir>,...   # runs side by side (combined.md)
 *
 * --smoke: a 4-second day of 80 requests, Token Router and MaaS-only side by side (every policy's
 * config is still validated), for `npm test`: it proves the benchmark runs, its figures mean little.
 *
 * Latencies are real, so a loaded machine can slow what no routing slowed (quiet.ts,
 * load-probe.ts): `--nice=-10` runs the benchmark and its children ahead of other work (root or
 * CAP_SYS_NICE), `--min-idle 0.5` waits before each policy for CPUs half idle, and a replay in
 * which over `--max-stall-share` of the load probes stalled is run again, up to `--replays` times.
 *
 * Costs and usage come from the router's own usage log (admin API), cross-checked against the
 * client's usage chunks priced the same way and the simulator's counters. Writes results.md,
 * results.json, results.png and requests-<policy>.json (every request with the router's decision)
 * to --out (default node_modules/.cache/token-router/bench-taas). Goal checks print PASS/MISS and
 * never fail the run; a broken benchmark or router does (exit 1, see `breakage`).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../../lib/workerd-router";
import { sizeBudget } from "./budget";
import { combine } from "./combine";
import { virtualDay } from "./clock";
import { runPolicy, type PolicyRun, type Try } from "./collect";
import { STALL_MS } from "./load-probe";
import { awaitQuiet } from "./quiet";
import { POLICIES, policyConfig, SCENARIO, type Policy } from "./policies";
import { prepareRouter } from "./processes";
import { render, type RunMeta } from "./render";
import { usd } from "./report";
import { summarize, type PolicySummary } from "./summary";
import { generateTrace } from "./trace";

const DEFAULT_OUT = join(PROJECT_ROOT, "node_modules/.cache/token-router/bench-taas");

function options() {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "1" },
      smoke: { type: "boolean", default: false },
      "day-seconds": { type: "string" },
      requests: { type: "string" },
      policies: { type: "string" },
      "lead-seconds": { type: "string" },
      "max-in-flight": { type: "string", default: "512" },
      nice: { type: "string", default: "0" },
      "min-idle": { type: "string", default: "0" },
      "max-wait-minutes": { type: "string", default: "30" },
      replays: { type: "string" },
      "max-stall-share": { type: "string", default: "0.05" },
      out: { type: "string", default: DEFAULT_OUT },
      from: { type: "string" },
      seeds: { type: "string" },
      combine: { type: "string" },
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
  return {
    smoke,
    seed: num("seed", values.seed, Number.isInteger),
    daySeconds: num("day-seconds", values["day-seconds"] ?? (smoke ? "4" : "240"), (n) => n >= 1 && n <= 86_400),
    requests: num("requests", values.requests ?? (smoke ? "80" : "3000"), (n) => Number.isInteger(n) && n >= 10 && n <= 1_000_000),
    policies: policies as Policy[],
    leadMs: num("lead-seconds", values["lead-seconds"] ?? (smoke ? "4" : "8"), (n) => n >= 1 && n <= 600) * 1000,
    maxInFlight: num("max-in-flight", values["max-in-flight"], (n) => Number.isInteger(n) && n >= 1),
    nice: num("nice", values.nice, (n) => Number.isInteger(n) && n >= -20 && n <= 19),
    minIdle: num("min-idle", values["min-idle"], (n) => n >= 0 && n <= 1),
    maxWaitMs: num("max-wait-minutes", values["max-wait-minutes"], (n) => n >= 0) * 60_000,
    replays: num("replays", values.replays ?? (smoke ? "1" : "2"), (n) => Number.isInteger(n) && n >= 1),
    maxStallShare: num("max-stall-share", values["max-stall-share"], (n) => n >= 0 && n <= 1),
    out: resolve(values.out),
    from: values.from === undefined ? null : resolve(values.from),
    seeds: values.seeds === undefined ? null : values.seeds.split(",").map((s) => num("seeds", s.trim(), Number.isInteger)),
    combine: values.combine === undefined ? null : values.combine.split(",").map((d) => resolve(d.trim())),
  };
}

/** The summary line of one policy, as it finishes. */
function printRun(s: PolicySummary): void {
  const pct = (v: number | null, d = 1) => (v === null ? "-" : (v * 100).toFixed(d));
  console.log(
    `[${s.policy}] cost ${usd(s.costMicros)} (${usd(s.costMicrosPer1k)}/1k)  interactive p50 ${s.interactive.p50?.toFixed(0) ?? "-"} p99 ${s.interactive.p99?.toFixed(0) ?? "-"} ms CV ${s.interactive.cv?.toFixed(2) ?? "-"} SLO ${pct(s.interactive.slo)} %  ` +
      `batch on time ${pct(s.batch.deadlineMet, 0)} % cheap ${pct(s.batch.cheapShare, 0)} %  errors ${s.errors}  refused ${s.refused}`,
  );
  const m = s.machine;
  console.log(`    machine: probes ${m.stalls} of ${m.probes} ≥ ${STALL_MS} ms, router p99 ${m.routerP99 ?? "-"} ms, simulator p99 ${m.simP99 ?? "-"} ms, send lag p99 ${m.sendLagP99 ?? "-"} ms; SLO without stall-touched requests ${pct(m.sloOutsideStalls)} %`);
  for (const e of s.errorSamples) console.log(`    ✘ ${e.count}× ${e.message}`);
}

/** `--from <dir>`: the report again, from the runs a measurement saved there. */
function rerender(dir: string, out: string): number {
  const saved = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { meta: RunMeta; policies: { policy: Policy }[] };
  const meta = saved.meta;
  const trace = generateTrace({ seed: meta.seed, requests: meta.requests, model: SCENARIO });
  const budget = sizeBudget(trace);
  const runs = new Map<Policy, PolicyRun>();
  for (const { policy } of saved.policies) runs.set(policy, JSON.parse(readFileSync(join(dir, `requests-${policy}.json`), "utf8")) as PolicyRun);
  const summaries = [...runs.values()].map((run) => summarize(run, budget));
  summaries.forEach(printRun);
  mkdirSync(out, { recursive: true });
  console.log(`\n${render(meta, trace, budget, runs, summaries, out)}\n\nwritten: ${out}/results.{md,json,png}`);
  return 0;
}

type Options = ReturnType<typeof options>;

async function main(): Promise<number> {
  const opts = options();
  if (opts.combine) return combined(opts.combine, opts.out === DEFAULT_OUT ? dirname(opts.combine[0]!) : opts.out);
  if (opts.from) return rerender(opts.from, opts.out === DEFAULT_OUT ? opts.from : opts.out);
  if (opts.nice !== 0) {
    // The simulator and workerd are started later, as children: they inherit it.
    os.setPriority(opts.nice);
    console.log(`priority: nice ${os.getPriority()}`);
  }
  for (const p of POLICIES) policyConfig(p, "http://127.0.0.1:1");
  if (!opts.seeds) return measure(opts, opts.seed, opts.out);
  let code = 0;
  const dirs = opts.seeds.map((seed) => join(opts.out, `seed-${seed}`));
  for (const [i, seed] of opts.seeds.entries()) code = Math.max(code, await measure(opts, seed, dirs[i]!));
  return Math.max(code, combined(dirs, opts.out));
}

/** `--combine`: the runs in `dirs` side by side, into `out`/combined.md. */
function combined(dirs: readonly string[], out: string): number {
  const markdown = combine(dirs);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "combined.md"), `${markdown}\n`);
  console.log(`\n${markdown}\n\nwritten: ${join(out, "combined.md")}`);
  return 0;
}

/** One seed's day, every policy: the files in `out`; the exit status. */
async function measure(opts: Options, seed: number, out: string): Promise<number> {
  const startedAt = Date.now();
  const loadStart = os.loadavg()[0]!;
  const trace = generateTrace({ seed, requests: opts.requests, model: SCENARIO });
  const budget = sizeBudget(trace);
  const counts: Record<string, number> = {};
  for (const e of trace.entries) counts[`${e.tenant}/${e.cls}`] = (counts[`${e.tenant}/${e.cls}`] ?? 0) + 1;
  console.log(`trace: seed ${seed}, ${trace.entries.length} requests in one day replayed in ${opts.daySeconds} s (×${Math.round(86_400 / opts.daySeconds)}); ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  if (budget) console.log(`budget: ${budget.tenant} ${usd(budget.limitMicros)} a day (soft ${usd(budget.softLimitMicros)}): half its day at maas-lowcost's list price (${usd(budget.dayCostMicros)})`);

  const epochMs = virtualDay(Date.now());
  const router = await prepareRouter();
  const runs = new Map<Policy, PolicyRun>();
  const summaries: PolicySummary[] = [];
  const interrupted = () => {
    router.dispose();
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  mkdirSync(out, { recursive: true });
  try {
    // Latencies are real: replay each policy on a quiet machine, and again when the probe saw it stall.
    const measure = async (policy: Policy): Promise<{ run: PolicyRun; s: PolicySummary }> => {
      const tries: Try[] = [];
      let kept: { run: PolicyRun; s: PolicySummary; stallShare: number } | null = null;
      for (let i = 0; i < opts.replays; i++) {
        const quiet = opts.minIdle > 0 ? await awaitQuiet(opts.minIdle, opts.maxWaitMs, (line) => console.log(`[${policy}] ${line}`)) : { waitedMs: 0, idle: null };
        const run = await runPolicy(policy, trace, budget, router, { epochMs, daySeconds: opts.daySeconds, leadMs: opts.leadMs, maxInFlight: opts.maxInFlight, seed });
        const s = summarize(run, budget);
        const stallShare = s.machine.stalls / Math.max(1, s.machine.probes);
        tries.push({ idleBefore: quiet.idle, waitedMs: quiet.waitedMs, stallShare });
        if (kept === null || stallShare < kept.stallShare) kept = { run, s, stallShare };
        if (stallShare <= opts.maxStallShare) break;
        console.log(`[${policy}] the machine stalled in ${(stallShare * 100).toFixed(1)} % of the probes (over ${(opts.maxStallShare * 100).toFixed(1)} %)${i + 1 < opts.replays ? ": replaying it" : ""}`);
      }
      const run = { ...kept!.run, tries };
      const s = { ...kept!.s, machine: { ...kept!.s.machine, tries } };
      printRun(s);
      // Everything the report is made from, so `--from` can make it again.
      writeFileSync(join(out, `requests-${policy}.json`), JSON.stringify(run));
      return { run, s };
    };
    // The smoke replays its policies side by side (its figures mean nothing; its time does).
    const measured = opts.smoke ? await Promise.all(opts.policies.map(measure)) : [];
    if (!opts.smoke) for (const policy of opts.policies) measured.push(await measure(policy));
    for (const { run, s } of measured) {
      runs.set(run.policy, run);
      summaries.push(s);
    }
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    router.dispose();
  }
  const meta: RunMeta = {
    date: new Date().toISOString(),
    node: process.version,
    workerd: router.workerd,
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    loadAverage: [loadStart, os.loadavg()[0]!].map((l) => Math.round(l * 100) / 100),
    seconds: Math.round((Date.now() - startedAt) / 1000),
    smoke: opts.smoke,
    nice: os.getPriority(),
    daySeconds: opts.daySeconds,
    seed,
    requests: opts.requests,
  };
  const markdown = render(meta, trace, budget, runs, summaries, out);
  console.log(`\n${markdown}\n`);
  console.log(`written: ${out}/results.{md,json,png}, requests-<policy>.json`);
  console.log(`${Math.round((Date.now() - startedAt) / 1000)} s in all`);
  const broken = breakage(summaries, out);
  for (const b of broken) console.error(`✘ ${b}`);
  return broken.length > 0 ? 1 : 0;
}

/**
 * What fails the run (exit 1), `--smoke` in `npm test` included: the benchmark or the router
 * broken, never a goal missed. A policy that answered nothing; the router's usage log missing
 * answered requests or disagreeing with the tokens their clients received (every cost figure
 * rests on it); a report that is not all there. Exceptions (a process that would not start, the
 * router off BENCH_CLOCK, a refused config) fail it before this.
 */
function breakage(summaries: readonly PolicySummary[], out: string): string[] {
  const problems: string[] = [];
  for (const s of summaries) {
    if (s.ok === 0) problems.push(`${s.policy}: answered nothing`);
    if (s.crossCheck.missingRows > 0) problems.push(`${s.policy}: ${s.crossCheck.missingRows} answered requests have no usage row`);
    if (s.crossCheck.tokenMismatches > 0) problems.push(`${s.policy}: ${s.crossCheck.tokenMismatches} usage rows disagree with the usage chunk their client received`);
  }
  try {
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { policies?: { policy: string }[]; checks?: unknown[] };
    const named = new Set(json.policies?.map((p) => p.policy));
    for (const s of summaries) if (!named.has(s.policy)) problems.push(`results.json: no ${s.policy}`);
    if (summaries.some((s) => s.policy === "token-router") && !(json.checks?.length ?? 0)) problems.push("results.json: no goal checks");
    const md = readFileSync(join(out, "results.md"), "utf8");
    for (const s of summaries) if (!md.includes(`| ${s.label} |`)) problems.push(`results.md: no row for ${s.label}`);
    const png = readFileSync(join(out, "results.png"));
    if (png.length < 1024 || png.readUInt32BE(0) !== 0x89504e47) problems.push("results.png: not a PNG image");
  } catch (e) {
    problems.push(`the report: ${(e as Error).message}`);
  }
  return problems;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`\n✘ ${(e as Error).stack ?? (e as Error).message}`);
    process.exit(1);
  },
);
