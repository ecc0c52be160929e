/**
 * A virtual time of day for benchmarks that compress a day into minutes. The router reads the same
 * contract from its `BENCH_CLOCK` variable, so both sides agree on which hour it is:
 *
 *   now = epochMs + (Date.now() − realStartMs) × speed
 *
 * Only what depends on the time of day follows it (the day profile's hour, brown-out and
 * maintenance windows); delays, prefill queues and timeouts stay in real milliseconds.
 */
import { z } from "zod";

export const VirtualClockSchema = z.strictObject({
  /** The virtual instant (ms since the epoch) at `realStartMs`. */
  epochMs: z.number(),
  /** `Date.now()` at which the virtual clock reads `epochMs`. */
  realStartMs: z.number(),
  /** Virtual milliseconds per real millisecond (360: a day in 4 minutes). */
  speed: z.number().positive().max(10_000_000),
});

/** A validated virtual clock. */
export type VirtualClock = z.infer<typeof VirtualClockSchema>;

/**
 * The virtual instant at a real one; without a clock, the real instant itself.
 * @example
 * virtualNow({ epochMs: 0, realStartMs: 1000, speed: 360 }, 2000) // 360000: one real second is six virtual minutes
 */
export function virtualNow(clock: VirtualClock | undefined, realMs: number): number {
  return clock === undefined ? realMs : clock.epochMs + (realMs - clock.realStartMs) * clock.speed;
}
