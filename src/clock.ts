/**
 * The router's clock: what decides the time of day (price and origin windows, budget periods,
 * the hour of a health sample, flex waits). Durations the router measures (latencies, timeouts,
 * cool-downs) stay on the real clock.
 *
 * It is `Date.now` everywhere but in benchmarks, which compress a day into minutes by setting
 * `BENCH_CLOCK` (JSON `{ "epochMs", "realStartMs", "speed" }`): the router's time is then
 * `epochMs + (Date.now() - realStartMs) × speed`, and a wait of `ms` of it lasts `ms / speed` real
 * milliseconds. Never set it on a deployed router.
 */
import { z } from "zod";

export interface Clock {
  /** The router's time, epoch ms. */
  now(): number;
  /** Waits `ms` of the router's time. */
  sleep(ms: number): Promise<void>;
  /** The real instant (epoch ms) at which the router's clock reads `at`: when to set an alarm for it. */
  realAt(at: number): number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The real clock. */
export const REAL_CLOCK: Clock = { now: () => Date.now(), sleep: realSleep, realAt: (at) => at };

const benchClockSchema = z
  .object({ epochMs: z.number().int().min(0), realStartMs: z.number().int().min(0), speed: z.number().positive().max(100_000) })
  .strict();

/**
 * The clock `BENCH_CLOCK` describes, or the real one when it is unset.
 * @example
 * clockOf('{"epochMs":1767225600000,"realStartMs":1764000000000,"speed":360}').now()
 */
export function clockOf(benchClock: string | undefined): Clock {
  if (!benchClock) return REAL_CLOCK;
  const { epochMs, realStartMs, speed } = benchClockSchema.parse(JSON.parse(benchClock));
  return {
    now: () => Math.round(epochMs + (Date.now() - realStartMs) * speed),
    sleep: (ms) => realSleep(ms / speed),
    realAt: (at) => Math.round(realStartMs + (at - epochMs) / speed),
  };
}
