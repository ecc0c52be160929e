/**
 * Weekly windows: exact minutes at both ends (half-open [from, to)), windows crossing midnight that
 * belong to the day they start, time zones and DST, and the schema's refusals with their paths.
 */
import { describe, expect, it } from "vitest";
import { inWindow, windowSchema, type TimeWindow } from "../../src/time/window";

// 2026-11-23 is a Monday, so 2026-11-27 is a Friday.
const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const MON = 23;
const THU = 26;
const FRI = 27;
const SAT = 28;
const SUN = 29;

const w = (input: unknown): TimeWindow => windowSchema.parse(input);

describe("inWindow", () => {
  const office = w({ from: "09:00", to: "17:00" });
  const fridayNight = w({ days: ["fri"], from: "22:00", to: "06:00" });
  const sunday = w({ days: ["sun"], from: "00:00", to: "24:00" });
  const offPeak = w({ from: "16:30", to: "00:30" }); // DeepSeek-style, every day, UTC
  const paris = w({ days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "18:00", timeZone: "Europe/Paris" });
  const kathmandu = w({ from: "09:00", to: "09:15", timeZone: "Asia/Kathmandu" });
  const nightOfTheGap = w({ from: "02:00", to: "03:00", timeZone: "America/New_York" });

  it.each<[string, TimeWindow, number, boolean]>([
    ["office, minute before from", office, at(MON, 8, 59), false],
    ["office, at from", office, at(MON, 9, 0), true],
    ["office, minute after from", office, at(MON, 9, 1), true],
    ["office, minute before to", office, at(MON, 16, 59), true],
    ["office, at to", office, at(MON, 17, 0), false],
    ["office, minute after to", office, at(MON, 17, 1), false],
    ["fri night, Fri 21:59", fridayNight, at(FRI, 21, 59), false],
    ["fri night, Fri 22:00", fridayNight, at(FRI, 22, 0), true],
    ["fri night, Fri 23:59", fridayNight, at(FRI, 23, 59), true],
    ["fri night, Sat 00:00", fridayNight, at(SAT, 0, 0), true],
    ["fri night, Sat 05:59", fridayNight, at(SAT, 5, 59), true],
    ["fri night, Sat 06:00", fridayNight, at(SAT, 6, 0), false],
    ["fri night, Sat 22:00 (Saturday's night is not listed)", fridayNight, at(SAT, 22, 0), false],
    ["fri night, Fri 05:59 (Thursday's night)", fridayNight, at(FRI, 5, 59), false],
    ["fri night, Thu 22:00", fridayNight, at(THU, 22, 0), false],
    ["fri night, Sun 05:59", fridayNight, at(SUN, 5, 59), false],
    ["whole Sunday, 00:00", sunday, at(SUN, 0, 0), true],
    ["whole Sunday, 23:59", sunday, at(SUN, 23, 59), true],
    ["whole Sunday, Sat 23:59", sunday, at(SAT, 23, 59), false],
    ["whole Sunday, Mon 00:00", sunday, at(SUN + 1, 0, 0), false],
    ["off-peak, 16:29", offPeak, at(MON, 16, 29), false],
    ["off-peak, 16:30", offPeak, at(MON, 16, 30), true],
    ["off-peak, next day 00:29", offPeak, at(MON + 1, 0, 29), true],
    ["off-peak, next day 00:30", offPeak, at(MON + 1, 0, 30), false],
    ["Paris in winter (UTC+1), 07:59Z", paris, at(MON, 7, 59), false],
    ["Paris in winter, 08:00Z = 09:00", paris, at(MON, 8, 0), true],
    ["Paris in winter, 16:59Z", paris, at(MON, 16, 59), true],
    ["Paris in winter, 17:00Z = 18:00", paris, at(MON, 17, 0), false],
    ["Paris in summer (UTC+2), 06:59Z", paris, Date.UTC(2026, 5, 1, 6, 59), false],
    ["Paris in summer, 07:00Z = 09:00", paris, Date.UTC(2026, 5, 1, 7, 0), true],
    ["Paris on Saturday", paris, at(SAT, 10, 0), false],
    ["Kathmandu, 03:14Z = 08:59", kathmandu, at(MON, 3, 14), false],
    ["Kathmandu, 03:15Z = 09:00", kathmandu, at(MON, 3, 15), true],
    ["Kathmandu, 03:29Z = 09:14", kathmandu, at(MON, 3, 29), true],
    ["Kathmandu, 03:30Z = 09:15", kathmandu, at(MON, 3, 30), false],
    // 02:00-03:00 does not exist in New York on 2026-03-08: the window never opens that night.
    ["a window inside the DST gap, 01:59 EST", nightOfTheGap, Date.UTC(2026, 2, 8, 6, 59), false],
    ["a window inside the DST gap, 03:00 EDT", nightOfTheGap, Date.UTC(2026, 2, 8, 7, 0), false],
    ["the same window the night before, 02:00 EST", nightOfTheGap, Date.UTC(2026, 2, 7, 7, 0), true],
  ])("%s", (_name, window, atMs, expected) => {
    expect(inWindow(window, atMs)).toBe(expected);
  });
});

describe("windowSchema", () => {
  it("fills every day and UTC by default, and accepts 00:00-24:00", () => {
    expect(windowSchema.parse({ from: "00:00", to: "24:00" })).toEqual({
      days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
      from: "00:00",
      to: "24:00",
      timeZone: "UTC",
    });
  });

  it("does not share the default days between parses", () => {
    const a = windowSchema.parse({ from: "00:00", to: "01:00" });
    a.days.pop();
    expect(windowSchema.parse({ from: "00:00", to: "01:00" }).days).toHaveLength(7);
  });

  it.each<[string, Record<string, unknown>, (string | number)[], string?]>([
    ["a one-digit hour", { from: "9:00", to: "17:00" }, ["from"]],
    ["24:00 as a start", { from: "24:00", to: "06:00" }, ["from"]],
    ["past 24:00", { from: "09:00", to: "24:01" }, ["to"]],
    ["minute 60", { from: "09:60", to: "10:00" }, ["from"]],
    ["an empty window", { from: "09:00", to: "09:00" }, ["to"], "from and to must differ (a whole day is 00:00 to 24:00)"],
    ["no days", { days: [], from: "09:00", to: "10:00" }, ["days"]],
    ["a repeated day", { days: ["fri", "fri"], from: "09:00", to: "10:00" }, ["days"], "days must not repeat"],
    ["a day's full name", { days: ["mon", "friday"], from: "09:00", to: "10:00" }, ["days", 1]],
    ["an unknown zone", { from: "09:00", to: "10:00", timeZone: "Mars/Olympus" }, ["timeZone"], "not an IANA time zone, e.g. Europe/Paris"],
    ["a missing start", { to: "10:00" }, ["from"]],
    ["an unknown field", { from: "09:00", to: "10:00", tz: "UTC" }, []],
  ])("refuses %s", (_name, input, path, message) => {
    const result = windowSchema.safeParse(input);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path).toEqual(path);
    if (message) expect(issue.message).toBe(message);
  });
});
