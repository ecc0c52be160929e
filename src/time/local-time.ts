/**
 * Wall-clock time in an IANA time zone, from an epoch instant, and back.
 *
 * Everything takes the instant as `atMs` (epoch milliseconds) and never reads the clock, so routing
 * and budgets stay pure functions of their inputs. Time zone rules come from the runtime's ICU
 * (workerd ships full ICU) through `Intl.DateTimeFormat`: no tz database of our own to keep fresh.
 */
import { z } from "zod";

/** Days of the week, Monday first (ISO 8601 order). */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** A day of the week. */
export type Weekday = (typeof WEEKDAYS)[number];

/** The local calendar date and time of day of an instant in a time zone. */
export interface LocalTime {
  year: number;
  /** 1-12. */
  month: number;
  /** 1-31. */
  day: number;
  weekday: Weekday;
  /** Minutes since local midnight, 0..1439. */
  minuteOfDay: number;
}

/** Wall-clock fields to the second: enough to compute a zone's exact offset (LMT offsets have seconds). */
interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const DAY_MS = 86_400_000;

/**
 * One formatter per time zone: constructing an `Intl.DateTimeFormat` loads ICU zone data and costs
 * far more than formatting with it. Intl accepts names case-insensitively ("europe/paris"), so the
 * key space is not closed; the cap keeps a stream of odd spellings from growing the map forever.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_CACHED_FORMATTERS = 1024;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f) return f;
  // en-US + gregory + latn pins the digits and calendar; h23 avoids "24" for midnight, which
  // `hour12: false` produces in some ICU versions.
  f = new Intl.DateTimeFormat("en-US", {
    timeZone,
    calendar: "gregory",
    numberingSystem: "latn",
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  if (formatters.size >= MAX_CACHED_FORMATTERS) formatters.delete(formatters.keys().next().value!);
  formatters.set(timeZone, f);
  return f;
}

/**
 * The last wall clock read per zone, by whole epoch second. `formatToParts` dominated the ledger's
 * CPU profile (every admission asks for the same second many times: periods, price windows); the
 * formatter drops milliseconds, so one entry per second is exact, not an approximation.
 */
const lastWallClock = new Map<string, { second: number; wall: Readonly<WallClock> }>();

function wallClock(atMs: number, timeZone: string): Readonly<WallClock> {
  const second = Math.floor(atMs / 1000);
  const last = lastWallClock.get(timeZone);
  // NaN never equals itself, so a non-finite instant still reaches Intl and throws there.
  if (last && last.second === second) return last.wall;
  const wall = readWallClock(atMs, timeZone);
  // Only zones that formatted (the formatter cache's cap bounds the key space) are remembered.
  if (lastWallClock.size >= MAX_CACHED_FORMATTERS && !lastWallClock.has(timeZone)) lastWallClock.clear();
  lastWallClock.set(timeZone, { second, wall });
  return wall;
}

function readWallClock(atMs: number, timeZone: string): WallClock {
  const wall: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(atMs)) {
    switch (part.type) {
      case "year":
      case "month":
      case "day":
      case "hour":
      case "minute":
      case "second":
        wall[part.type] = Number(part.value);
    }
  }
  return wall;
}

/** The wall clock read as if it were UTC: the "local epoch" that offsets are measured against. */
function wallAsUtcMs(w: Readonly<WallClock>): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/**
 * The zone's offset from UTC at an instant, in ms (local = UTC + offset). Exact: the formatter
 * drops milliseconds, so they are dropped from the instant too.
 */
function offsetMs(atMs: number, timeZone: string): number {
  const wholeSecond = atMs - (((atMs % 1000) + 1000) % 1000);
  return wallAsUtcMs(wallClock(atMs, timeZone)) - wholeSecond;
}

/** Weekday of a proleptic Gregorian date (Date.UTC handles the calendar; 1970-01-01 was a Thursday). */
function weekdayOf(year: number, month: number, day: number): Weekday {
  const sundayFirst = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return WEEKDAYS[(sundayFirst + 6) % 7]!;
}

/**
 * The local date, weekday and minute of day of an instant in an IANA time zone.
 * Throws a RangeError for an unknown zone or a non-finite instant (validate zones with
 * {@link timeZoneSchema} at the config boundary).
 * @example
 * localTime(Date.UTC(2026, 10, 23, 12, 34), "Asia/Kathmandu")
 * // { year: 2026, month: 11, day: 23, weekday: "mon", minuteOfDay: 1099 } (18:19, UTC+05:45)
 */
export function localTime(atMs: number, timeZone: string): LocalTime {
  const w = wallClock(atMs, timeZone);
  return {
    year: w.year,
    month: w.month,
    day: w.day,
    weekday: weekdayOf(w.year, w.month, w.day),
    minuteOfDay: w.hour * 60 + w.minute,
  };
}

/**
 * The first instant at which the local wall clock of `timeZone` reads at least the given wall time
 * (given as `Date.UTC(...)` of the local fields, i.e. "local epoch" ms).
 *
 * A wall time maps to one instant, two (a fall-back overlap: the earlier wins, it is when the clock
 * first reaches it) or none (a spring-forward gap: the answer is the transition itself, the first
 * instant past the skipped stretch). Offsets change, so the instant is found by checking candidate
 * offsets rather than assuming 24 h days. As in Temporal's `GetNamedTimeZoneEpochNanoseconds`, the
 * candidates are the offsets a day before and a day after, which holds while a zone never changes
 * its offset twice within about 38 hours (no zone does).
 * @example
 * // 2026-03-09 00:00 in New York is EDT (UTC-4), after the 23-hour day of 2026-03-08.
 * instantOfWallTime(Date.UTC(2026, 2, 9), "America/New_York") // Date.UTC(2026, 2, 9, 4)
 */
export function instantOfWallTime(wallMs: number, timeZone: string): number {
  const before = offsetMs(wallMs - DAY_MS, timeZone);
  const after = offsetMs(wallMs + DAY_MS, timeZone);
  if (before === after) return wallMs - before;
  // Larger offset first: on an overlap both candidates are valid and wall - larger is the earlier.
  const [first, second] = before > after ? [before, after] : [after, before];
  if (offsetMs(wallMs - first, timeZone) === first) return wallMs - first;
  if (offsetMs(wallMs - second, timeZone) === second) return wallMs - second;
  // A gap: the offset rises from `before` to `after` at some instant T in (wall - after, wall - before].
  // Bisect to the second (zone transitions fall on whole seconds); usually T = wall - before, as
  // zones that skip midnight do so at midnight, but bisection does not rely on it.
  let lo = wallMs - after; // offset still `before` here
  let hi = wallMs - before; // offset already `after` here
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetMs(mid, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Whether `name` is a time zone that Intl (hence {@link localTime}) knows, by IANA name. Offset
 * strings such as "+01:00", which recent ICU versions also accept, are refused: a fixed offset
 * silently ignores daylight saving time, which is rarely what a budget or a tariff means.
 * @example
 * isTimeZone("Europe/Paris") // true
 * isTimeZone("Mars/Olympus") // false
 */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z]/.test(name)) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * A time zone in config: an IANA name, checked against the runtime's ICU.
 * @example
 * timeZoneSchema.parse("Asia/Kathmandu") // "Asia/Kathmandu"
 * timeZoneSchema.safeParse("CEST").success // false
 */
export const timeZoneSchema = z.string().refine(isTimeZone, { message: "not an IANA time zone, e.g. Europe/Paris" });
