/**
 * How responsive the machine was during a replay. Latencies are real while the day is virtual, so
 * a loaded machine (the benchmark shares it with other work) can slow a request that no routing
 * choice slowed. Every 250 real ms the probe asks the router's `GET /healthz` (no I/O behind it)
 * and the simulator's `GET /_sim/health`, and keeps each round trip: as seen from the driver, it
 * covers the driver's event loop, loopback and the other process's scheduling. A round trip over
 * `STALL_MS` marks a stall; the report counts the interactive requests whose first token was
 * awaited during one, and the SLO attainment with them left out.
 */
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
}

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
export function startProbe(routerUrl: string, simUrl: string, clock: DayClock): { stop(): Promise<ProbeSample[]> } {
  const samples: ProbeSample[] = [];
  const pending = new Set<Promise<void>>();
  const tick = () => {
    const at = Math.round(virtualAt(clock, Date.now()) - clock.epochMs);
    const p = Promise.all([roundTrip(`${routerUrl}/healthz`), roundTrip(`${simUrl}/_sim/health`)]).then(([routerMs, simMs]) => {
      samples.push({ at, routerMs, simMs });
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
