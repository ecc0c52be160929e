/**
 * `npm run test:clock`: the vitest suite with workerd's wall clock moved, to prove no test depends on
 * the date it runs (issue #11). A test that injects a fixed instant into an object whose alarm, TTL
 * or `Date.now()` runs on the real clock passes until the real date crosses that instant, then fails
 * every time. Running the suite a year ahead finds such an instant before the calendar does.
 *
 *   npm run test:clock                     # a year ahead, and back as far as workerd allows
 *   npm run test:clock -- --days 365,-30   # chosen shifts, in days
 *
 * The clock moves for workerd only (`CLOCK_SHIFT_ONLY=workerd`): the Worker, its Durable Objects and
 * the tests themselves all run there. The Node side (vitest, miniflare, the simulated origins) keeps
 * the real date; miniflare refuses to start once its compatibility date lies in the future.
 * workerd refuses the same, so the furthest back is the day after `compatibility_date`.
 *
 * Needs a C compiler (`cc`) for the LD_PRELOAD shim in `shift.c`; Linux only.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderWorkerdConfig } from "../lib/workerd-config";
import { startWorkerd } from "../lib/workerd-process";

const DAY_MS = 86_400_000;
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

/** Compiles the shim once (again when `shift.c` changes) into node_modules/.cache. */
function buildShim(): string {
  const source = join(here, "shift.c");
  const out = join(root, "node_modules", ".cache", "clock-shift", "shift.so");
  const stale = (() => {
    try {
      return statSync(out).mtimeMs < statSync(source).mtimeMs;
    } catch {
      return true;
    }
  })();
  if (stale) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", out, source], { stdio: "inherit" });
  }
  return out;
}

function compatibilityDate(): string {
  const match = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(readFileSync(join(root, "wrangler.toml"), "utf8"));
  if (!match) throw new Error("wrangler.toml has no compatibility_date");
  return match[1]!;
}

function shiftEnv(shim: string, days: number): Record<string, string> {
  return { LD_PRELOAD: shim, CLOCK_SHIFT_SECONDS: String(days * 86_400), CLOCK_SHIFT_ONLY: "workerd" };
}

/** The date a bare workerd reports under the shift: proof that the shim reaches workerd's clock. */
async function dateSeenByWorkerd(shim: string, days: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "clock-shift-"));
  try {
    const script = join(dir, "now.js");
    writeFileSync(script, "export default { fetch: () => new Response(new Date().toISOString()) };\n");
    const configPath = join(dir, "config.capnp");
    const config = {
      services: [{ kind: "worker" as const, name: "now", worker: { modules: [{ name: "now.js", type: "esModule" as const, path: script }], compatibilityDate: compatibilityDate() } }],
      sockets: [{ name: "http", address: "127.0.0.1:0", service: "now" }],
    };
    writeFileSync(configPath, renderWorkerdConfig(config, dir));
    const workerd = await startWorkerd({ configPath, socket: "http", quiet: true, env: shiftEnv(shim, days) });
    try {
      return await (await fetch(workerd.url)).text();
    } finally {
      await workerd.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Test folders left out of the shifted runs: they inject no instant into an object with an alarm,
 * TTL or clock of its own (the fuzz suite sends malformed requests; the simulator's tests drive a
 * handler whose clock they fix), and they are a third of the suite's time.
 */
const NOT_DATE_BOUND = ["test/fuzz/**", "test/sim/**"];

function runSuite(shim: string, days: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(join(root, "node_modules", ".bin", "vitest"), ["run", ...NOT_DATE_BOUND.flatMap((glob) => ["--exclude", glob])], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, ...shiftEnv(shim, days) },
    });
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

function requestedShifts(): number[] {
  const i = process.argv.indexOf("--days");
  if (i >= 0) {
    const days = (process.argv[i + 1] ?? "").split(",").map(Number);
    if (days.length === 0 || days.some((d) => !Number.isInteger(d))) throw new Error("--days takes whole numbers of days, e.g. --days 365,-30");
    return days;
  }
  // As far back as workerd allows: the day after the compatibility date, in whole days.
  const back = Math.floor((Date.now() - Date.parse(`${compatibilityDate()}T00:00:00Z`)) / DAY_MS) - 1;
  return back > 0 ? [365, -back] : [365];
}

async function main(): Promise<void> {
  const shim = buildShim();
  const results: Array<{ days: number; date: string; code: number }> = [];
  for (const days of requestedShifts()) {
    const date = await dateSeenByWorkerd(shim, days);
    const expected = new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
    if (date.slice(0, 10) !== expected) throw new Error(`the shim did not move workerd's clock: it says ${date}, expected ${expected}`);
    console.log(`\n── the suite with workerd's clock at ${date} (${days > 0 ? "+" : ""}${days} days) ──\n`);
    results.push({ days, date, code: await runSuite(shim, days) });
  }
  console.log("\nshift     workerd's date              suite");
  for (const r of results) console.log(`${`${r.days > 0 ? "+" : ""}${r.days} d`.padEnd(10)}${r.date.padEnd(28)}${r.code === 0 ? "passed" : `FAILED (exit ${r.code})`}`);
  process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;
}

await main();
