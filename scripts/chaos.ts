/**
 * `npm run chaos`: the crash test. Token Router on bare workerd (as `npm run serve -- --demo`
 * runs it: the same build, the ledger as SQLite files on disk) in front of the simulated pool; a
 * tenant with a total cost budget; concurrent chat load, streamed and not; `kill -9` of workerd's
 * process group under load, restart on the same state directory, again and again; then a wait
 * until the ledger's alarm has charged every reservation the crashes left open, and the checks of
 * `chaos/invariants.ts`. Prints the counts; exits 1 when an invariant is broken (and keeps the
 * ledger's directory for a look).
 *
 *   npm run chaos [-- --crashes 3 --phase-seconds 8 --concurrency 16 --limit 100000]
 *
 * About 100 s: 32 s of load, then a wait of about a minute for the reservations the last crash
 * left open. The ledger holds a reservation for `holdMs` = 60 s plus every serving origin's total
 * timeout (src/usage/reservation.ts) before its alarm charges it in full, so the config served
 * here has a single origin with an 8 s total timeout: 68 s from the reservation's admission.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseRouterConfig } from "../src/config/load";
import type { RouterConfigInput } from "../src/config/schema";
import { demoSimOptions } from "../src/sim/demo";
import { startSimServer } from "../src/sim/node";
import { adminClient, watchBudget } from "./chaos/books";
import { uncaughtCorruptions, verdicts } from "./chaos/invariants";
import { startLoad, type Fate } from "./chaos/load";
import { freePort, LOCAL_ADMIN_TOKEN } from "./lib/local-router";
import { prepareRouterOnWorkerd } from "./lib/workerd-router";

const MODEL = "chaos-chat";
const MAX_TOKENS = 24;
const TOTAL_TIMEOUT_MS = 8_000;
/**
 * How long the ledger holds an unsettled reservation before its alarm charges it: `reservationFor`
 * (src/usage/reservation.ts) takes HOLD_MARGIN_MS (60 s) plus the total timeout of every origin
 * that may serve the scenario (here one). Restated, not imported: that module's types pull in
 * Workers-only ones. If it drifts, the wait below runs out and "no reservation left open" fails.
 */
const HOLD_MS = 60_000 + TOTAL_TIMEOUT_MS;

/** One self-hosted origin, paced like the demo's pool, with small timeouts so reservations expire soon. */
function chaosConfig(simUrl: string): RouterConfigInput {
  return {
    version: 1,
    origins: {
      pool: {
        baseUrl: `${simUrl}/pool-local/v1`,
        provider: "vllm",
        kind: "self-hosted",
        timeouts: { firstByteMs: 3_000, totalMs: TOTAL_TIMEOUT_MS },
        // 1 µ$ per prompt token, 2 µ$ per completion token: costs large enough to count exactly.
        pricing: { input: 1, output: 2 },
      },
    },
    scenarios: { [MODEL]: { candidates: [{ origin: "pool", model: "llama-3.1-8b-instruct" }] } },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const { values: flags } = parseArgs({
    options: {
      crashes: { type: "string", default: "3" },
      "phase-seconds": { type: "string", default: "8" },
      concurrency: { type: "string", default: "16" },
      limit: { type: "string", default: "100000" },
    },
  });
  const crashes = Number(flags.crashes);
  const phaseMs = Number(flags["phase-seconds"]) * 1000;
  const limit = Number(flags.limit);
  const began = Date.now();

  const sim = await startSimServer({ host: "127.0.0.1", port: 0, sim: { origins: { "pool-local": demoSimOptions.origins["pool-local"]! } } });
  const input = chaosConfig(sim.url);
  // Validated here, so a mistake stops before workerd starts.
  parseRouterConfig(JSON.stringify(input));
  const stateDir = mkdtempSync(join(tmpdir(), "token-router-chaos-state-"));
  const address = `127.0.0.1:${await freePort()}`;
  const prepared = await prepareRouterOnWorkerd({ address, routerConfig: JSON.stringify(input), secrets: { ADMIN_TOKEN: LOCAL_ADMIN_TOKEN }, stateDir, quiet: true });
  let router = await prepared.start();
  let keepState = false;
  console.log(`router ${router.url} (workerd pid ${router.pid}), ledger in ${stateDir}; reservations held ${seconds(HOLD_MS)}`);

  try {
    const admin = adminClient(router.url, LOCAL_ADMIN_TOKEN);
    const tenantId = `chaos_${Date.now().toString(36)}`;
    const { key, budgetId } = await admin.setUp(tenantId, limit);
    const load = startLoad({ url: router.url, key, model: MODEL, concurrency: Number(flags.concurrency), maxTokens: MAX_TOKENS });
    const watch = watchBudget(admin, tenantId, budgetId);

    let lastCrash = Date.now();
    for (let i = 1; i <= crashes; i++) {
      await sleep(phaseMs);
      const endedBefore = load.outcomes.length;
      // SIGKILL to the process group (workerd runs detached, as its own group): no shutdown, no flush.
      process.kill(-router.pid, "SIGKILL");
      await router.exited;
      lastCrash = Date.now();
      router = await prepared.start();
      console.log(`crash ${i}: killed with ${endedBefore} requests ended so far, restarted in ${seconds(Date.now() - lastCrash)} (pid ${router.pid})`);
    }
    await sleep(phaseMs);
    await load.stop();

    // Reservations the last crash left open are charged by the ledger's alarm at `at + HOLD_MS`.
    const waitStart = Date.now();
    const deadline = lastCrash + HOLD_MS + 30_000;
    console.log(`load stopped; waiting for open reservations to expire (up to ${seconds(deadline - waitStart)}) ...`);
    let budget = await admin.budget(tenantId, budgetId);
    while (budget.reserved > 0 && Date.now() < deadline) {
      await sleep(1000);
      budget = await admin.budget(tenantId, budgetId);
    }
    console.log(`waited ${seconds(Date.now() - waitStart)}; reserved now ${budget.reserved} µ$`);
    await watch.stop();
    const rows = await admin.usage(tenantId);

    const count = (fate: Fate) => load.outcomes.filter((o) => o.fate === fate).length;
    const quota = load.outcomes.filter((o) => o.status === 429).length;
    const answered = load.outcomes.filter((o) => o.status !== null).length;
    console.log(`
requests sent          ${load.outcomes.length} (${load.outcomes.filter((o) => o.stream).length} streamed)
answered               ${answered}: 200 complete ${count("served")}, 200 then cut ${count("broken")}, refused ${count("refused")} (429 insufficient_quota ${quota})
not answered           router down ${count("unreachable")}, lost in flight ${count("lost")}
admitted (client view) at least ${count("served") + count("broken")} (answered 200), at most ${count("served") + count("broken") + count("lost")} (+ lost in flight)
crashes                ${crashes} (kill -9)
usage rows             ${rows.length}, of which charged by the alarm (expired) ${rows.filter((r) => r.outcome === "expired").length}
budget                 limit ${budget.limit} µ$, settled ${budget.settled} µ$, peak settled + reserved ${watch.peak().used} µ$ (${watch.peak().samples} samples)
wall clock             ${seconds(Date.now() - began)}
`);
    const books = { rows, budget, peakUsed: watch.peak().used };
    const results = verdicts(load.outcomes, books);
    for (const v of results) console.log(`${v.ok ? "✓" : "✘"} ${v.name}: ${v.detail}`);
    const uncaught = uncaughtCorruptions(load.outcomes, books);
    console.log(uncaught.length === 0 ? "✓ each check fails on the corruption it exists for" : `✘ corruptions no check caught: ${uncaught.join("; ")}`);
    keepState = !(results.every((v) => v.ok) && uncaught.length === 0);
    if (keepState) console.log(`the ledger's SQLite files are kept in ${stateDir}`);
    return keepState ? 1 : 0;
  } finally {
    await router.stop();
    prepared.remove();
    await sim.close();
    if (!keepState) rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`\n✘ ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
