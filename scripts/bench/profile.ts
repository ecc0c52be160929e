/**
 * `npx tsx scripts/bench/profile.ts`: where the router's CPU goes under load, from V8's own
 * sampling profiler in workerd (the Chrome DevTools protocol over the inspector's WebSocket).
 *
 *   npx tsx scripts/bench/profile.ts [--stream] [--duration 10] [--connections 8] [--interval 100]
 *                                    [--top 40] [--out <file.cpuprofile>]
 *
 * Starts the zero-latency simulated origin and Token Router on workerd with `--inspector-addr`,
 * as `npm run bench` does (the demo tenant's limits lifted), warms it up, then records a CPU
 * profile while autocannon loads it. Prints the functions with the most self time and the most
 * inclusive time (the JavaScript only: workerd's native work shows as `(program)`), and writes the
 * profile for Chrome DevTools' Performance panel or speedscope. An attached inspector makes some
 * things dearer than they are (every `console.log` also goes to it): read the shares as pointers,
 * and measure a change with `npm run bench:cpu`. The WebSocket client is undici's (a dependency
 * of wrangler's; Node 20 has no global one).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { WebSocket } from "undici";
import { DEMO_SECRETS, LOCAL_DEMO_KEY, pointAtSim } from "../lib/demo";
import { freePort, loadConfig } from "../lib/local-router";
import { startRouterOnWorkerd } from "../lib/workerd-router";
import { processCpuSeconds } from "./cpu";
import { runLoad } from "./load";
import { chatBody, provisionTenant, SCENARIO } from "./requests";
import { startOrigin } from "./servers";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A minimal Chrome DevTools protocol client: one call at a time is all this script needs. */
async function devtools(url: string) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
    if (message.id === undefined) return;
    waiting.get(message.id)?.(message.error ? Promise.reject(new Error(JSON.stringify(message.error))) : message.result);
    waiting.delete(message.id);
  });
  return {
    call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise<T>((resolve) => waiting.set(id, resolve as (r: unknown) => void));
    },
    close: () => ws.close(),
  };
}

/** `file:line` in the sources for a position in the bundle, from its source map (wrangler writes one). */
function sourceMapper(buildDir: string): (url: string, line: number, column: number) => string | null {
  const maps = new Map<string, SourceMap | null>();
  return (url, line, column) => {
    const file = url.slice(url.lastIndexOf("/") + 1);
    if (!maps.has(file)) {
      const path = join(buildDir, `${file}.map`);
      maps.set(file, existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, "utf8"))) : null);
    }
    const entry = maps.get(file)?.findEntry(line, column);
    if (!entry || !("originalSource" in entry)) return null;
    const source = entry.originalSource.replace(/^.*?(src\/|node_modules\/)/, "$1");
    return `${source}:${entry.originalLine + 1}`;
  };
}

/** Self and inclusive sample counts per function (by name and location), heaviest first. */
function summarize(profile: Profile, top: number, mapped: (url: string, line: number, column: number) => string | null): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    const source = f.url && f.lineNumber >= 0 ? mapped(f.url, f.lineNumber, f.columnNumber) : null;
    if (source) return `${f.functionName || "(anonymous)"} ${source}`;
    const file = f.url ? f.url.slice(f.url.lastIndexOf("/") + 1) : "";
    return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    self.set(label(n), (self.get(label(n)) ?? 0) + hits);
    // Each function once per stack, however often it recurs in it.
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + hits);
    }
  }
  const table = (title: string, counts: Map<string, number>) =>
    `${title}\n` +
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, n]) => `${((n / total) * 100).toFixed(1).padStart(6)}%  ${l}`)
      .join("\n");
  return `${total} samples\n\n${table("self", self)}\n\n${table("inclusive", inclusive)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stream: { type: "boolean", default: false },
      duration: { type: "string", default: "10" },
      connections: { type: "string", default: "8" },
      interval: { type: "string", default: "100" },
      top: { type: "string", default: "40" },
      out: { type: "string" },
    },
  });
  const stream = values.stream;
  const origin = await startOrigin();
  const inspectPort = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "token-router-profile-state-"));
  const routed = pointAtSim(loadConfig(undefined).input, origin.url);
  const router = await startRouterOnWorkerd({
    address: "127.0.0.1:0",
    routerConfig: JSON.stringify(routed),
    secrets: { ...DEMO_SECRETS },
    stateDir,
    inspectorAddr: `127.0.0.1:${inspectPort}`,
    quiet: true,
  });
  try {
    const request = { url: `${router.url}/v1/chat/completions`, headers: { authorization: `Bearer ${LOCAL_DEMO_KEY}` }, body: chatBody(SCENARIO, stream) };
    // The first request seeds the demo tenant; then it gets limits a benchmark does not hit.
    const first = await fetch(request.url, { method: "POST", headers: { ...request.headers, "content-type": "application/json" }, body: request.body });
    if (first.status !== 200) throw new Error(`router answered ${first.status}: ${await first.text()}`);
    await first.text();
    await provisionTenant(router.url);
    const connections = Number(values.connections);
    await runLoad(request, { connections, durationSeconds: 3 });

    const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
    const target = targets[0];
    if (!target) throw new Error("workerd's inspector lists no target");
    const cdp = await devtools(target.webSocketDebuggerUrl);
    await cdp.call("Profiler.enable");
    await cdp.call("Profiler.setSamplingInterval", { interval: Number(values.interval) });
    await cdp.call("Profiler.start");
    const cpuBefore = processCpuSeconds(router.pid);
    const r = await runLoad(request, { connections, durationSeconds: Number(values.duration) });
    const cpuAfter = processCpuSeconds(router.pid);
    const { profile } = await cdp.call<{ profile: Profile }>("Profiler.stop");
    cdp.close();

    const out = values.out ?? join(tmpdir(), `token-router-${stream ? "stream" : "json"}.cpuprofile`);
    writeFileSync(out, JSON.stringify(profile));
    const cpu = cpuBefore !== null && cpuAfter !== null ? ` · process CPU ${(((cpuAfter - cpuBefore) / r.ok) * 1e6).toFixed(0)} µs/req (profiler on)` : "";
    console.log(`${stream ? "stream" : "json"}: ${r.ok} ok, ${r.non2xx} non-2xx, ${r.errors} errors, ${(r.ok / r.seconds).toFixed(0)} req/s${cpu}`);
    console.log(summarize(profile, Number(values.top), sourceMapper(join(dirname(router.configPath), "build"))));
    console.log(`\nprofile written to ${out}`);
  } finally {
    await router.stop();
    await origin.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
