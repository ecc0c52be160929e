/**
 * How responsive the machine was during a replay. Latencies are real while the day is virtual, so
 * a loaded machine (the benchmark shares it with other work) can slow a request that no routing
 * choice slowed. Every 250 real ms the probe asks the router's `GET /healthz` (no I/O behind it)
 * and the simulator's `GET /_sim/health`, and keeps each round trip: as seen from the driver, it
 * covers the driver's event loop, loopback and the other process's scheduling. A round trip over
 * `STALL_MS` marks a stall; the report counts the interactive requests whose first token was
 * awaited during one, and the SLO attainment with them left out. It also reads the router's CPU
 * time (`/proc/<pid>/stat`): a router whose one thread is busy most of an hour is slowed by its
 * own work, one that is mostly idle while probes stall is slowed by the machine.
 */
import { readFileSync } from "node:fs";
import type { DayClock } from "./clock";
import { virtualAt } from "./clock";

/** A round trip at or over this (real ms) is a stall of the machine, not of an origin. */
export const STALL_MS = 100;
const EVERY_MS = 250;

export interface ProbeSample {
  /** Virtual ms from the day's start, when the probe left. */
  at: number;
  /** Real ms; null when it failed or took over 5 s. */
  routerMs: number | null;
  simMs: number | null;
  /** The router's (workerd's) CPU time so far, ms, and the real time it was read at; null where `/proc` is not there. */
  routerCpuMs: number | null;
  realMs: number;
}

/** A process's user + system CPU time, ms, from `/proc/<pid>/stat`, or null. */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command (which is in parentheses and may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** `getconf CLK_TCK`: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

async function roundTrip(url: string): Promise<number | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.ok ? performance.now() - t0 : null;
  } catch {
    return null;
  }
}

/** Probes until `stop()`, which resolves with the samples. */
export function startProbe(routerUrl: string, simUrl: string, routerPid: number, clock: DayClock): { stop(): Promise<ProbeSample[]> } {
  const samples: ProbeSample[] = [];
  const pending = new Set<Promise<void>>();
  const tick = () => {
    const realMs = Date.now();
    const at = Math.round(virtualAt(clock, realMs) - clock.epochMs);
    const routerCpuMs = cpuMsOf(routerPid);
    const p = Promise.all([roundTrip(`${routerUrl}/healthz`), roundTrip(`${simUrl}/_sim/health`)]).then(([routerMs, simMs]) => {
      samples.push({ at, routerMs, simMs, routerCpuMs, realMs });
      pending.delete(p);
    });
    pending.add(p);
  };
  const timer = setInterval(tick, EVERY_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
      return samples.sort((a, b) => a.at - b.at);
    },
  };
}

/** The worse of a sample's two round trips (a failed probe counts as a stall). */
export const probeMs = (s: ProbeSample) => (s.routerMs === null || s.simMs === null ? Infinity : Math.max(s.routerMs, s.simMs));

/**
 * Whether a stall overlapped the real interval a request spent waiting, given in virtual ms from
 * the day's start: a probe sent in it, or sent before it and still out when it began.
 */
export function stalledDuring(samples: readonly ProbeSample[], fromVirtual: number, toVirtual: number, speed: number): boolean {
  return samples.some((s) => {
    const ms = probeMs(s);
    if (ms < STALL_MS) return false;
    const end = s.at + (Number.isFinite(ms) ? ms : 5000) * speed;
    return s.at <= toVirtual && end >= fromVirtual;
  });
}
