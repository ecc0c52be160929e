/**
 * Weekly time windows on the local wall clock, e.g. "Mon-Fri 09:00-18:00 Europe/Paris" or an
 * off-peak tariff "every day 16:30-00:30 UTC". Used by pricing multipliers and by routing rules
 * that reserve an origin for part of the day.
 */
import { z } from "zod";
import { localTime, timeZoneSchema, WEEKDAYS, type Weekday } from "./local-time";

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

/**
 * The fields of a window, shared by every schema that embeds one (a priced window adds a
 * multiplier). zod 4 refuses to `.extend` an object that carries refinements, hence a shape plus
 * {@link windowEndsDiffer} rather than extending {@link windowSchema}.
 */
export const windowShape = {
  /** Days on which the window STARTS; default: every day. */
  days: z
    .array(z.enum(WEEKDAYS))
    .min(1, "list at least one day, or omit days for every day")
    .refine((days) => new Set(days).size === days.length, { message: "days must not repeat" })
    .default(() => [...WEEKDAYS]),
  /** Start, inclusive, "HH:MM" 24 h. */
  from: z.string().regex(HH_MM, "a time of day as HH:MM, 00:00 to 23:59"),
  /** End, exclusive, "HH:MM" 24 h; "24:00" is the end of the day. Earlier than `from`: crosses midnight. */
  to: z.string().regex(new RegExp(`${HH_MM.source}|^24:00$`), "a time of day as HH:MM, 00:00 to 24:00"),
  timeZone: timeZoneSchema.default("UTC"),
};

/**
 * The refinement every window schema applies: an empty window (from = to) is almost certainly a
 * typo, and a whole day is spelled 00:00-24:00.
 */
export function windowEndsDiffer(w: { from: string; to: string }): boolean {
  return w.from !== w.to;
}

/** The issue {@link windowEndsDiffer} raises, on `to`. */
export const windowEndsDifferIssue = { message: "from and to must differ (a whole day is 00:00 to 24:00)", path: ["to"] };

/**
 * A weekly window in config.
 * @example
 * windowSchema.parse({ days: ["fri"], from: "22:00", to: "06:00" })
 * // { days: ["fri"], from: "22:00", to: "06:00", timeZone: "UTC" }
 */
export const windowSchema = z
  .object(windowShape)
  .strict()
  .refine(windowEndsDiffer, windowEndsDifferIssue);

/** A validated window (defaults filled). */
export type TimeWindow = z.infer<typeof windowSchema>;

/** "HH:MM" (already validated) to minutes since midnight, without allocating. */
function minutesOf(hhmm: string): number {
  const d = (i: number) => hhmm.charCodeAt(i) - 48;
  return (d(0) * 10 + d(1)) * 60 + d(3) * 10 + d(4);
}

/** The day before, for windows that started yesterday and cross midnight. */
function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]!;
}

/**
 * Whether an instant falls inside a window: half-open [from, to) on the window's local wall clock.
 * A window with `from` after `to` crosses midnight and belongs to the day it STARTS: `fri 22:00-06:00`
 * covers Friday 22:00 to Saturday 06:00, not Saturday 22:00. On a DST change the window follows the
 * wall clock, so it lasts an hour less or more that night.
 * @example
 * const w = windowSchema.parse({ days: ["fri"], from: "22:00", to: "06:00" });
 * inWindow(w, Date.UTC(2026, 10, 28, 5, 59)) // true: Saturday 05:59 UTC
 * inWindow(w, Date.UTC(2026, 10, 28, 22, 0)) // false: Saturday 22:00 UTC
 */
export function inWindow(window: Pick<TimeWindow, "days" | "from" | "to" | "timeZone">, atMs: number): boolean {
  const local = localTime(atMs, window.timeZone);
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  const m = local.minuteOfDay;
  if (from < to) return m >= from && m < to && window.days.includes(local.weekday);
  // Crossing midnight: the evening part starts today, the morning part started yesterday.
  if (m >= from) return window.days.includes(local.weekday);
  return m < to && window.days.includes(previousDay(local.weekday));
}
