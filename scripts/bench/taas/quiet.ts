/**
 * Waiting for a quiet machine before a replay. The benchmark's latencies are real, so a replay
 * run while other work holds the CPUs measures the machine, not the routing. Before each policy
 * the run waits (bounded) until the CPUs were idle for a share of a few seconds (`/proc/stat`;
 * elsewhere it does not wait), and after it the probe (load-probe.ts) says whether the machine
 * stayed responsive; a replay that stalled too often is run again (run.ts).
 */
import { readFileSync } from "node:fs";

/** Idle and total jiffies of all CPUs, or null where `/proc/stat` is not there. */
function cpuTimes(): { idle: number; total: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: idle and iowait are idle time.
    return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/** The share of CPU time that was idle over the next `ms`, or null where it cannot be read. */
export async function idleShare(ms: number): Promise<number | null> {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  if (!a || !b || b.total <= a.total) return null;
  return (b.idle - a.idle) / (b.total - a.total);
}

/**
 * Waits until the CPUs were at least `minIdle` idle over a 5-s window, for at most `maxWaitMs`.
 * Returns how long it waited and the last idle share seen (null: not measurable here).
 */
export async function awaitQuiet(minIdle: number, maxWaitMs: number, say: (line: string) => void): Promise<{ waitedMs: number; idle: number | null; quiet: boolean }> {
  const start = Date.now();
  let told = false;
  for (;;) {
    const idle = await idleShare(5000);
    const waitedMs = Date.now() - start;
    if (idle === null || idle >= minIdle) return { waitedMs, idle, quiet: true };
    if (waitedMs >= maxWaitMs) return { waitedMs, idle, quiet: false };
    if (!told) say(`the CPUs are ${(idle * 100).toFixed(0)} % idle (wanted ${(minIdle * 100).toFixed(0)} %): waiting up to ${Math.round(maxWaitMs / 60_000)} min for a quieter machine`);
    told = true;
  }
}
