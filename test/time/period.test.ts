/**
 * Budget periods in a tenant's time zone: keys and exact end instants across DST days (the 23 h
 * and 25 h days of New York), odd offsets (Kathmandu, Chatham), year ends and skipped midnights,
 * then a seeded randomized check that an end is the first instant of the next period.
 */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../src/sim/hash";
import { periodEnd, periodKey, type Period } from "../../src/time/period";

const HOUR = 3_600_000;
const NY = "America/New_York";

describe("day periods across DST in New York", () => {
  it.each([
    // The 23-hour day, 2026-03-08: midnight EST (05:00Z) to midnight EDT (04:00Z next day).
    ["Mar 7 23:59 EST", Date.UTC(2026, 2, 8, 4, 59), "2026-03-07", Date.UTC(2026, 2, 8, 5)],
    ["Mar 8 00:00 EST", Date.UTC(2026, 2, 8, 5), "2026-03-08", Date.UTC(2026, 2, 9, 4)],
    ["Mar 8 23:59 EDT", Date.UTC(2026, 2, 9, 3, 59), "2026-03-08", Date.UTC(2026, 2, 9, 4)],
    ["Mar 9 00:00 EDT", Date.UTC(2026, 2, 9, 4), "2026-03-09", Date.UTC(2026, 2, 10, 4)],
    // The 25-hour day, 2026-11-01: midnight EDT (04:00Z) to midnight EST (05:00Z next day).
    ["Oct 31 23:59 EDT", Date.UTC(2026, 10, 1, 3, 59), "2026-10-31", Date.UTC(2026, 10, 1, 4)],
    ["Nov 1 00:00 EDT", Date.UTC(2026, 10, 1, 4), "2026-11-01", Date.UTC(2026, 10, 2, 5)],
    ["Nov 1 01:30 EST, the second 01:30", Date.UTC(2026, 10, 1, 6, 30), "2026-11-01", Date.UTC(2026, 10, 2, 5)],
    ["Nov 1 23:59 EST", Date.UTC(2026, 10, 2, 4, 59), "2026-11-01", Date.UTC(2026, 10, 2, 5)],
    ["Nov 2 00:00 EST", Date.UTC(2026, 10, 2, 5), "2026-11-02", Date.UTC(2026, 10, 3, 5)],
  ])("%s", (_name, atMs, key, end) => {
    expect(periodKey("day", atMs, NY)).toBe(key);
    expect(periodEnd("day", atMs, NY)).toBe(end);
  });

  it("makes those days 23 h and 25 h long", () => {
    expect(periodEnd("day", Date.UTC(2026, 2, 8, 12), NY)! - periodEnd("day", Date.UTC(2026, 2, 7, 12), NY)!).toBe(23 * HOUR);
    expect(periodEnd("day", Date.UTC(2026, 10, 1, 12), NY)! - periodEnd("day", Date.UTC(2026, 9, 31, 12), NY)!).toBe(25 * HOUR);
  });
});

describe("periods in other zones", () => {
  it.each<[string, Period, number, string, string, number | null]>([
    ["month in New York before DST ends", "month", Date.UTC(2026, 9, 15), NY, "2026-10", Date.UTC(2026, 10, 1, 4)],
    ["month in New York holding the 25 h day", "month", Date.UTC(2026, 10, 15), NY, "2026-11", Date.UTC(2026, 11, 1, 5)],
    ["Kathmandu Dec 31 23:59, day", "day", Date.UTC(2026, 11, 31, 18, 14), "Asia/Kathmandu", "2026-12-31", Date.UTC(2026, 11, 31, 18, 15)],
    ["Kathmandu Dec 31 23:59, month", "month", Date.UTC(2026, 11, 31, 18, 14), "Asia/Kathmandu", "2026-12", Date.UTC(2026, 11, 31, 18, 15)],
    ["Kathmandu Jan 1 00:00, day", "day", Date.UTC(2026, 11, 31, 18, 15), "Asia/Kathmandu", "2027-01-01", Date.UTC(2027, 0, 1, 18, 15)],
    ["Kathmandu Jan 1 00:00, month", "month", Date.UTC(2026, 11, 31, 18, 15), "Asia/Kathmandu", "2027-01", Date.UTC(2027, 0, 31, 18, 15)],
    ["Chatham Dec 31 23:59 (UTC+13:45), day", "day", Date.UTC(2026, 11, 31, 10, 14), "Pacific/Chatham", "2026-12-31", Date.UTC(2026, 11, 31, 10, 15)],
    ["Chatham Jan 1 00:00, month", "month", Date.UTC(2026, 11, 31, 10, 15), "Pacific/Chatham", "2027-01", Date.UTC(2027, 0, 31, 10, 15)],
    ["UTC, the last ms of the year, day", "day", Date.UTC(2026, 11, 31, 23, 59, 59, 999), "UTC", "2026-12-31", Date.UTC(2027, 0, 1)],
    ["UTC, the last ms of the year, month", "month", Date.UTC(2026, 11, 31, 23, 59, 59, 999), "UTC", "2026-12", Date.UTC(2027, 0, 1)],
    ["UTC, February of a leap year", "month", Date.UTC(2028, 1, 29, 12), "UTC", "2028-02", Date.UTC(2028, 2, 1)],
    ["Santiago, the day before midnight is skipped", "day", Date.UTC(2026, 8, 5, 16), "America/Santiago", "2026-09-05", Date.UTC(2026, 8, 6, 4)],
    ["Samoa, the day before Dec 30 2011 was skipped", "day", Date.UTC(2011, 11, 29, 22), "Pacific/Apia", "2011-12-29", Date.UTC(2011, 11, 30, 10)],
    ["total", "total", Date.UTC(2026, 10, 23), NY, "total", null],
  ])("%s", (_name, period, atMs, zone, key, end) => {
    expect(periodKey(period, atMs, zone)).toBe(key);
    expect(periodEnd(period, atMs, zone)).toBe(end);
  });

  it("starts Samoa's next period on Dec 31, the skipped day never having a key", () => {
    expect(periodKey("day", Date.UTC(2011, 11, 30, 10), "Pacific/Apia")).toBe("2011-12-31");
  });
});

describe("period ends, randomized", () => {
  const zones = [
    "UTC",
    NY,
    "Europe/Paris",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Australia/Lord_Howe", // 30-minute DST
    "America/Santiago", // DST gaps at midnight
    "America/Sao_Paulo", // historical fall-back at midnight
    "America/Havana",
    "Asia/Tehran",
    "America/St_Johns",
    "Africa/Cairo",
    "Pacific/Apia",
  ];

  it("ends each period at the first instant of the next one (2,000 seeded cases)", () => {
    const random = mulberry32(20261123);
    const from = Date.UTC(2000, 0, 1);
    const to = Date.UTC(2038, 0, 1);
    for (let i = 0; i < 2000; i++) {
      const zone = zones[i % zones.length]!;
      const period: Period = i % 2 === 0 ? "day" : "month";
      const atMs = from + Math.floor(random() * (to - from));
      const key = periodKey(period, atMs, zone);
      const end = periodEnd(period, atMs, zone)!;
      const what = `${period} ${zone} ${new Date(atMs).toISOString()}`;
      expect(end, what).toBeGreaterThan(atMs);
      expect(periodKey(period, end - 1, zone), what).toBe(key);
      expect(periodKey(period, end, zone) > key, what).toBe(true);
      // A day never lasts more than 26 h, even with a DST change (Lord Howe's is 30 min).
      if (period === "day") expect(end - atMs, what).toBeLessThanOrEqual(26 * HOUR);
    }
  });
});
