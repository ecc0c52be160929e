/**
 * The compressed day's clock, shared by the router (its `BENCH_CLOCK` variable), the simulated
 * origins (their `clock` option) and the driver:
 *
 *   virtual = epochMs + (Date.now() − realStartMs) × speed
 *
 * `epochMs` is a UTC midnight two days after the run starts: the virtual day runs ahead of the real clock
 * the whole time, so nothing that compares virtual instants with real ones (the ledger's alarm
 * charges reservations whose hold has passed in real time) ever sees one in the past.
 * `realStartMs` is when the replay starts, a lead after the router is launched: the router comes
 * up, tenants are provisioned and warmed up in the virtual evening before.
 */
import type { VirtualClock } from "../../../src/sim/virtual-clock";
import { DAY_MS } from "./trace";

export interface DayClock extends VirtualClock {
  /** Real ms one virtual day lasts. */
  dayRealMs: number;
}

/** The virtual day of a benchmark run: the UTC midnight two days after `realNow`; every policy replays this same date. */
export function virtualDay(realNow: number): number {
  return Math.floor(realNow / DAY_MS) * DAY_MS + 2 * DAY_MS;
}

/** The clock of one replay of the day `epochMs`: lasting `daySeconds` real seconds, starting `leadMs` from `realNow`. */
export function dayClock(epochMs: number, daySeconds: number, leadMs: number, realNow: number): DayClock {
  return { epochMs, realStartMs: realNow + leadMs, speed: DAY_MS / (daySeconds * 1000), dayRealMs: daySeconds * 1000 };
}

/** The virtual instant at a real one. */
export const virtualAt = (c: VirtualClock, realMs: number) => c.epochMs + (realMs - c.realStartMs) * c.speed;
/** The real instant at which the virtual clock reads `virtualMs`. */
export const realAt = (c: VirtualClock, virtualMs: number) => c.realStartMs + (virtualMs - c.epochMs) / c.speed;

/** The value of the router's `BENCH_CLOCK` variable. */
export function benchClockVar(c: VirtualClock): string {
  return JSON.stringify({ epochMs: c.epochMs, realStartMs: c.realStartMs, speed: c.speed });
}

/** "HH:MM" of a virtual instant (UTC), with the day offset when it is not the benchmark's day. */
export function clockTime(c: VirtualClock, virtualMs: number): string {
  const offset = virtualMs - c.epochMs;
  const day = Math.floor(offset / DAY_MS);
  const minute = Math.floor((offset - day * DAY_MS) / 60_000);
  const hhmm = `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
  return day === 0 ? hhmm : `${hhmm} (day ${day >= 0 ? "+" : ""}${day})`;
}

/** The virtual day's date, "YYYY-MM-DD" (UTC). */
export function dayDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}
