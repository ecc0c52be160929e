/**
 * Local time from an instant (ICU through Intl) and the reverse mapping used for period ends:
 * exact fields in zones with odd offsets, and the three cases of a wall time (one instant, a
 * fall-back overlap, a spring-forward gap).
 */
import { describe, expect, it } from "vitest";
import { instantOfWallTime, isTimeZone, localTime, timeZoneSchema, type LocalTime } from "../../src/time/local-time";

describe("localTime", () => {
  it.each<[string, number, string, LocalTime]>([
    ["UTC midnight", Date.UTC(2026, 10, 23), "UTC", { year: 2026, month: 11, day: 23, weekday: "mon", minuteOfDay: 0 }],
    ["UTC last minute, before the epoch", Date.UTC(1969, 11, 31, 23, 59, 59, 999), "UTC", { year: 1969, month: 12, day: 31, weekday: "wed", minuteOfDay: 1439 }],
    ["Kathmandu, UTC+05:45", Date.UTC(2026, 10, 23, 12, 34), "Asia/Kathmandu", { year: 2026, month: 11, day: 23, weekday: "mon", minuteOfDay: 18 * 60 + 19 }],
    ["Chatham in summer, UTC+13:45, a day ahead", Date.UTC(2026, 10, 23, 12, 34), "Pacific/Chatham", { year: 2026, month: 11, day: 24, weekday: "tue", minuteOfDay: 2 * 60 + 19 }],
    ["Chatham in winter, UTC+12:45", Date.UTC(2026, 5, 1, 12, 34), "Pacific/Chatham", { year: 2026, month: 6, day: 2, weekday: "tue", minuteOfDay: 1 * 60 + 19 }],
    ["New York, a day behind", Date.UTC(2026, 10, 23, 3), "America/New_York", { year: 2026, month: 11, day: 22, weekday: "sun", minuteOfDay: 22 * 60 }],
    ["Kolkata, UTC+05:30, new year", Date.UTC(2026, 0, 1, 18, 30), "Asia/Kolkata", { year: 2026, month: 1, day: 2, weekday: "fri", minuteOfDay: 0 }],
    ["New York, 01:59 EST before the gap", Date.UTC(2026, 2, 8, 6, 59), "America/New_York", { year: 2026, month: 3, day: 8, weekday: "sun", minuteOfDay: 1 * 60 + 59 }],
    ["New York, 03:00 EDT after the gap", Date.UTC(2026, 2, 8, 7), "America/New_York", { year: 2026, month: 3, day: 8, weekday: "sun", minuteOfDay: 3 * 60 }],
  ])("%s", (_name, atMs, zone, expected) => {
    expect(localTime(atMs, zone)).toEqual(expected);
  });

  it("gives every weekday in order over a week", () => {
    const days = Array.from({ length: 7 }, (_, i) => localTime(Date.UTC(2026, 10, 23 + i, 12), "UTC").weekday);
    expect(days).toEqual(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
  });

  it("throws a RangeError for an unknown zone", () => {
    expect(() => localTime(0, "Mars/Olympus")).toThrow(RangeError);
  });
});

describe("isTimeZone and timeZoneSchema", () => {
  it.each([
    ["Europe/Paris", true],
    ["UTC", true],
    ["Asia/Kathmandu", true],
    ["Pacific/Chatham", true],
    ["America/Argentina/Buenos_Aires", true],
    ["Mars/Olympus", false],
    ["Europe/Pariss", false],
    ["CEST", false],
    ["+01:00", false],
    ["", false],
  ])("%j → %s", (name, valid) => {
    expect(isTimeZone(name)).toBe(valid);
    expect(timeZoneSchema.safeParse(name).success).toBe(valid);
  });

  it("explains a refused zone", () => {
    const result = timeZoneSchema.safeParse("Mars/Olympus");
    expect(result.error?.issues.map((i) => i.message)).toEqual(["not an IANA time zone, e.g. Europe/Paris"]);
  });
});

describe("instantOfWallTime", () => {
  it.each([
    ["a plain wall time", Date.UTC(2026, 2, 9), "America/New_York", Date.UTC(2026, 2, 9, 4)],
    ["UTC is the identity", Date.UTC(2026, 0, 1, 12, 34, 56, 789), "UTC", Date.UTC(2026, 0, 1, 12, 34, 56, 789)],
    ["Kathmandu", Date.UTC(2027, 0, 1), "Asia/Kathmandu", Date.UTC(2026, 11, 31, 18, 15)],
    // 02:30 does not exist on 2026-03-08: the clock reaches 03:00 EDT at 07:00Z, the transition.
    ["a spring-forward gap gives the transition", Date.UTC(2026, 2, 8, 2, 30), "America/New_York", Date.UTC(2026, 2, 8, 7)],
    // 01:30 happens twice on 2026-11-01 (EDT, then EST): the first one.
    ["a fall-back overlap gives the earlier instant", Date.UTC(2026, 10, 1, 1, 30), "America/New_York", Date.UTC(2026, 10, 1, 5, 30)],
    // Santiago skips 00:00-01:00 on 2026-09-06: the day starts at 01:00 -03.
    ["a gap at midnight", Date.UTC(2026, 8, 6), "America/Santiago", Date.UTC(2026, 8, 6, 4)],
    // Samoa skipped the whole of 2011-12-30 when it crossed the date line (UTC-10 → UTC+14).
    ["a skipped day", Date.UTC(2011, 11, 30, 12), "Pacific/Apia", Date.UTC(2011, 11, 30, 10)],
  ])("%s", (_name, wall, zone, expected) => {
    expect(instantOfWallTime(wall, zone)).toBe(expected);
  });
});
