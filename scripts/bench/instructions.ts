/**
 * `npm run bench:instructions`: the router's instructions per request, counted by valgrind's
 * callgrind in the workerd process, for this tree and other checkouts. An instruction count moves
 * far less than CPU time with the machine's other load: two runs of one build side by side agreed
 * within 1%, so a change worth a few percent shows on a busy machine.
 *
 *   npm run bench:instructions -- [--against <dir>[,<dir>...]] [--kinds json,stream]
 *                                 [--requests 300] [--warmup 800]
 *
 * For each kind of request, runs every build (this tree and each `--against` checkout, built by
 * its own scripts) side by side: a zero-latency simulated origin natively and the router's workerd
 * under callgrind (about 50 times slower), with V8 on one thread (`--single-threaded`: its compiler and
 * collector then run in order on the main thread instead of racing it, which is what makes counts
 * repeatable). Warms the router up, zeroes the counters, sends `--requests` at 2 connections and
 * dumps: the count covers those requests and whatever the router did meanwhile in the background
 * (settlement, lease reports). Work the router paces by the wall clock weighs more than at full
 * speed, and by how slow the machine is: compare builds from one run, not across runs. Prints
 * instructions per request and each checkout ÷ this tree, also without garbage collection and
 * optimizing compilation (lumps two runs of one build place differently) and in the Durable
 * Objects' calls alone (see `partsOf`), and leaves the callgrind files for
 * `callgrind_annotate --inclusive=yes` (workerd's own functions are named; JavaScript shows as JIT
 * code). About 10-15 minutes per kind. Linux with valgrind only; not in `npm test`.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEMO_SECRETS, LOCAL_DEMO_KEY, pointAtSim } from "../lib/demo";
import { freePort, loadConfig } from "../lib/local-router";
import { workerdBinary } from "../lib/workerd-process";
import { PROJECT_ROOT, type prepareRouterOnWorkerd } from "../lib/workerd-router";
import { runLoad } from "./load";
import { chatBody, provisionTenant, SCENARIO } from "./requests";
import { startOrigin } from "./servers";

type Kind = "json" | "stream";

/** A count's parts, per request: all of it, without the collector and the optimizing compiler, and the Durable Object calls served. */
interface Parts {
  perRequest: number;
  steady: number;
  objects: number;
}

/**
 * The parts of a callgrind file's total (`callgrind_annotate --inclusive=yes`, functions named by
 * workerd's symbols): garbage collection and optimizing compilation come in lumps that two runs
 * of one build place differently (their share moved by ±5% between runs); the Durable Objects'
 * RPC methods (ledger, monitors) run in the same process and are paced partly by the clock.
 */
function partsOf(file: string, total: number, requests: number): Parts {
  const annotated = execFileSync("callgrind_annotate", ["--inclusive=yes", file], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const inclusive = (name: string): number => {
    const line = annotated.split("\n").find((l) => l.includes(name));
    return line ? Number(line.trim().split(" ")[0]!.replace(/,/g, "")) : 0;
  };
  const lumps = inclusive("v8::internal::Heap::CollectGarbage(") + inclusive("???:v8::internal::Compiler::CompileOptimized(");
  return { perRequest: total / requests, steady: (total - lumps) / requests, objects: inclusive("???:workerd::api::JsRpcTargetBase::callImpl(") / requests };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `work`, tried up to five times: under valgrind a kept-alive connection can close under a call. */
async function again(work: () => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (e) {
      if (i === 5) throw e;
      await sleep(2000);
    }
  }
}

/** Instructions per request of the router built from `root`, for `kind` requests. */
async function count(root: string, kind: Kind, requests: number, warmup: number): Promise<Parts & { file: string }> {
  const { prepareRouterOnWorkerd: prepare } = (await import(join(root, "scripts/lib/workerd-router.ts"))) as { prepareRouterOnWorkerd: typeof prepareRouterOnWorkerd };
  const origin = await startOrigin();
  const port = await freePort();
  const stateDir = mkdtempSync(join("/dev/shm", "token-router-instructions-"));
  const outDir = mkdtempSync(join(tmpdir(), "token-router-callgrind-"));
  let child: ReturnType<typeof spawn> | undefined;
  let prepared: Awaited<ReturnType<typeof prepareRouterOnWorkerd>> | undefined;
  try {
    prepared = await prepare({ address: `127.0.0.1:${port}`, routerConfig: JSON.stringify(pointAtSim(loadConfig(undefined).input, origin.url)), secrets: { ...DEMO_SECRETS }, stateDir });
    const config = readFileSync(prepared.configPath, "utf8");
    writeFileSync(prepared.configPath, config.replace("const config :Workerd.Config = (", 'const config :Workerd.Config = (\n  v8Flags = ["--single-threaded"],'));
    const out = join(outDir, "callgrind.out");
    child = spawn("valgrind", ["--tool=callgrind", "--smc-check=all-non-file", `--callgrind-out-file=${out}`, workerdBinary().path, "serve", prepared.configPath, "config"], {
      env: { ...process.env, ...DEMO_SECRETS },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`workerd under valgrind exited:\n${stderr.slice(-2000)}`);
      try {
        await fetch(url, { signal: AbortSignal.timeout(2000) });
        break;
      } catch {
        if (i > 600) throw new Error("workerd under valgrind did not listen within 10 minutes");
        await sleep(1000);
      }
    }
    const request = { url: `${url}/v1/chat/completions`, headers: { authorization: `Bearer ${LOCAL_DEMO_KEY}` }, body: chatBody(SCENARIO, kind === "stream") };
    // The first request seeds the demo tenant; then its limits are lifted.
    await again(async () => {
      const res = await fetch(request.url, { method: "POST", headers: { ...request.headers, "content-type": "application/json" }, body: request.body });
      if (res.status !== 200) throw new Error(`router answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    await again(() => provisionTenant(url));
    const load = (amount: number) => runLoad(request, { connections: 2, durationSeconds: 0, amount, timeoutSeconds: 300 });
    const warm = await load(warmup);
    if (warm.non2xx || warm.errors) throw new Error(`warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors`);
    await sleep(2000);
    execFileSync("callgrind_control", ["--zero", String(child.pid)], { stdio: "ignore" });
    const r = await load(requests);
    await sleep(1500);
    execFileSync("callgrind_control", ["--dump", String(child.pid)], { stdio: "ignore" });
    if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
    await sleep(1000);
    const file = join(outDir, readdirSync(outDir).filter((f) => f.startsWith("callgrind.out.")).sort().at(-1)!);
    const totals = /^(?:totals|summary): (\d+)/m.exec(readFileSync(file, "utf8"));
    if (!totals) throw new Error(`${file}: no totals`);
    return { ...partsOf(file, Number(totals[1]), r.ok), file };
  } finally {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((done) => child!.once("exit", done));
    }
    prepared?.remove();
    rmSync(stateDir, { recursive: true, force: true });
    await origin.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      against: { type: "string", default: "" },
      kinds: { type: "string", default: "json,stream" },
      requests: { type: "string", default: "300" },
      warmup: { type: "string", default: "800" },
    },
  });
  const kinds = values.kinds.split(",").map((k) => k.trim());
  for (const k of kinds) if (k !== "json" && k !== "stream") throw new Error(`--kinds: json and/or stream, not "${k}"`);
  const [requests, warmup] = [Number(values.requests), Number(values.warmup)];
  if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error("--requests: a positive integer; --warmup: 0 or more");
  const roots = [PROJECT_ROOT, ...values.against.split(",").filter((d) => d !== "").map((d) => resolve(d))];
  const counts = new Map<string, Parts>();
  const k = (n: number) => `${(n / 1e3).toFixed(0)} k`;
  for (const kind of kinds as Kind[]) {
    // The builds side by side: work the router paces by the wall clock (lease reports, health
    // batches) then weighs on each alike, and their counts compare.
    const results = await Promise.all(roots.map((root) => count(root, kind, requests, warmup)));
    roots.forEach((root, i) => {
      const { file, ...parts } = results[i]!;
      counts.set(`${root} ${kind}`, parts);
      console.log(`${kind.padEnd(6)} ${root}: ${k(parts.perRequest)} instructions per request; ${k(parts.steady)} without GC and JIT; ${k(parts.objects)} in Durable Object calls (${file})`);
    });
  }
  console.log("\nratios to this tree (all; without GC and JIT; Durable Object calls):");
  for (const kind of kinds) {
    for (const root of roots.slice(1)) {
      const [a, b] = [counts.get(`${root} ${kind}`)!, counts.get(`${PROJECT_ROOT} ${kind}`)!];
      const ratio = (key: keyof Parts) => `${(a[key] / b[key]).toFixed(3)}×`;
      console.log(`  ${kind}: ${root} ÷ ${PROJECT_ROOT} ${ratio("perRequest")}; ${ratio("steady")}; ${ratio("objects")}`);
    }
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`\n✘ ${(e as Error).message}`);
    process.exit(1);
  },
);
