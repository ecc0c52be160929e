/**
 * Budget periods in the tenant's time zone: a "day" budget resets at the tenant's local midnight,
 * not at UTC midnight, and a local day is 23 or 25 hours long on a DST change.
 */
import { instantOfWallTime, localTime } from "./local-time";

/** How long a budget lasts before it resets. */
export type Period = "day" | "month" | "total";

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * The key of the period an instant belongs to, in a time zone: the local date ("2026-11-23"), the
 * local month ("2026-11") or "total". Keys of one kind sort in time order as strings.
 * @example
 * // 2026-11-23 03:00 UTC is still the 22nd in New York (UTC-5).
 * periodKey("day", Date.UTC(2026, 10, 23, 3), "America/New_York") // "2026-11-22"
 * periodKey("month", Date.UTC(2026, 10, 23, 3), "America/New_York") // "2026-11"
 */
export function periodKey(period: Period, atMs: number, timeZone: string): string {
  if (period === "total") return "total";
  const t = localTime(atMs, timeZone);
  const month = `${String(t.year).padStart(4, "0")}-${pad2(t.month)}`;
  return period === "month" ? month : `${month}-${pad2(t.day)}`;
}

/**
 * When the period containing `atMs` ends (epoch ms): the next local midnight for "day", the first
 * of next month at 00:00 local for "month", `null` for "total". It is the first instant whose
 * {@link periodKey} differs; where a zone skips local midnight (a DST gap at 00:00), that is the
 * transition instant.
 * @example
 * // The 23-hour day: DST starts in New York on 2026-03-08; the next midnight is EDT (UTC-4).
 * periodEnd("day", Date.UTC(2026, 2, 8, 12), "America/New_York") // Date.UTC(2026, 2, 9, 4)
 * periodEnd("month", Date.UTC(2026, 11, 31, 12), "Asia/Kathmandu") // Date.UTC(2026, 11, 31, 18, 15)
 * periodEnd("total", 0, "UTC") // null
 */
export function periodEnd(period: Period, atMs: number, timeZone: string): number | null {
  if (period === "total") return null;
  const t = localTime(atMs, timeZone);
  // Date.UTC normalises overflow (day 32, month 13), so Dec 31 + 1 day is Jan 1 of the next year.
  const nextStart = period === "day" ? Date.UTC(t.year, t.month - 1, t.day + 1) : Date.UTC(t.year, t.month, 1);
  return instantOfWallTime(nextStart, timeZone);
}
