/**
 * `npm run bench:cpu`: the router's CPU time per request beside the pass-through Worker's, streamed
 * and not, and optionally beside other checkouts of the router, in one run. CPU time (user +
 * system, from /proc: `cpu.ts`) counts the target's own process alone (its Durable Objects
 * included), so unlike req/s or latency it holds up when other work shares the machine.
 *
 *   npm run bench:cpu -- [--seconds 10] [--rounds 5] [--connections 8] [--kinds json,stream]
 *                        [--against <dir>[,<dir>...]] [--ledger tmpfs|disk]
 *
 * Starts the zero-latency simulated origin, the pass-through Worker, the metering Worker (the least
 * a router that bills by tokens does: `metering-worker.js`) and Token Router on workerd
 * (the demo tenant's limits lifted, as `npm run bench` does), and one more router for each
 * `--against` directory: another checkout (`git worktree add /tmp/base main`, or a `git archive`
 * with node_modules linked), built by its own scripts. Each round loads every target of a kind at
 * once for `--seconds`, so that what else the machine does weighs on all of them alike, and reads
 * each process's CPU time around it (work left in `waitUntil` included). Prints per target the
 * median over the rounds of CPU µs per request (× 10,000 = CPU ms per 10,000 requests) and req/s,
 * then the ratios: router ÷ pass-through, and each other checkout ÷ this one, as a ratio of medians
 * and round by round (the range, the geometric mean, in how many rounds the other was dearer).
 *
 * How far to trust a ratio: two identical builds side by side have differed by up to 5% over five
 * rounds on a shared 2-core machine; CPU per request itself rises with the machine's load (caches,
 * hyper-threads), so compare figures from one run, not across runs. Linux only; not in `npm test`.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEMO_SECRETS, LOCAL_DEMO_KEY, pointAtSim } from "../lib/demo";
import { loadConfig } from "../lib/local-router";
import { processCpuSeconds } from "./cpu";
import { runLoad, type LoadRequest } from "./load";
import { chatBody, provisionTenant, SCENARIO } from "./requests";
import { startOrigin, startPassthrough, startRouter, type Server } from "./servers";

type Kind = "json" | "stream";

interface Target {
  label: string;
  kind: Kind;
  server: Server;
  request: LoadRequest;
}

function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "10" },
      rounds: { type: "string", default: "5" },
      connections: { type: "string", default: "8" },
      kinds: { type: "string", default: "json,stream" },
      against: { type: "string", default: "" },
      ledger: { type: "string", default: "tmpfs" },
    },
  });
  const kinds = values.kinds.split(",").map((k) => k.trim());
  for (const k of kinds) if (k !== "json" && k !== "stream") throw new Error(`--kinds: json and/or stream, not "${k}"`);
  const [seconds, rounds, connections] = [values.seconds, values.rounds, values.connections].map(Number);
  for (const [name, n] of [["seconds", seconds], ["rounds", rounds], ["connections", connections]] as const) {
    if (!Number.isInteger(n) || n! < 1) throw new Error(`--${name}: a positive integer`);
  }
  if (values.ledger !== "disk" && values.ledger !== "tmpfs") throw new Error("--ledger: disk or tmpfs");
  const against = values.against.split(",").filter((d) => d !== "").map((d) => resolve(d));
  return { kinds: kinds as Kind[], seconds: seconds!, rounds: rounds!, connections: connections!, against, ledger: values.ledger as "disk" | "tmpfs" };
}

/** A router built from the checkout at `root` by that checkout's own bench scripts. */
async function routerOf(root: string | null, config: string, ledger: "disk" | "tmpfs"): Promise<Server> {
  if (root === null) return startRouter(config, { ...DEMO_SECRETS }, ledger);
  const theirs = (await import(join(root, "scripts/bench/servers.ts"))) as { startRouter: typeof startRouter };
  return theirs.startRouter(config, { ...DEMO_SECRETS }, ledger);
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const opts = options();
  const servers: Server[] = [];
  const started = <S extends Server>(s: S): S => (servers.push(s), s);
  try {
    const origin = started(await startOrigin());
    const routed = pointAtSim(loadConfig(undefined).input, origin.url);
    const first = routed.scenarios[SCENARIO]?.candidates[0];
    if (!first) throw new Error(`the demo config has no scenario ${SCENARIO}`);
    const apiRoot = routed.origins[first.origin]!.baseUrl;
    const config = JSON.stringify(routed);
    const roots = [null, ...opts.against];
    const [pass, metering, ...routers] = await Promise.all([
      startPassthrough(apiRoot).then(started),
      startPassthrough(apiRoot, "metering", first.model).then(started),
      ...roots.map((root) => routerOf(root, config, opts.ledger).then(started)),
    ]);
    const routerLabel = (i: number) => (i === 0 ? "router" : `router@${roots[i]}`);

    const targets: Target[] = [];
    for (const kind of opts.kinds) {
      const stream = kind === "stream";
      targets.push({ label: "pass-through", kind, server: pass!, request: { url: `${pass!.url}/v1/chat/completions`, headers: {}, body: chatBody(first.model, stream) } });
      targets.push({ label: "metering", kind, server: metering!, request: { url: `${metering!.url}/v1/chat/completions`, headers: {}, body: chatBody(first.model, stream) } });
      routers.forEach((server, i) =>
        targets.push({ label: routerLabel(i), kind, server, request: { url: `${server.url}/v1/chat/completions`, headers: { authorization: `Bearer ${LOCAL_DEMO_KEY}` }, body: chatBody(SCENARIO, stream) } }),
      );
    }
    // The first request seeds the demo tenant; then its limits are lifted; then a warm-up (JIT, pools).
    for (const t of targets) {
      const res = await fetch(t.request.url, { method: "POST", headers: { "content-type": "application/json", ...t.request.headers }, body: t.request.body });
      if (res.status !== 200) throw new Error(`${t.label} ${t.kind}: answered ${res.status} ${(await res.text()).slice(0, 400)}`);
      await res.arrayBuffer();
    }
    for (const r of routers) await provisionTenant(r.url);
    for (const t of targets) await runLoad(t.request, { connections: opts.connections, durationSeconds: 3 });

    const cpu = new Map<Target, number[]>();
    const rps = new Map<Target, number[]>();
    for (let round = 0; round < opts.rounds; round++) {
      for (const kind of opts.kinds) {
        // Every target of a kind at once, over the same seconds: whatever else the machine is doing
        // then weighs on them alike, and the noise mostly cancels out of their ratios.
        const group = targets.filter((t) => t.kind === kind);
        const before = group.map((t) => processCpuSeconds(t.server.pid));
        const results = await Promise.all(group.map((t) => runLoad(t.request, { connections: opts.connections, durationSeconds: opts.seconds })));
        // What a response leaves behind (settlement in waitUntil) belongs to it.
        await new Promise((done) => setTimeout(done, 200));
        group.forEach((t, i) => {
          const [b, after, r] = [before[i], processCpuSeconds(t.server.pid), results[i]!];
          if (b === null || b === undefined || after === null) throw new Error("no /proc/<pid>/stat: CPU time is read on Linux only");
          if (r.non2xx || r.errors) throw new Error(`${t.label} ${t.kind}: ${r.non2xx} non-2xx ${JSON.stringify(r.otherStatuses)}, ${r.errors} errors`);
          const us = ((after - b) / r.ok) * 1e6;
          cpu.set(t, (cpu.get(t) ?? []).concat(us));
          rps.set(t, (rps.get(t) ?? []).concat(r.ok / r.seconds));
          console.log(`round ${round + 1}/${opts.rounds}  ${`${t.label} ${t.kind}`.padEnd(28)} ${us.toFixed(0).padStart(6)} µs/req  ${(r.ok / r.seconds).toFixed(0).padStart(6)} req/s`);
        });
      }
    }

    console.log(`\nCPU per request, median of ${opts.rounds} rounds of ${opts.seconds} s at ${opts.connections} connections each (ledger on ${opts.ledger}):`);
    for (const t of targets) console.log(`  ${`${t.label} ${t.kind}`.padEnd(28)} ${median(cpu.get(t)!).toFixed(0).padStart(6)} µs/req  ${median(rps.get(t)!).toFixed(0).padStart(6)} req/s`);
    console.log("ratios:");
    for (const kind of opts.kinds) {
      const rounds = (label: string) => cpu.get(targets.find((t) => t.kind === kind && t.label === label)!)!;
      const passUs = median(rounds("pass-through"));
      const meteringUs = median(rounds("metering"));
      const headUs = median(rounds("router"));
      console.log(`  ${kind}: router ÷ pass-through CPU ${(headUs / passUs).toFixed(2)}× (${(headUs - passUs).toFixed(0)} µs/req beyond it)`);
      console.log(`  ${kind}: router ÷ metering Worker CPU ${(headUs / meteringUs).toFixed(2)}× (${(headUs - meteringUs).toFixed(0)} µs/req beyond it); metering ÷ pass-through ${(meteringUs / passUs).toFixed(2)}×`);
      for (let i = 1; i < roots.length; i++) {
        // Round by round as well: targets of one round shared its load, so their ratio is steadier
        // than the ratio of medians taken from different rounds.
        const paired = rounds(routerLabel(i)).map((us, r) => us / rounds("router")[r]!);
        const geomean = Math.exp(paired.reduce((sum, x) => sum + Math.log(x), 0) / paired.length);
        const dearer = paired.filter((x) => x > 1).length;
        console.log(
          `  ${kind}: ${routerLabel(i)} ÷ router CPU ${(median(rounds(routerLabel(i))) / headUs).toFixed(2)}× (medians); ` +
            `per round ${Math.min(...paired).toFixed(2)}-${Math.max(...paired).toFixed(2)}×, geometric mean ${geomean.toFixed(2)}×, dearer in ${dearer} of ${paired.length}`,
        );
      }
    }
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`\n✘ ${(e as Error).message}`);
    process.exit(1);
  },
);
