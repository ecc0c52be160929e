/**
 * Instants for tests that inject a clock (`at`) into Durable Objects whose alarms run on the real
 * one. The TenantLedger's alarm charges every reservation whose `at + holdMs` lies before the real
 * now, so a fixed instant that real time has passed meets the alarm at once, and the test's outcome
 * depends on the date it runs (issue #11). Tests take such instants from here: always ahead of the
 * real clock, so only `runDurableObjectAlarm` decides when reservations expire.
 */

export const DAY_MS = 86_400_000;

/**
 * The first instant at or after `after` (by default a day from now) whose UTC calendar fields are
 * the ones given; `month` counts from 0, as in `Date.UTC`.
 * @example
 * nextUtc({ hour: 14, minute: 59 })                 // the next 14:59 UTC, a day or more ahead
 * nextUtc({ month: 11, day: 31, hour: 12 })         // the next Dec 31, 12:00 UTC
 */
export function nextUtc(fields: { month?: number; day?: number; hour: number; minute?: number }, after = Date.now() + DAY_MS): number {
  const a = new Date(after);
  const minute = fields.minute ?? 0;
  const candidates =
    fields.month === undefined
      ? [0, 1].map((d) => Date.UTC(a.getUTCFullYear(), a.getUTCMonth(), a.getUTCDate() + d, fields.hour, minute))
      : [0, 1].map((y) => Date.UTC(a.getUTCFullYear() + y, fields.month!, fields.day ?? 1, fields.hour, minute));
  return candidates.find((t) => t >= after)!;
}

/** The calendar date (`YYYY-MM-DD`) of an instant in a zone `offsetHours` ahead of UTC, without DST. */
export function dateAtOffset(at: number, offsetHours: number): string {
  return new Date(at + offsetHours * 3_600_000).toISOString().slice(0, 10);
}
